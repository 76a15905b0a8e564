package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExampleConfigLoads(t *testing.T) {
	t.Setenv("HOOKBRIDGE_OKTA_SECRET", "x")
	cfg, err := loadConfig(filepath.Join("..", "..", "deploy", "examples", "local.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != "127.0.0.1:8080" || cfg.Ops.Listen != "127.0.0.1:9090" ||
		!cfg.Kafka.IsEmbedded() || cfg.Kafka.Embedded.Listen != "127.0.0.1:9092" {
		t.Errorf("example config: %+v", cfg)
	}
	if cfg.Sources[0].MaxBodyBytes != 8<<20 || cfg.Sources[0].AuthHeader != "Authorization" {
		t.Errorf("source: %+v", cfg.Sources[0])
	}
}

// TestConfigErrors checks that a bad config stops start-up with an error
// that names the key.
func TestConfigErrors(t *testing.T) {
	base := "sources:\n  - name: okta\n    path: /hooks/okta\n    secrets: [abc]\n"
	f := func(name, yaml, want string) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadConfig(path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to mention %q", name, err, want)
		}
	}
	f("unknown top-level key", base+"unknown_key: 1\n", "field unknown_key not found")
	f("unknown nested key", base+"server:\n  listen_addr: x\n", "field listen_addr not found")
	f("misspelled source key", "sources:\n  - name: a\n    pth: /a\n", "field pth not found")
	f("budget over Okta's timeout", base+"server:\n  response_budget: 3s\n", "server.response_budget")
	f("admission wait past the budget", base+"server:\n  admission_wait: 2500ms\n",
		"server.admission_wait 2.5s must be below server.response_budget 2.5s")
	f("bad duration", base+"dedup:\n  window: soon\n", "soon")
	f("bad byte size", strings.Replace(base, "secrets", "max_body_bytes: lots\n    secrets", 1), "lots")
	f("no sources", "server:\n  listen: 127.0.0.1:1\n", "sources")
	f("relative path", strings.Replace(base, "/hooks/okta", "hooks", 1), "sources[0].path")
	f("three secrets", strings.Replace(base, "[abc]", "[a, b, c]", 1), "sources[0].secrets")
	f("bad route", base+"routing:\n  rules:\n    - match: \"[\"\n      topic: t\n", "routing.rules[0].match")
	f("bad key", base+"routing:\n  key: email\n", "routing.key")
	f("bad sasl", base+"kafka:\n  brokers: [k:9092]\n  sasl:\n    mechanism: GSSAPI\n", "kafka.sasl.mechanism")
	f("bad broker", base+"kafka:\n  brokers: [nohost]\n", "kafka.brokers")
	f("bad compression", base+"kafka:\n  compression: brotli\n", "kafka.compression")
	f("bad log level", base+"log:\n  level: loud\n", "log.level")
	f("public listen is allowed but must parse", base+"ops:\n  listen: nope\n", "ops.listen")
	f("unset secret variable", strings.Replace(base, "[abc]", "[{env: HB_TEST_UNSET_VAR}]", 1),
		"sources[0].secrets[0]: environment variable HB_TEST_UNSET_VAR is not set")
	f("sasl password unset", base+"kafka:\n  brokers: [k:9092]\n  sasl:\n    mechanism: PLAIN\n"+
		"    username: u\n    password: {env: HB_TEST_UNSET_VAR}\n", "kafka.sasl.password")
	f("unknown sink type", base+"sinks:\n  - name: x\n    type: carrier-pigeon\n    topics: [t]\n",
		`sinks[x].type "carrier-pigeon" is not one of elasticsearch, file, splunk_hec, stdout, syslog`)
	f("sink without topics", base+"sinks:\n  - name: x\n    type: stdout\n", "sinks[x].topics")
	f("splunk without its section", base+"sinks:\n  - name: s\n    type: splunk_hec\n    topics: [t]\n",
		"needs a splunk section")
	f("syslog section error", base+"sinks:\n  - name: s\n    type: syslog\n    topics: [t]\n"+
		"    syslog: {address: nohost}\n", "syslog.address")
	f("empty file", "", "sources: at least one source")
	if _, err := loadConfig(filepath.Join(t.TempDir(), "none.yaml")); err == nil ||
		!strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestSecretsResolve(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HB_TEST_SECRET", "from-env")
	yaml := "sources:\n  - name: okta\n    path: /a\n    secrets:\n      - env: HB_TEST_SECRET\n" +
		"      - file: " + file + "\n"
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"from-env", "from-file"} {
		got, err := cfg.Sources[0].Secrets[i].Resolve()
		if err != nil || got != want {
			t.Errorf("secret %d = %q, %v; want %q", i, got, err, want)
		}
		if s := cfg.Sources[0].Secrets[i].String(); strings.Contains(s, want) {
			t.Errorf("String() reveals the secret: %s", s)
		}
	}
	t.Setenv("HB_TEST_SECRET", "")
	if _, err := cfg.Sources[0].Secrets[0].Resolve(); err == nil {
		t.Error("an empty secret was accepted")
	}
	os.Unsetenv("HB_TEST_SECRET")
	if _, err := cfg.Sources[0].Secrets[0].Resolve(); err == nil || !strings.Contains(err.Error(), "HB_TEST_SECRET") {
		t.Errorf("unset env: %v", err)
	}
}
