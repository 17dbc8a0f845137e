# tokengate — `make run` starts the local stack and the API; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

FUNCTIONS := $(notdir $(wildcard functions/*))
LOCAL_BIN := bin/tglocal
# The Go release go.mod asks for (its `go` line).
GO_NEED := $(shell sed -n 's/^go //p' go.mod)
GO_BUILD_LAMBDA := GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags="-s -w"
# The same bootstraps for this machine's architecture, for the runtime interface emulator.
GO_BUILD_LOCAL := CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags="-s -w"
LAMBDA_DIR := .local/lambda

.PHONY: help run stop reset clean test lint build build-local bench notify status tools bootstrap browser screenshots rotate-pepper sam-env fuzz soak

help: $(LOCAL_BIN) ## list the targets and this checkout's ports
	@grep -hE '^[a-z%-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14
	@echo; echo "Ports (set a variable to change it, e.g. TG_API_PORT=3100 make run; make status shows what runs):"
	@$(LOCAL_BIN) stack ports

tools:
	@command -v go >/dev/null || { echo "Go $(GO_NEED) or newer is required (go.mod): https://go.dev/dl/"; exit 1; }
	@have=$$(go env GOVERSION | sed 's/^go//'); \
		if [ "$$(printf '%s\n%s\n' "$(GO_NEED)" "$$have" | sort -V | head -n1)" != "$(GO_NEED)" ]; then \
		echo "Go $(GO_NEED) or newer is required (go.mod), this is Go $$have: https://go.dev/dl/"; exit 1; fi

$(LOCAL_BIN): tools $(shell find shared infra -name '*.go' -not -name '*_test.go') go.mod
	@mkdir -p bin && go build -o $@ ./infra/tglocal

# The console's browser tests drive Debian's chromium; install it when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		echo "installing chromium for the console's browser tests (apt-get)"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: tools $(LOCAL_BIN) ## start the local stack (DynamoDB Local, SES and KMS emulators, data kept in .local) and the API on :3000 (LAMBDA=1: the real bootstraps under the Lambda emulator)
	@bash infra/install.sh stack
	@$(LOCAL_BIN) stack up -mode run
	@$(if $(LAMBDA),$(MAKE) --no-print-directory build-local)
	@set -a && source <($(LOCAL_BIN) stack env -mode run) && set +a && $(LOCAL_BIN) setup && \
		$(LOCAL_BIN) bootstrap -state .local -token-file .local/admin-token -email admin@localhost -name "Local admin"
	@$(LOCAL_BIN) gateway start $(if $(LAMBDA),-lambda)

stop: $(LOCAL_BIN) ## stop everything `make run` and `make test` started (data is kept)
	@$(LOCAL_BIN) stack down -mode run
	@$(LOCAL_BIN) stack down -mode test

notify: tools $(LOCAL_BIN) ## run the expiry notifier once now against the `make run` stack
	@test -f .local/env || { echo "no .local/env: start the stack with 'make run' first"; exit 1; }
	@set -a && source .local/env && set +a && $(LOCAL_BIN) notify

bootstrap: tools $(LOCAL_BIN) ## first superuser and root token on AWS: make bootstrap STACK=<stack name> [REGION=…] [ARGS=…]
	@test -n "$(STACK)" || { echo "usage: make bootstrap STACK=<CloudFormation stack name> [REGION=eu-west-1] (make run bootstraps the local stack)"; exit 2; }
	@$(LOCAL_BIN) bootstrap -stack "$(STACK)" $(if $(REGION),-region $(REGION)) $(ARGS)

sam-env: tools $(LOCAL_BIN) ## write .local/sam-env.json, the --env-vars file for sam local against the `make run` stack
	@test -f .local/env || { echo "no .local/env: start the stack with 'make run' first"; exit 1; }
	@$(LOCAL_BIN) env-vars >.local/sam-env.json && echo "wrote .local/sam-env.json (docs/local-aws.md)"

rotate-pepper: tools $(LOCAL_BIN) ## add a pepper version on the `make run` stack (or, without .local/env, wherever the environment points)
	@$(LOCAL_BIN) rotate-pepper

status: $(LOCAL_BIN) ## show this checkout's ports and what is running
	@$(LOCAL_BIN) stack ports
	@$(LOCAL_BIN) stack status -mode run
	@$(LOCAL_BIN) stack status -mode test

reset: stop ## stop and delete the local data (tokens, principals, keys, admin token); keep the installed tools
	@if [ -d .local ]; then find .local -mindepth 1 -maxdepth 1 ! -name tools -exec rm -rf {} +; fi
	@echo "local data deleted (.local/tools kept); make run starts afresh"

clean: stop ## stop and remove local data, tools and builds
	rm -rf .local bin .aws-sam

lint: tools ## gofmt, go vet, go mod tidy -diff, staticcheck, cfn-lint (SAM transform included), docs/openapi.yaml in openapi-spec-validator and kin-openapi; starts no emulator
	@bash infra/install.sh lint
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...
	go mod tidy -diff
	.local/tools/bin/staticcheck ./...
	cfn-lint template.yaml
	$${TG_PYTHON:-python3} -m openapi_spec_validator docs/openapi.yaml
	go test -count=1 -run '^TestOpenAPIDocument$$' ./infra/tglocal

test: export CI := true
test: tools lint browser $(LOCAL_BIN) ## start the test stack and run every test (exports CI=true: a missing emulator fails)
	@bash infra/install.sh stack
	@$(LOCAL_BIN) stack up -mode test
	@$(MAKE) --no-print-directory build-local
	@rm -f .local/test/lambda-init.txt
	@set -a && source <($(LOCAL_BIN) stack env -mode test) && set +a && \
		TG_LAMBDA_REPORT=$(CURDIR)/.local/test/lambda-init.txt TG_TGLOCAL=$(CURDIR)/$(LOCAL_BIN) go test -count=1 -race ./... ; status=$$?; \
		$(LOCAL_BIN) stack down -mode test >/dev/null; \
		if [ -f .local/test/lambda-init.txt ]; then echo "init time of each function under the Lambda runtime interface emulator:"; cat .local/test/lambda-init.txt; fi; \
		exit $$status

# Every native fuzz target (func FuzzXxx in a _test.go file), as <package dir>:<name>.
FUZZ_TARGETS = $(shell grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' shared infra | sed -E 's|/[^/]*_test\.go:func |:|')
FUZZTIME ?= 10m
fuzz: tools ## run each fuzz target for FUZZTIME (default 10m), one after another on one worker; a crasher is kept in <package>/testdata/fuzz and stops the run
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; echo "== $$name ($$pkg) for $(FUZZTIME)"; \
		go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -parallel 1 ./$$pkg || exit 1; \
	done

SOAKTIME ?= 10m
SOAKRATE ?= 40
soak: tools $(LOCAL_BIN) ## drive a fresh local gateway on the test stack for SOAKTIME (default 10m) at SOAKRATE/s (40) with creates, lists, rotations, revocations and authorized calls; reports p50/p99, errors, memory, goroutines
	@bash infra/install.sh stack
	@$(LOCAL_BIN) stack up -mode test
	@set -a && source <($(LOCAL_BIN) stack env -mode test) && set +a && \
		$(LOCAL_BIN) soak -state .local/test/soak -duration $(SOAKTIME) -rate $(SOAKRATE); status=$$?; \
		$(LOCAL_BIN) stack down -mode test >/dev/null; exit $$status

bench: tools $(LOCAL_BIN) ## benchmarks against the test stack, side by side with raw DynamoDB calls
	@bash infra/install.sh stack
	@$(LOCAL_BIN) stack up -mode test
	@# In-process work (parse, tag, hash, cached validation, forged refusal) runs for the
	@# default benchtime; DynamoDB-bound benchmarks (BenchmarkLocal*) a fixed count, each
	@# reporting medians and ratios to what they are compared with in the same loop (raw SDK
	@# calls; for the local gateway's GET /demo/echo, its handler mounted bare, 16 loopback
	@# clients, 1000 requests each per side); the 100,000-token notifier
	@# benchmark three runs (its Scan baseline takes ~40 s). One package at a time (-p 1):
	@# no benchmark carries the load of another package's.
	@set -a && source <($(LOCAL_BIN) stack env -mode test) && set +a && \
		go test -p 1 -run '^$$' -bench . -skip '^Benchmark(Local|Expiring)' -benchmem ./... && \
		go test -p 1 -run '^$$' -bench '^BenchmarkLocal' -benchtime 1000x ./... && \
		go test -run '^$$' -bench '^BenchmarkExpiring$$' -benchmem -benchtime 3x ./shared/store ; status=$$?; \
		$(LOCAL_BIN) stack down -mode test >/dev/null; exit $$status

screenshots: tools browser $(LOCAL_BIN) ## PNGs of the console's main pages and of the expiry email into docs/img/
	@bash infra/install.sh stack
	@$(LOCAL_BIN) stack up -mode test
	@set -a && source <($(LOCAL_BIN) stack env -mode test) && set +a && \
		TG_SCREENSHOTS_DIR=$(CURDIR)/docs/img CI=true go test -count=1 -run '^(TestConsoleInBrowser|TestConsoleLayoutsAndList|TestConsolePrincipals|TestConsoleSettings|TestConsoleUsesChart|TestExpiryEmailAt600px)$$' ./infra/tglocal ; status=$$?; \
		$(LOCAL_BIN) stack down -mode test >/dev/null; ls -l docs/img; exit $$status

build: tools ## one stripped linux/arm64 bootstrap per function in bin/<function>/, the scope catalog beside it
	@for f in $(FUNCTIONS); do \
		$(GO_BUILD_LAMBDA) -o bin/$$f/bootstrap ./functions/$$f || exit 1; \
		cp infra/catalog.json bin/$$f/catalog.json; \
		printf '%-14s %s\n' $$f "$$(du -h bin/$$f/bootstrap | cut -f1)"; \
	done

build-local: tools ## the same bootstraps for this machine in .local/lambda/<function>/ (Lambda mode of the local gateway)
	@mkdir -p $(LAMBDA_DIR)/.bin && $(GO_BUILD_LOCAL) -o $(LAMBDA_DIR)/.bin/ ./functions/...
	@for f in $(FUNCTIONS); do \
		mkdir -p $(LAMBDA_DIR)/$$f && mv -f $(LAMBDA_DIR)/.bin/$$f $(LAMBDA_DIR)/$$f/bootstrap && cp infra/catalog.json $(LAMBDA_DIR)/$$f/catalog.json || exit 1; \
	done

# sam build (BuildMethod: makefile) calls build-<LogicalId>, e.g. build-CreateTokenFunction.
build-%Function:
	$(GO_BUILD_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(shell echo '$*' | tr '[:upper:]' '[:lower:]')
	cp infra/catalog.json $(ARTIFACTS_DIR)/catalog.json
