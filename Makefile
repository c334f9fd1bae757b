# Posthaste: build, lint, test, bench.
# `make test` runs the unit and integration tests (packages in parallel), then the serial stage:
# tests that kill processes or restart services, one package at a time.
GO        ?= go
GOFLAGS   ?=
TESTFLAGS ?= -count=1 -timeout 20m
BENCHTIME ?= 1s
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build deps test test-unit test-serial lint cross bench man completion clean

all: lint test build

build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS) -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o bin/posthaste ./cmd/posthaste

# deps installs what the tests need when missing (Debian packages, Go modules, npm clients).
deps:
	bash .ci/deps

# Both stages run even if the first fails, so one run reports every failure.
test: deps
	@$(MAKE) test-unit; unit=$$?; $(MAKE) test-serial; serial=$$?; \
	if [ $$unit -ne 0 ] || [ $$serial -ne 0 ]; then echo "make test: FAILED (unit stage $$unit, serial stage $$serial)"; exit 1; fi

# The RabbitMQ adapter's tests run again under the race detector: its connection manager and
# subscriptions redial and resubscribe from goroutines of their own.
test-unit:
	$(GO) test $(GOFLAGS) $(TESTFLAGS) ./...
	$(GO) test $(GOFLAGS) $(TESTFLAGS) -race ./adapters/rabbitmq/...

test-serial:
	POSTHASTE_SERIAL_TESTS=1 $(GO) test $(GOFLAGS) $(TESTFLAGS) -p 1 -run '^TestSerial' ./...

lint: cross
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))"; \
	if [ -n "$$out" ]; then echo "gofmt -l: these files need gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 -run 'TestDependencyRule' ./cmd/posthaste/

# cross builds everything for macOS and FreeBSD (no cgo, no termios of Linux's own).
cross:
	GOOS=darwin $(GO) build $(GOFLAGS) ./...
	GOOS=freebsd $(GO) build $(GOFLAGS) ./...

# man writes the man pages (section 1) into bin/man; completion the bash, zsh and fish scripts
# into bin/completion.
man: build
	bin/posthaste man --dir bin/man

completion: build
	mkdir -p bin/completion
	bin/posthaste completion bash > bin/completion/posthaste.bash
	bin/posthaste completion zsh > bin/completion/_posthaste
	bin/posthaste completion fish > bin/completion/posthaste.fish

bench:
	$(GO) test $(GOFLAGS) -run '^$$' -bench . -benchtime $(BENCHTIME) -benchmem ./...

clean:
	rm -rf bin
