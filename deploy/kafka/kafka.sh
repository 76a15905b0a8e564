#!/usr/bin/env bash
# A single-node Apache Kafka 4.x (KRaft: one process is broker and
# controller) for hookbridge's tests and for local use, run from the jars on
# Maven Central. Usage: kafka.sh up|down|status|env
#
#   up      fetch the jars (once), make the TLS material (once), format the
#           storage with the SCRAM user, start Kafka in the background and
#           wait until it serves metadata and its SASL_SSL listener works
#   down    stop Kafka (TERM, then KILL) and delete its data
#   status  say whether it runs; exit 0 if so, 3 if not
#   env     print the exports the tests read (eval "$(kafka.sh env)")
#
# Listeners, all on KAFKA_HOST (127.0.0.1):
#   PLAINTEXT   KAFKA_PORT (19092)             clients and inter-broker
#   SASL_SSL    KAFKA_SASL_PORT (19093)        SCRAM-SHA-512, user hookbridge
#   CONTROLLER  KAFKA_CONTROLLER_PORT (19094)  KRaft quorum
#
# Other settings (environment):
#   KAFKA_VERSION         Kafka release on Maven Central (4.4.0)
#   HOOKBRIDGE_KAFKA_HOME cache of jars and TLS material, kept across runs
#                         (~/.cache/hookbridge/kafka-$KAFKA_VERSION)
#   KAFKA_RUN_DIR         config, data, PID and logs of the running broker
#                         (${TMPDIR:-/tmp}/hookbridge-kafka-$KAFKA_PORT)
#   KAFKA_WAIT_SECONDS    longest wait for the broker to serve (180: a
#                         loaded two-core machine has taken 75)
#   KAFKA_STOP_SECONDS    wait after TERM before KILL (30)
#   KAFKA_HEAP_OPTS       JVM heap (-Xms256m -Xmx1g)
#   JAVA_HOME, MVN, GO    the tools; java must be 17 or newer
#
# TEST-ONLY SECRETS: the keystore password, the SCRAM user and its password
# below are fixed, public development values. Never reuse them, nor this
# broker's configuration (no ACLs, plaintext listener), outside tests.
set -euo pipefail

KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}
KAFKA_HOST=${KAFKA_HOST:-127.0.0.1}
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_SASL_PORT=${KAFKA_SASL_PORT:-19093}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19094}
KAFKA_WAIT_SECONDS=${KAFKA_WAIT_SECONDS:-180}
KAFKA_STOP_SECONDS=${KAFKA_STOP_SECONDS:-30}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}

cache_root=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}
KAFKA_HOME_DIR=${HOOKBRIDGE_KAFKA_HOME:-$cache_root/hookbridge/kafka-$KAFKA_VERSION}
KAFKA_RUN_DIR=${KAFKA_RUN_DIR:-${TMPDIR:-/tmp}/hookbridge-kafka-$KAFKA_PORT}

readonly SCRAM_USER=hookbridge
readonly SCRAM_PASSWORD=hookbridge-secret     # test-only
readonly STORE_PASSWORD=hookbridge-dev-only   # test-only

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
libs=$KAFKA_HOME_DIR/libs
tls=$KAFKA_HOME_DIR/tls
data=$KAFKA_RUN_DIR/data
pidfile=$KAFKA_RUN_DIR/kafka.pid
props=$KAFKA_RUN_DIR/server.properties

JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
KEYTOOL=${JAVA_HOME:+$JAVA_HOME/bin/}keytool
MVN=${MVN:-mvn}
GO=${GO:-go}

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# need_tools checks java (17+), keytool, mvn and go before anything starts.
need_tools() {
	command -v "$JAVA" >/dev/null ||
		die "java not found: install a JDK 17 or newer (apt-get install openjdk-17-jdk-headless) or set JAVA_HOME"
	local ver major
	ver=$("$JAVA" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n1)
	major=${ver%%[.+-]*}
	[[ $major == 1 ]] && major=$(cut -d. -f2 <<<"$ver")
	[[ $major =~ ^[0-9]+$ ]] && ((major >= 17)) ||
		die "java $ver is too old: Kafka $KAFKA_VERSION needs 17 or newer (set JAVA_HOME)"
	command -v "$KEYTOOL" >/dev/null || die "keytool not found next to java: install a full JDK"
	command -v "$MVN" >/dev/null || die "mvn not found: install Maven (apt-get install maven) or set MVN"
	command -v "$GO" >/dev/null || die "go not found: the readiness check is a Go program (set GO)"
}

# fetch_jars copies Kafka and its runtime dependencies into $libs, unless a
# previous run did so from the same pom and version.
fetch_jars() {
	local stamp want
	stamp=$libs/.complete
	want="$KAFKA_VERSION $(sha256sum "$here/pom.xml" | cut -d' ' -f1)"
	if [[ -f $stamp && $(<"$stamp") == "$want" ]]; then
		return
	fi
	log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $libs"
	rm -rf "$libs.tmp"
	mkdir -p "$KAFKA_HOME_DIR"
	if ! "$MVN" -q -B -Dstyle.color=never -f "$here/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
		dependency:copy-dependencies -DoutputDirectory="$libs.tmp" >"$KAFKA_HOME_DIR/mvn.log" 2>&1; then
		tail -n 20 "$KAFKA_HOME_DIR/mvn.log" >&2
		die "mvn could not fetch Kafka $KAFKA_VERSION (is it on Maven Central? set KAFKA_VERSION)"
	fi
	rm -rf "$libs"
	mv "$libs.tmp" "$libs"
	echo "$want" >"$stamp"
}

# make_tls writes, once, a self-signed CA and a broker certificate for
# 127.0.0.1 and localhost signed by it: a PKCS12 keystore and truststore for
# the broker and ca.pem for Go clients.
make_tls() {
	[[ -f $tls/broker.p12 && -f $tls/truststore.p12 && -f $tls/ca.pem ]] && return
	log "creating a test CA and broker certificate in $tls"
	local tmp=$tls.tmp pw=$STORE_PASSWORD
	rm -rf "$tmp"
	mkdir -p "$tmp"
	kt() {
		"$KEYTOOL" "$@" -storetype PKCS12 -storepass "$pw" -noprompt >>"$tmp/keytool.log" 2>&1 ||
			die "keytool $1 failed: $(tail -n 5 "$tmp/keytool.log")"
	}

	kt -genkeypair -alias ca -keyalg RSA -keysize 2048 -validity 3650 \
		-dname "CN=hookbridge test CA" -ext bc:c -keystore "$tmp/ca.p12" -keypass "$pw"
	kt -exportcert -alias ca -rfc -keystore "$tmp/ca.p12" -file "$tmp/ca.pem"

	kt -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 3650 \
		-dname "CN=localhost" -keystore "$tmp/broker.p12" -keypass "$pw"
	kt -certreq -alias broker -keystore "$tmp/broker.p12" -file "$tmp/broker.csr"
	kt -gencert -alias ca -keystore "$tmp/ca.p12" -infile "$tmp/broker.csr" \
		-outfile "$tmp/broker.pem" -rfc -validity 3650 \
		-ext "SAN=ip:127.0.0.1,dns:localhost" -ext "KU=digitalSignature,keyEncipherment" -ext "EKU=serverAuth"
	kt -importcert -alias ca -file "$tmp/ca.pem" -keystore "$tmp/broker.p12"
	kt -importcert -alias broker -file "$tmp/broker.pem" -keystore "$tmp/broker.p12"
	kt -importcert -alias ca -file "$tmp/ca.pem" -keystore "$tmp/truststore.p12"

	rm -f "$tmp/keytool.log" "$tmp/broker.csr"
	rm -rf "$tls"
	mv "$tmp" "$tls"
}

