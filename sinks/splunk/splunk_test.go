package splunk

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/hookbridge/hookbridge/bench"
	"github.com/hookbridge/hookbridge/confval"
	"github.com/hookbridge/hookbridge/sinks"
	"github.com/hookbridge/hookbridge/sinks/splunk/splunktest"
)

const testToken = "11111111-2222-3333-4444-555555555555"

// testEvents returns n generated Okta events as the sinks runtime hands
// them over.
func testEvents(t testing.TB, n int) []sinks.Event {
	t.Helper()
	g := bench.NewGenerator(11)
	evs := make([]sinks.Event, n)
	for i := range evs {
		js := g.Event()
		v := fastjson.MustParseBytes(js)
		published, err := time.Parse(time.RFC3339Nano, string(v.GetStringBytes("published")))
		if err != nil {
			t.Fatal(err)
		}
		evs[i] = sinks.Event{JSON: js, UUID: string(v.GetStringBytes("uuid")), Published: published}
	}
	return evs
}

// newTestDest returns a destination for s; edit may change its config.
func newTestDest(t testing.TB, s *splunktest.Server, edit func(c *Config)) *hec {
	t.Helper()
	c := Config{URL: s.URL, Token: confval.Secret{Value: testToken}}
	if edit != nil {
		edit(&c)
	}
	d, err := New("test", c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d.(*hec)
}

// outcomes renders per-event results: D delivered, P permanent, B retryable
// with backpressure, R retryable.
func outcomes(errs []error) string {
	var b strings.Builder
	for _, err := range errs {
		var e *sinks.Error
		switch {
		case err == nil:
			b.WriteByte('D')
		case errors.As(err, &e) && e.Permanent:
			b.WriteByte('P')
		case errors.As(err, &e) && e.Backpressure:
			b.WriteByte('B')
		default:
			b.WriteByte('R')
		}
	}
	return b.String()
}

func retryAfterOf(err error) time.Duration {
	var e *sinks.Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

func stored(s *splunktest.Server) (envs []splunktest.Envelope, byUUID map[string]int) {
	return s.Envelopes(), s.Stored()
}

func TestEnvelope(t *testing.T) {
	s := splunktest.NewServer(t, testToken)
	d := newTestDest(t, s, func(c *Config) { c.Index, c.Host, c.Source = "okta", "okta-bridge", "hookbridge" })
	evs := testEvents(t, 3)
	evs[0].Published = time.Date(2024, 5, 1, 12, 34, 56, 789_000_000, time.UTC)
	evs[1].Published = time.Time{}
	evs[2].Published = time.Date(2024, 5, 1, 12, 34, 57, 5_000_000, time.UTC)

	if got := outcomes(d.Deliver(context.Background(), evs)); got != "DDD" {
		t.Fatalf("outcomes %s, want DDD", got)
	}
	envs, _ := stored(s)
	if len(envs) != 3 {
		t.Fatalf("stored %d envelopes, want 3", len(envs))
	}
	wantTime := []string{"1714566896.789", "", "1714566897.005"}
	for i, env := range envs {
		if string(env.Time) != wantTime[i] {
			t.Errorf("event %d: time %s, want %q", i, env.Time, wantTime[i])
		}
		if env.Sourcetype != DefaultSourcetype || env.Index != "okta" || env.Host != "okta-bridge" ||
			env.Source != "hookbridge" {
			t.Errorf("event %d: metadata %+v", i, env)
		}
		var got, want any
		if err := json.Unmarshal(env.Event, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(evs[i].JSON, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || !bytes.Equal(env.Event, evs[i].JSON) {
			t.Errorf("event %d changed on the way:\n got %s\nwant %s", i, env.Event, evs[i].JSON)
		}
	}
	r := s.Requests()[0]
	if a := r.Header.Get("Authorization"); a != "Splunk "+testToken {
		t.Errorf("Authorization %q", a)
	}
	if !r.Gzip || r.Events != 3 {
		t.Errorf("request gzip=%v events=%d, want gzip, 3 events", r.Gzip, r.Events)
	}
	if ch := r.Header.Get("X-Splunk-Request-Channel"); ch != "" {
		t.Errorf("channel %q sent with ack off", ch)
	}
}

func TestGzipOff(t *testing.T) {
	s := splunktest.NewServer(t, testToken)
	off := false
	d := newTestDest(t, s, func(c *Config) { c.Gzip = &off })
	if got := outcomes(d.Deliver(context.Background(), testEvents(t, 4))); got != "DDDD" {
		t.Fatalf("outcomes %s", got)
	}
	if r := s.Requests()[0]; r.Gzip || r.Header.Get("Content-Encoding") != "" {
		t.Errorf("body compressed with gzip off: %v", r.Header)
	}
}

// TestFailures sends three events into each failure mode, then again once
// the fault has passed.
func TestFailures(t *testing.T) {
	cases := []struct {
		name   string
		fault  func(s *splunktest.Server)
		edit   func(c *Config)
		want   string // outcomes of the first try
		then   string // of the second
		text   string // in the first error
		after  time.Duration
		isErr  error
		stored int // events the server kept in the end
	}{
		{name: "busy", fault: func(s *splunktest.Server) { s.Busy = 2 },
			want: "BBB", then: "BBB", text: "HTTP 503 code 9: Server is busy"},
		{name: "429", fault: func(s *splunktest.Server) { s.TooMany, s.RetryAfter = 1, "7" },
			want: "BBB", then: "DDD", text: "HTTP 429", after: 7 * time.Second, stored: 3},
		{name: "internal", fault: func(s *splunktest.Server) { s.Internal = 1 },
			want: "RRR", then: "DDD", text: "HTTP 500 code 8", stored: 3},
		{name: "bad token", edit: func(c *Config) { c.Token.Value = "00000000-dead-beef-0000-000000000000" },
			want: "BBB", then: "BBB", text: "splunk rejected the token", isErr: ErrTokenRejected},
		{name: "incorrect index", fault: func(s *splunktest.Server) { s.Indexes = map[string]bool{"main": true} },
			edit: func(c *Config) { c.Index = "okta" }, want: "PPP", then: "PPP", text: "code 7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := splunktest.NewServer(t, testToken)
			if tc.fault != nil {
				s.Do(tc.fault)
			}
			d := newTestDest(t, s, tc.edit)
			evs := testEvents(t, 3)
			errs := d.Deliver(context.Background(), evs)
			if got := outcomes(errs); got != tc.want {
				t.Fatalf("first try %s, want %s (%v)", got, tc.want, errs[0])
			}
			if msg := errs[0].Error(); !strings.Contains(msg, tc.text) || strings.Contains(msg, testToken) {
				t.Errorf("error %q: want it to contain %q and not the token", msg, tc.text)
			}
			if ra := retryAfterOf(errs[0]); ra != tc.after {
				t.Errorf("RetryAfter %s, want %s", ra, tc.after)
			}
			if tc.isErr != nil && !errors.Is(errs[0], tc.isErr) {
				t.Errorf("error %v is not %v", errs[0], tc.isErr)
			}
			if got := outcomes(d.Deliver(context.Background(), evs)); got != tc.then {
				t.Errorf("second try %s, want %s", got, tc.then)
			}
			if _, byUUID := stored(s); len(byUUID) != tc.stored {
				t.Errorf("server kept %d events, want %d", len(byUUID), tc.stored)
			}
		})
	}
}

// TestBadEvent: 400 code 6 names one event; it alone is permanent, and the
// others, before and after it, come back for a resend because Splunk kept
// nothing of the request.
func TestBadEvent(t *testing.T) {
	for _, bad := range []int{0, 2, 4} {
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			s := splunktest.NewServer(t, testToken)
			d := newTestDest(t, s, nil)
			evs := testEvents(t, 5)
			s.Do(func(s *splunktest.Server) { s.Bad[evs[bad].UUID] = true })

			errs := d.Deliver(context.Background(), evs)
			want := []byte("RRRRR")
			want[bad] = 'P'
			if got := outcomes(errs); got != string(want) {
				t.Fatalf("outcomes %s, want %s", got, want)
			}
			if !strings.Contains(errs[bad].Error(), "code 6") {
				t.Errorf("bad event error %q", errs[bad])
			}
			if _, byUUID := stored(s); len(byUUID) != 0 {
				t.Fatalf("server kept %d events of a rejected request", len(byUUID))
			}

			var rest []sinks.Event
			for i, err := range errs {
				if err != nil && i != bad {
					rest = append(rest, evs[i])
				}
			}
			if got := outcomes(d.Deliver(context.Background(), rest)); got != "DDDD" {
				t.Fatalf("resend %s, want DDDD", got)
			}
			_, byUUID := stored(s)
			for i, ev := range evs {
				if n := byUUID[ev.UUID]; (i == bad && n != 0) || (i != bad && n != 1) {
					t.Errorf("event %d stored %d times", i, n)
				}
			}
		})
	}
}

// TestTooLarge: a batch over the body cap is split in halves until each
// part fits; an event that alone is over the cap is permanent.
func TestTooLarge(t *testing.T) {
	s := splunktest.NewServer(t, testToken)
	off := false
	d := newTestDest(t, s, func(c *Config) { c.Gzip = &off })
	evs := testEvents(t, 8)
	largest := 0
	for i := range evs {
		largest = max(largest, len(d.appendEnvelope(nil, &evs[i])))
	}
	maxBodyBytes := 3 * largest
	s.Do(func(s *splunktest.Server) { s.MaxBodyBytes = maxBodyBytes })

	if got := outcomes(d.Deliver(context.Background(), evs)); got != "DDDDDDDD" {
		t.Fatalf("outcomes %s", got)
	}
	_, byUUID := stored(s)
	for _, ev := range evs {
		if byUUID[ev.UUID] != 1 {
			t.Errorf("event %s stored %d times", ev.UUID, byUUID[ev.UUID])
		}
	}
	// The first request carries all 8 and is too large; the halves that
	// fit are taken whole.
	reqs := s.Requests()
	if r := reqs[0]; r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("first request answered %d, want 413", r.Status)
	}
	kept := 0
	for _, r := range reqs {
		switch {
		case r.Status == http.StatusOK && r.Events != 4 && r.Events != 2 && r.Events != 1:
			t.Errorf("a request of %d events: not a half of 8", r.Events)
		case r.Status == http.StatusOK:
			kept += r.Events
		case r.Status != http.StatusRequestEntityTooLarge || r.Bytes <= maxBodyBytes:
			t.Errorf("a request of %d bytes answered %d", r.Bytes, r.Status)
		}
	}
	if kept != 8 {
		t.Errorf("accepted requests carried %d events, want 8", kept)
	}

	big := evs[:4:4]
	big[1].JSON = []byte(`{"uuid":"big","pad":"` + strings.Repeat("x", 4*largest) + `"}`)
	big[1].UUID = "big"
	errs := d.Deliver(context.Background(), big)
	if got := outcomes(errs); got != "DPDD" {
		t.Fatalf("outcomes %s, want DPDD", got)
	}
	if !strings.Contains(errs[1].Error(), "HTTP 413") {
		t.Errorf("oversized event error %q", errs[1])
	}
}

