# Podling build, test and local-cluster targets. Binaries are static
# (CGO_ENABLED=0) so the same files go into FROM scratch images.

GO        ?= go
BIN       := bin
BINARIES  := podling-master podling-worker podling-echo podling-pause podling-chaos podling
export CGO_ENABLED := 0
# The build machines run the legacy Docker builder.
export DOCKER_BUILDKIT := 0

.PHONY: all build images test test-short fuzz bench bench-smoke run stop clean demo demo-down demo-check chaos chaos-soak

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

# bench measures three podling-master processes on loopback against a bare
# Raft cluster with the same settings and writes docs/BENCHMARKS.md; it
# takes about four minutes on two cores. bench-smoke runs every phase
# briefly and fails only when the benchmark itself breaks, never on a
# figure.
bench:
	$(GO) run ./cmd/podling-bench -go $(GO) -out docs/BENCHMARKS.md

bench-smoke:
	$(GO) run ./cmd/podling-bench -go $(GO) -smoke

# run starts three masters and a worker on loopback, with data under
# ./data, and submits a sample task. stop ends them.
run: images
	scripts/local-cluster.sh up

stop:
	scripts/local-cluster.sh down

clean: stop
	rm -rf $(BIN) data

# demo runs docker-compose.yml (three masters, two workers) with HAProxy
# from the host on 127.0.0.1:8070, and submits a task, a pod and a
# service through it. demo-down removes all of it. COMPOSE is Compose v2
# when the docker CLI has it, else docker-compose.
ifndef COMPOSE
COMPOSE := $(shell if docker compose version >/dev/null 2>&1; then echo "docker compose"; else echo docker-compose; fi)
endif
export COMPOSE

demo: images
	scripts/demo.sh up

demo-check:
	scripts/demo.sh check

demo-down:
	scripts/demo.sh down

# chaos runs one round of each fault scenario in deploy/chaos against the
# running demo; chaos-soak runs SOAK_ROUNDS rounds of each.
SOAK_ROUNDS ?= 10
chaos: build
	ROUNDS=1 deploy/chaos/all

chaos-soak: build
	ROUNDS=$(SOAK_ROUNDS) deploy/chaos/all
