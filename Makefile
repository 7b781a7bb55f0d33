# Podling build, test and local-cluster targets. Binaries are static
# (CGO_ENABLED=0) so the same files go into FROM scratch images.

GO        ?= go
BIN       := bin
BINARIES  := podling-master podling-worker podling-echo podling-pause
export CGO_ENABLED := 0
# The build machines run the legacy Docker builder.
export DOCKER_BUILDKIT := 0

.PHONY: all build images test test-short fuzz run stop clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/ $(addprefix ./cmd/,$(BINARIES))

images: build
	docker build -q -f deploy/master.Dockerfile -t podling/master:dev $(BIN)
	docker build -q -f deploy/worker.Dockerfile -t podling/worker:dev $(BIN)
	docker build -q -f deploy/echo.Dockerfile -t podling/echo:dev $(BIN)
	docker build -q -f deploy/pause.Dockerfile -t podling/pause:dev $(BIN)

# The race detector needs cgo, so tests turn it back on.
test:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m ./...

test-short:
	CGO_ENABLED=1 $(GO) test -race -short -count=1 ./...

# fuzz runs every fuzz target for FUZZTIME beyond its seed corpus, which
# plain `go test` already runs.
FUZZTIME ?= 10s
FUZZ_PACKAGES := ./fsm ./internal/api
fuzz:
	@for pkg in $(FUZZ_PACKAGES); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzzing $$pkg $$target for $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# run starts three masters and a worker on loopback, with data under
# ./data, and submits a sample task. stop ends them.
run: images
	scripts/local-cluster.sh up

stop:
	scripts/local-cluster.sh down

clean: stop
	rm -rf $(BIN) data