func TestAck(t *testing.T) {
	s := splunktest.NewServer(t, testToken)
	s.Do(func(s *splunktest.Server) { s.Ack, s.AckAfterPolls = true, 2 })
	d := newTestDest(t, s, func(c *Config) { c.Ack, c.AckPoll = true, 2*time.Millisecond })
	evs := testEvents(t, 3)

	if got := outcomes(d.Deliver(context.Background(), evs)); got != "DDD" {
		t.Fatalf("outcomes %s", got)
	}
	if n := s.AckPolls(); n != 3 {
		t.Errorf("%d ack polls, want 3 (false, false, true)", n)
	}
	ch := s.Requests()[0].Header.Get("X-Splunk-Request-Channel")
	if !guidRE.MatchString(ch) || ch != d.cfg.Channel {
		t.Errorf("channel %q, want the sink's GUID %q", ch, d.cfg.Channel)
	}
	// A second batch gets the next ackId on the same channel.
	if got := outcomes(d.Deliver(context.Background(), evs)); got != "DDD" {
		t.Fatalf("second batch %s", got)
	}
	if ackIDs, pending := s.Channel(d.cfg.Channel); ackIDs != 2 || pending != 0 {
		t.Errorf("channel gave %d ackIds, %d pending; want two ackIds, none pending", ackIDs, pending)
	}
}