write_props() {
	cat >"$props" <<EOF
# Written by deploy/kafka/kafka.sh; test-only (no ACLs, fixed passwords).
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER

listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,SASL_SSL://$KAFKA_HOST:$KAFKA_SASL_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,SASL_SSL://$KAFKA_HOST:$KAFKA_SASL_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT

sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$tls/broker.p12
ssl.keystore.password=$STORE_PASSWORD
ssl.key.password=$STORE_PASSWORD
ssl.truststore.type=PKCS12
ssl.truststore.location=$tls/truststore.p12
ssl.truststore.password=$STORE_PASSWORD
ssl.client.auth=none

log.dirs=$data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
}

# format_storage formats $data once; down deletes it, so each up after a
# down starts empty while an up after a crash keeps the topics.
format_storage() {
	[[ -f $data/meta.properties ]] && return
	local id
	id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
	log "formatting $data (cluster $id, SCRAM-SHA-512 user $SCRAM_USER)"
	rm -rf "$data"
	"$JAVA" -cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.properties" \
		-Dhookbridge.kafka.log="$KAFKA_RUN_DIR/format.log" \
		kafka.tools.StorageTool format --config "$props" --cluster-id "$id" --standalone \
		--add-scram "SCRAM-SHA-512=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]" \
		>"$KAFKA_RUN_DIR/format.out" 2>&1 ||
		{
			cat "$KAFKA_RUN_DIR/format.out" >&2
			die "storage format failed"
		}
}

