# hookbridge: `make run` starts the bridge on its embedded broker with the
# example config; `make test` runs every test.

GO        ?= go
BIN       := bin/hookbridge
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
CONFIG    ?= deploy/examples/local.yaml

export HOOKBRIDGE_OKTA_SECRET ?= dev-secret

.PHONY: all build run test vet fuzz bench crosscheck clean

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

# Short fuzzing of every parser of outside input.
fuzz:
	$(GO) test -run XXX -fuzz FuzzConvert -fuzztime 30s ./schema
	$(GO) test -run XXX -fuzz FuzzEnvelope -fuzztime 30s ./ingest

bench:
	$(GO) test -run XXX -bench . -benchmem ./schema ./ingest ./bench

# Decodes records with an independent Avro implementation (python3-avro).
crosscheck: build
	./deploy/crosscheck/run.sh

clean:
	rm -rf bin data
