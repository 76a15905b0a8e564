#!/usr/bin/env bash
# The standard load suite behind `make bench`: hookbridge serve against the
# development broker in a process of its own, then closed-loop runs of 1, 10
# and 50 events per delivery, each checked against Kafka. Results go to
# bench/results/ (one JSON per run, and summary.txt with the table and the
# machine), then an open-loop sweep at rising rates until saturation, drawn as
# a latency-versus-throughput chart, then two open-loop runs at 10 events per
# delivery: at half the closed loop's maximum rate (the latency an operator
# sees with headroom) and at twice it (overload: shed with 503 inside the
# response budget, memory flat). Those runs check Kafka after the run, so
# that reading the topics takes no CPU from the load on these shared cores; a
# last short run at half the rate reads them live, for the POST-to-visible
# latency.
# Knobs: DURATION (15s), WARMUP (3s), CONNECTIONS (64), EVENTS ("1 10 50"),
# SWEEP_START (200 requests/s), SWEEP_DURATION (5s), OVERLOAD_DURATION (20s),
# OVERLOAD_WARMUP (10s: sustained overload, with its connections open and
# the collector's goal settled, before memory is sampled; peak RSS is the
# process's own, whole suite included).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
EVENTS=${EVENTS:-"1 10 50"}
out=bench/results
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kport=$(port) hport=$(port) oport=$(port)

echo "bench: building" >&2
go build -o "$tmp/hookbridge" ./cmd/hookbridge
bin=$tmp/hookbridge

# The broker's log on disk without an fsync per write, as Kafka runs by
# default: kept in memory, its growing segments stall produce requests, and
# an fsync per write would measure the disk rather than the bridge.
"$bin" broker --listen "127.0.0.1:$kport" --data-dir "$tmp/kafka" --no-sync 2>"$tmp/broker.log" &
pids+=($!)
cat >"$tmp/bench.yaml" <<YAML
server:
  listen: 127.0.0.1:$hport
  # Room for the overload run's connections: at twice the maximum rate
  # with answers taking tens of milliseconds, more than the default 1024
  # are open at once.
  max_connections: 4096
sources:
  - name: okta
    path: /hooks/okta
    secrets: [{env: HOOKBRIDGE_BENCH_SECRET}]
routing:
  rules:
    - match: "user.session.*"
      topic: okta.sessions
kafka:
  brokers: [127.0.0.1:$kport]
  topics: {partitions: 3}
spool:
  dir: $tmp/spool
ops:
  listen: 127.0.0.1:$oport
log:
  level: warn
  format: json
YAML
export HOOKBRIDGE_BENCH_SECRET=bench-secret
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$kport") 2>/dev/null && break
	sleep 0.1
done
"$bin" serve --config "$tmp/bench.yaml" 2>"$tmp/serve.log" &
serve_pid=$!
pids+=($serve_pid)
for _ in $(seq 1 300); do
	curl -fs "http://127.0.0.1:$oport/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fs "http://127.0.0.1:$oport/readyz" >/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }

mkdir -p "$out"
summary=$out/summary.txt
{
	echo "hookbridge load suite, $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
		"$(free -g | awk '/Mem:/{print $2}') GiB; $(go version | cut -d' ' -f3)"
	echo "load generator, hookbridge and the development broker share the machine;"\
		"closed loop, $CONNECTIONS connections, $WARMUP warm-up, $DURATION measured"
	echo
} >"$summary"
for e in $EVENTS; do
	echo "bench: $e events per delivery" >&2
	"$bin" bench --url "http://127.0.0.1:$hport/hooks/okta" --secret "$HOOKBRIDGE_BENCH_SECRET" \
		--events "$e" --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" \
		--verify-brokers "127.0.0.1:$kport" --verify-after --pid "$serve_pid" \
		--json "$out/closed-$e.json" |
		tee "$tmp/run-$e.txt"
done
echo "bench: open-loop sweep, 10 events per delivery" >&2
"$bin" bench --url "http://127.0.0.1:$hport/hooks/okta" --secret "$HOOKBRIDGE_BENCH_SECRET" \
	--events 10 --connections 256 --duration "${SWEEP_DURATION:-5s}" --warmup 1s --sweep \
	--sweep-start "${SWEEP_START:-200}" --sweep-out "$out" | tee "$tmp/sweep.txt"
# The closed loop's rate at 10 events per delivery is the maximum the two
# open-loop runs are set from.
max_rate=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["requests_per_sec"]))' \
	"$out/closed-10.json")
half=$((max_rate / 2)) double=$((max_rate * 2))
echo "bench: open loop at half the maximum, $half requests/s" >&2
"$bin" bench --url "http://127.0.0.1:$hport/hooks/okta" --secret "$HOOKBRIDGE_BENCH_SECRET" \
	--events 10 --connections 256 --rate "$half" --duration "$DURATION" --warmup "$WARMUP" \
	--verify-brokers "127.0.0.1:$kport" --verify-after --pid "$serve_pid" \
	--json "$out/open-half-10.json" | tee "$tmp/half.txt"
echo "bench: open loop at twice the maximum, $double requests/s" >&2
"$bin" bench --url "http://127.0.0.1:$hport/hooks/okta" --secret "$HOOKBRIDGE_BENCH_SECRET" \
	--events 10 --connections 3000 --rate "$double" --duration "${OVERLOAD_DURATION:-20s}" \
	--warmup "${OVERLOAD_WARMUP:-10s}" --verify-brokers "127.0.0.1:$kport" --verify-after \
	--pid "$serve_pid" --json "$out/open-overload-10.json" | tee "$tmp/overload.txt"
echo "bench: POST-to-visible latency at half the maximum, read live" >&2
"$bin" bench --url "http://127.0.0.1:$hport/hooks/okta" --secret "$HOOKBRIDGE_BENCH_SECRET" \
	--events 10 --connections 256 --rate "$half" --duration 10s --warmup 2s \
	--verify-brokers "127.0.0.1:$kport" --json "$out/open-visible-10.json" | tee "$tmp/visible.txt"
{
	head -1 "$tmp/run-$(echo "$EVENTS" | cut -d' ' -f1).txt"
	for e in $EVENTS; do sed -n 2p "$tmp/run-$e.txt"; done
	echo
	for e in $EVENTS; do grep -E '^(verify|target)' "$tmp/run-$e.txt" | sed "s/^/events=$e /"; done
	echo
	echo "hookbridge peak RSS: $(grep VmHWM /proc/$serve_pid/status | awk '{print $2/1024 " MiB"}')"
	echo
	echo "open-loop sweep, 10 events per delivery ($out/sweep-10.json, $out/sweep-10.svg):"
	grep -v '^wrote' "$tmp/sweep.txt"
	echo
	echo "open loop at half the closed loop's maximum ($half requests/s) and at twice it" \
		"($double requests/s, up to 3000 connections), 10 events per delivery:"
	head -2 "$tmp/half.txt"
	sed -n 2p "$tmp/overload.txt"
	for f in half overload; do grep -E '^service' "$tmp/$f.txt" | sed "s/^/$f /"; done
	for f in half overload; do grep -E '^(verify|target)' "$tmp/$f.txt" | sed "s/^/$f /"; done
	echo
	echo "POST-to-visible latency, open loop at half the maximum for 10s, the topics read live" \
		"(the reader shares the cores: ack latency here is higher than above):"
	sed -n 2p "$tmp/visible.txt"
	grep -E '^verify' "$tmp/visible.txt"
} >>"$summary"
cat "$summary"