# running prints the broker's PID and succeeds when the PID file names a
# live Kafka started with this run directory's configuration.
running() {
	[[ -f $pidfile ]] || return 1
	local pid
	pid=$(<"$pidfile")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/cmdline ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "kafka.Kafka $props" || return 1
	[[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || return 1
	echo "$pid"
}

port_busy() { (exec 3<>"/dev/tcp/$KAFKA_HOST/$1") 2>/dev/null; }

# wait_ready builds the Go readiness check and runs it against both client
# listeners.
wait_ready() {
	local pid=$1 bin=$KAFKA_RUN_DIR/kafka-wait
	(cd "$repo" && "$GO" build -o "$bin" ./deploy/kafka/wait) || return 1
	"$bin" -brokers "$KAFKA_HOST:$KAFKA_PORT" -timeout "${KAFKA_WAIT_SECONDS}s" -pid "$pid" \
		-sasl-brokers "$KAFKA_HOST:$KAFKA_SASL_PORT" -ca "$tls/ca.pem" \
		-user "$SCRAM_USER" -password "$SCRAM_PASSWORD"
}

start() {
	local pid
	if pid=$(running); then
		log "already running (pid $pid)"
		wait_ready "$pid"
		return
	fi
	rm -f "$pidfile"
	for port in "$KAFKA_PORT" "$KAFKA_SASL_PORT" "$KAFKA_CONTROLLER_PORT"; do
		port_busy "$port" && die "port $KAFKA_HOST:$port is in use by another process (set KAFKA_PORT etc.)"
	done

	local t0=$SECONDS
	write_props
	format_storage

	log "starting Kafka $KAFKA_VERSION: logs in $KAFKA_RUN_DIR/server.log"
	# shellcheck disable=SC2086 # KAFKA_HEAP_OPTS and KAFKA_JVM_OPTS hold several words.
	setsid "$JAVA" $KAFKA_HEAP_OPTS -XX:+UseG1GC -Djava.awt.headless=true ${KAFKA_JVM_OPTS:-} \
		-Dlog4j2.configurationFile="$here/log4j2.properties" \
		-Dhookbridge.kafka.log="$KAFKA_RUN_DIR/server.log" \
		-cp "$libs/*" kafka.Kafka "$props" \
		</dev/null >"$KAFKA_RUN_DIR/stdout.log" 2>&1 9>&- &
	pid=$!
	disown "$pid" # no "Killed" job notice if down has to KILL it
	echo "$pid" >"$pidfile"

	if ! wait_ready "$pid"; then
		log "Kafka did not become ready; last lines of its logs:"
		tail -n 30 "$KAFKA_RUN_DIR/stdout.log" "$KAFKA_RUN_DIR/server.log" >&2 2>/dev/null || true
		stop
		return 1
	fi
	log "up in $((SECONDS - t0))s (pid $pid); eval \"\$(bash $0 env)\" for the test settings"
}

stop() {
	local pid
	if pid=$(running); then
		log "stopping Kafka (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		local deadline=$((SECONDS + KAFKA_STOP_SECONDS))
		while running >/dev/null && ((SECONDS < deadline)); do
			sleep 0.2
		done
		if running >/dev/null; then
			log "still running after ${KAFKA_STOP_SECONDS}s: KILL"
			kill -KILL "$pid" 2>/dev/null || true
			while running >/dev/null; do sleep 0.1; done
		fi
	else
		log "not running"
	fi
	rm -f "$pidfile"
	rm -rf "$data"
}

status() {
	local pid
	if pid=$(running); then
		echo "running (pid $pid): PLAINTEXT $KAFKA_HOST:$KAFKA_PORT, SASL_SSL $KAFKA_HOST:$KAFKA_SASL_PORT," \
			"CONTROLLER $KAFKA_HOST:$KAFKA_CONTROLLER_PORT; logs in $KAFKA_RUN_DIR"
		return 0
	fi
	echo "not running"
	return 3
}

# signal_broker sends a signal to the running broker, for the fault tests:
# KILL (a crash; the data stays for the next start), STOP and CONT.
signal_broker() {
	local pid
	pid=$(running) || die "Kafka is not running"
	kill "-$1" "$pid"
	if [[ $1 == KILL ]]; then
		while [[ -d /proc/$pid ]] && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; do
			sleep 0.05
		done
		rm -f "$pidfile"
	fi
}

print_env() {
	cat <<EOF
export HOOKBRIDGE_TEST_BROKERS=$KAFKA_HOST:$KAFKA_PORT
export HOOKBRIDGE_TEST_SASL_BROKERS=$KAFKA_HOST:$KAFKA_SASL_PORT
export HOOKBRIDGE_TEST_SASL_MECHANISM=SCRAM-SHA-512
export HOOKBRIDGE_TEST_SASL_USER=$SCRAM_USER
export HOOKBRIDGE_TEST_SASL_PASSWORD=$SCRAM_PASSWORD
export HOOKBRIDGE_TEST_TLS_CA=$tls/ca.pem
export HOOKBRIDGE_TEST_KAFKA_CTL=$here/kafka.sh
EOF
}

# locked runs a command while holding lock file $1 on descriptor 9, so that
# two concurrent runs do not interleave: one lock guards the shared cache,
# another the run directory. Locks are taken one after the other, never
# nested, and Kafka is started with descriptor 9 closed.
locked() {
	local file=$1
	shift
	mkdir -p "$(dirname "$file")"
	exec 9>"$file"
	flock -w 300 9 || die "another kafka.sh holds $file"
	"$@"
	exec 9>&-
}

case ${1:-} in
up)
	need_tools
	locked "$KAFKA_HOME_DIR/.lock" fetch_jars
	locked "$KAFKA_HOME_DIR/.lock" make_tls
	locked "$KAFKA_RUN_DIR/.lock" start
	;;
down) locked "$KAFKA_RUN_DIR/.lock" stop ;;
# For fault tests: start again after kill keeps the data; pause and resume
# freeze and thaw the JVM.
start) locked "$KAFKA_RUN_DIR/.lock" start ;;
kill) signal_broker KILL ;;
pause) signal_broker STOP ;;
resume) signal_broker CONT ;;
status) status ;;
env) print_env ;;
*)
	echo "usage: $0 up|down|status|env|start|kill|pause|resume" >&2
	exit 2
	;;
esac