// TestAckLost: an ackId that never turns true makes the batch retryable
// once ack_timeout passes, though Splunk may have indexed it.
func TestAckLost(t *testing.T) {
	s := splunktest.NewServer(t, testToken)
	s.Do(func(s *splunktest.Server) { s.Ack, s.AckLost = true, true })
	d := newTestDest(t, s, func(c *Config) {
		c.Ack, c.AckPoll, c.AckTimeout = true, 5*time.Millisecond, 50*time.Millisecond
	})
	errs := d.Deliver(context.Background(), testEvents(t, 3))
	if got := outcomes(errs); got != "RRR" {
		t.Fatalf("outcomes %s, want RRR", got)
	}
	if !strings.Contains(errs[0].Error(), "not acknowledged within 50ms") {
		t.Errorf("error %q", errs[0])
	}
	if s.AckPolls() < 1 {
		t.Error("never polled")
	}
}

// TestAckOffOnToken: the sink wants acks but the collector gives no ackId;
// resending would only duplicate, so the events are permanent with a reason.
func TestAckOffOnToken(t *testing.T) {
	s := splunktest.NewServer(t, testToken)
	d := newTestDest(t, s, func(c *Config) { c.Ack = true })
	errs := d.Deliver(context.Background(), testEvents(t, 2))
	if got := outcomes(errs); got != "PP" || !errors.Is(errs[0], errNoAckID) {
		t.Fatalf("outcomes %s (%v), want PP for a missing ackId", got, errs[0])
	}
}

