#!/usr/bin/env bash
# Independent cross-check of the records hookbridge writes to Kafka.
#
# Starts hookbridge with its embedded broker, posts the public Okta corpus
# (../shared/corpus/public/*.json, or $HOOKBRIDGE_CORPUS) and testdata/events.json,
# reads the topics back with `hookbridge consume` (decoded and --raw), and has
# Debian's python3-avro decode every raw record with the schema printed by
# `hookbridge schema`. crosscheck.py rebuilds each event from the Avro datum on
# its own and compares it with the Go decoder's output and with the input.
#
# Prints `crosscheck: N passed, M failed` last; exits non-zero when M > 0 or
# N == 0. Needs go, curl, and root (to install python3-avro) or python3-avro.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.."
repo="$(pwd)"
PY=/usr/bin/python3 # Debian's python, where python3-avro installs

log() { printf 'crosscheck: %s\n' "$*" >&2; }

if ! "$PY" -c 'import avro' 2>/dev/null; then
	log "installing python3-avro"
	apt-get update -qq && apt-get install -y -qq python3-avro >/dev/null
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/hookbridge-crosscheck.XXXXXX")"
server_pid=""
cleanup() {
	if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [[ "${CROSSCHECK_KEEP_TMP:-}" == 1 ]]; then
		log "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "building hookbridge"
go build -o "$tmp/hookbridge" ./cmd/hookbridge
hb="$tmp/hookbridge"

# Inputs, in the order they are posted: the corpus files, then the repo's own.
corpus="${HOOKBRIDGE_CORPUS:-$repo/../shared/corpus/public}"
inputs=()
if [[ -d "$corpus" ]] && compgen -G "$corpus/*.json" >/dev/null; then
	while IFS= read -r f; do inputs+=("$f"); done < <(LC_ALL=C ls -1 "$corpus"/*.json)
elif [[ "${CI:-}" == true ]]; then
	log "corpus directory $corpus is missing or holds no .json file"
	echo "crosscheck: 0 passed, 1 failed"
	exit 1
else
	log "corpus directory $corpus not found; checking testdata/events.json only"
fi
inputs+=("$repo/testdata/events.json")

read -r http_port ops_port kafka_port < <("$PY" - <<'EOF'
import socket
socks = []
for _ in range(3):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
)

cat >"$tmp/config.yaml" <<EOF
server:
  listen: 127.0.0.1:$http_port
sources:
  - name: okta
    path: /hooks/okta
    secrets:
      - value: crosscheck-secret
routing:
  default_topic: okta.events
  dead_letter_topic: okta.deadletter
  rules: []
dedup:
  window: 0s
kafka:
  brokers: []
  embedded:
    listen: 127.0.0.1:$kafka_port
    data_dir: $tmp/kafka
    partitions: 1
ops:
  listen: 127.0.0.1:$ops_port
log:
  level: info
  format: json
EOF

log "starting hookbridge (http $http_port, ops $ops_port, kafka $kafka_port)"
"$hb" serve --config "$tmp/config.yaml" >"$tmp/serve.log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 1 150); do # 150 x 0.2 s = 30 s
	if ! kill -0 "$server_pid" 2>/dev/null; then
		break
	fi
	code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$ops_port/readyz" || true)"
	if [[ "$code" == 200 ]]; then
		ready=1
		break
	fi
	sleep 0.2
done
if [[ -z "$ready" ]]; then
	log "hookbridge did not become ready; its log:"
	cat "$tmp/serve.log" >&2
	echo "crosscheck: 0 passed, 1 failed"
	exit 1
fi

log "posting ${#inputs[@]} files"
if ! "$PY" "$here/crosscheck.py" post --url "http://127.0.0.1:$http_port/hooks/okta" \
	--secret crosscheck-secret "${inputs[@]}"; then
	log "posting failed; hookbridge log:"
	tail -n 20 "$tmp/serve.log" >&2
	echo "crosscheck: 0 passed, 1 failed"
	exit 1
fi

"$hb" schema >"$tmp/schema.avsc"
"$hb" schema --dead-letter >"$tmp/deadletter.avsc"

# The four reads run side by side: each ends 5 s after its last record.
consume() { # name, then extra flags
	local name="$1"
	shift
	if "$hb" consume --brokers "127.0.0.1:$kafka_port" --from-beginning --timeout 5s "$@" \
		>"$tmp/$name.jsonl" 2>"$tmp/$name.err"; then
		echo 0 >"$tmp/$name.rc"
	else
		echo $? >"$tmp/$name.rc"
	fi
}
log "reading the topics back"
readers=()
consume events --topic okta.events &
readers+=($!)
consume events-raw --topic okta.events --raw &
readers+=($!)
consume dead --topic okta.deadletter &
readers+=($!)
consume dead-raw --topic okta.deadletter --raw &
readers+=($!)
wait "${readers[@]}" # not a bare wait: the server is a child too

consume_failed=0
for name in events events-raw dead dead-raw; do
	if [[ "$(cat "$tmp/$name.rc")" != 0 ]]; then
		log "hookbridge consume ($name) failed: $(tail -n 5 "$tmp/$name.err")"
		consume_failed=1
	fi
done

set +e
"$PY" "$here/crosscheck.py" check \
	--schema "$tmp/schema.avsc" --raw "$tmp/events-raw.jsonl" --decoded "$tmp/events.jsonl" \
	--dead-schema "$tmp/deadletter.avsc" --dead-raw "$tmp/dead-raw.jsonl" \
	--dead-decoded "$tmp/dead.jsonl" --consume-failed "$consume_failed" \
	"${inputs[@]}"
rc=$?
set -e
exit "$rc"
