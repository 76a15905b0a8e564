# hookbridge: `make run` starts the bridge on its embedded broker with the
# example config; `make test` runs every test.

GO        ?= go
BIN       := bin/hookbridge
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
CONFIG    ?= deploy/examples/local.yaml

export HOOKBRIDGE_OKTA_SECRET ?= dev-secret

.PHONY: all build run test vet fuzz bench microbench crosscheck clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hookbridge

run: build
	./$(BIN) serve --config $(CONFIG)

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: vet
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run Allocations ./ingest

# Short fuzzing of every parser of outside input.
fuzz:
	$(GO) test -run XXX -fuzz FuzzConvert -fuzztime 30s -fuzzminimizetime 5s ./schema
	$(GO) test -run XXX -fuzz FuzzEnvelope -fuzztime 30s -fuzzminimizetime 5s ./ingest
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime 30s -fuzzminimizetime 5s ./internal/jsontape
	$(GO) test -run XXX -fuzz FuzzExactDouble -fuzztime 30s -fuzzminimizetime 5s ./schema
	$(GO) test -run XXX -fuzz FuzzParseLong -fuzztime 30s -fuzzminimizetime 5s ./schema

# The load suite: hookbridge and a development broker in processes of their
# own, 1/10/50 events per delivery; results under bench/results/.
bench:
	bash bench/run.sh

# Go benchmarks of every hot-path step.
microbench:
	$(GO) test -run XXX -bench . -benchmem ./internal/jsontape ./schema ./ingest ./broker ./bench

# Decodes records with an independent Avro implementation (python3-avro).
crosscheck: build
	./deploy/crosscheck/run.sh

clean:
	rm -rf bin data

# A real single-node Kafka 4.x (KRaft) from Maven Central jars, for tests
# and local use; see deploy/kafka/README.md. Needs java 17+, mvn and go.
.PHONY: kafka-up kafka-down test-kafka

kafka-up:
	bash deploy/kafka/kafka.sh up

kafka-down:
	bash deploy/kafka/kafka.sh down

# Every test against the real Kafka, one package at a time since the fault
# tests kill and pause the broker the others use. The broker is stopped (and
# its data deleted) whatever happens, on Ctrl-C too, and the tests' exit code
# is kept. The full log goes to $(TEST_KAFKA_LOG); the summary, the fault
# tests' acknowledged=/lost= lines and any failure are printed.
TEST_KAFKA_LOG ?= /tmp/hookbridge-test-kafka.log
test-kafka:
	@trap 'bash deploy/kafka/kafka.sh down' EXIT; trap 'exit 130' INT TERM; \
	bash deploy/kafka/kafka.sh up || exit $$?; \
	eval "$$(bash deploy/kafka/kafka.sh env)"; \
	$(GO) test -p 1 -race -count=1 -v ./... > $(TEST_KAFKA_LOG) 2>&1; rc=$$?; \
	grep -E '^(--- (FAIL|SKIP)|FAIL|ok |acknowledged=|panic:)|_test\.go:[0-9]+:' $(TEST_KAFKA_LOG) | \
		grep -v '^\s*writer\.go' ; \
	exit $$rc