func TestNetworkErrors(t *testing.T) {
	t.Run("connection cut after the body was kept", func(t *testing.T) {
		s := splunktest.NewServer(t, testToken)
		s.Do(func(s *splunktest.Server) { s.Drop = 1 })
		d := newTestDest(t, s, nil)
		evs := testEvents(t, 3)
		if got := outcomes(d.Deliver(context.Background(), evs)); got != "RRR" {
			t.Fatalf("outcomes %s, want RRR", got)
		}
		if got := outcomes(d.Deliver(context.Background(), evs)); got != "DDD" {
			t.Fatalf("resend %s", got)
		}
		if _, byUUID := stored(s); byUUID[evs[0].UUID] != 2 {
			t.Errorf("stored %d times, want 2: the ambiguous outcome allows a duplicate", byUUID[evs[0].UUID])
		}
	})
	t.Run("server gone", func(t *testing.T) {
		s := splunktest.NewServer(t, testToken)
		d := newTestDest(t, s, nil)
		s.Close()
		errs := d.Deliver(context.Background(), testEvents(t, 2))
		if got := outcomes(errs); got != "RR" {
			t.Fatalf("outcomes %s, want RR", got)
		}
		if strings.Contains(errs[0].Error(), testToken) {
			t.Error("the token is in the error")
		}
	})
}

func TestTLS(t *testing.T) {
	s := splunktest.NewTLSServer(t, testToken)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	if err := os.WriteFile(caFile, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	evs := testEvents(t, 2)
	f := func(name string, edit func(c *Config), want string) {
		t.Helper()
		d := newTestDest(t, s, edit)
		if got := outcomes(d.Deliver(context.Background(), evs)); got != want {
			t.Errorf("%s: outcomes %s, want %s", name, got, want)
		}
	}
	f("system roots", nil, "RR")
	f("ca_file", func(c *Config) { c.TLS.CAFile = caFile }, "DD")
	f("insecure_skip_verify", func(c *Config) { c.TLS.InsecureSkipVerify = true }, "DD")
}

func TestEmptyEvent(t *testing.T) {
	s := splunktest.NewServer(t, testToken)
	d := newTestDest(t, s, nil)
	evs := testEvents(t, 3)
	evs[1].JSON = nil
	if got := outcomes(d.Deliver(context.Background(), evs)); got != "DPD" {
		t.Fatalf("outcomes %s, want DPD", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	f := func(v string, want time.Duration) {
		t.Helper()
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("Retry-After %q: %s, want %s", v, got, want)
		}
	}
	f("", 0)
	f("3", 3*time.Second)
	f(" 120 ", 2*time.Minute)
	f("0", 0)
	f("-5", 0)
	f("soon", 0)
	f(now.Add(90*time.Second).Format(http.TimeFormat), 90*time.Second)
	f(now.Add(-time.Minute).Format(http.TimeFormat), 0)
	f("99999999999999", maxRetryAfter)
}

func TestConfig(t *testing.T) {
	c := Config{URL: "https://splunk:8088/", Token: confval.Secret{Value: testToken}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.URL != "https://splunk:8088" || c.Sourcetype != "OktaIM2:log" || c.Gzip == nil || !*c.Gzip ||
		c.AckPoll != 10*time.Second || c.AckTimeout != 5*time.Minute || c.Timeout != 30*time.Second ||
		!guidRE.MatchString(c.Channel) {
		t.Errorf("defaults %+v", c)
	}
	other := Config{URL: c.URL, Token: c.Token}
	_ = other.Validate()
	if other.Channel == c.Channel {
		t.Error("two sink instances share a random channel")
	}
	if s := fmt.Sprintf("%v %+v", c, c); strings.Contains(s, testToken) {
		t.Errorf("the config prints its token: %s", s)
	}

	f := func(edit func(c *Config), want string) {
		t.Helper()
		c := Config{URL: "https://splunk:8088", Token: confval.Secret{Value: testToken}}
		edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
	f(func(c *Config) { c.URL = "" }, "splunk.url is required")
	f(func(c *Config) { c.URL = "splunk:8088" }, "splunk.url")
	f(func(c *Config) { c.URL = "https://user:pw@splunk:8088" }, "splunk.url")
	f(func(c *Config) { c.Token = confval.Secret{} }, "splunk.token is required")
	f(func(c *Config) { c.Channel = "not-a-guid" }, "splunk.channel")
	f(func(c *Config) { c.AckPoll = -time.Second }, "splunk.ack_poll")
	f(func(c *Config) { c.AckTimeout = -time.Second }, "splunk.ack_timeout")
	f(func(c *Config) { c.Timeout = -time.Second }, "splunk.timeout")
	f(func(c *Config) { c.TLS.CAFile = "/nonexistent/ca.pem" }, "splunk.tls.ca_file")

	unset := Config{URL: "https://splunk:8088", Token: confval.Secret{Env: "HOOKBRIDGE_UNSET_TOKEN"}}
	if _, err := New("x", unset); err == nil || !strings.Contains(err.Error(), "splunk.token") {
		t.Errorf("unresolvable token: %v", err)
	}
}
