# daprshop: `make run` starts the whole system, `make test` proves it.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

SERVICES := gateway auth products orders payments notifications workers
BIN      := .bin
RUN_DIR  := .run
# The sidecar binary, where the Dapr CLI keeps it too. Built from source
# once (about 10 minutes and 2 GB of modules cold), then reused.
DAPRD    ?= $(HOME)/.dapr/bin/daprd
DAPR_VERSION := 1.14.0
# Pub/sub backend: a file name under components/pubsub/.
PUBSUB   ?= redis

GO_MODULES := $(shell go work edit -json | sed -n 's/.*"DiskPath": "\(.*\)".*/\1/p')

.PHONY: run test build lint daprd prepare infra unit e2e clean seed mailpit devsink

## run: build what is missing, then start every service with its sidecar,
## plus mailpit (the SMTP server) and the SMS/push sink, stopped with it
run: build daprd prepare infra mailpit devsink
	@echo "Gateway: http://127.0.0.1:3000  (dev admin credentials: $(RUN_DIR)/secrets.json)"
	@echo "Mail UI: http://127.0.0.1:8025  SMS/push sink: http://127.0.0.1:8090/messages"
	@set -a; source $(RUN_DIR)/dev.env; set +a; \
	$(BIN)/mailpit --smtp 127.0.0.1:1025 --listen 127.0.0.1:8025 >$(RUN_DIR)/mailpit.log 2>&1 & mailpit=$$!; \
	$(BIN)/devsink -addr 127.0.0.1:8090 >$(RUN_DIR)/devsink.log 2>&1 & devsink=$$!; \
	trap 'kill $$mailpit $$devsink 2>/dev/null || true' EXIT; \
	if command -v dapr >/dev/null; then dapr run -f dapr.yaml; \
	else $(BIN)/runner -f dapr.yaml -daprd "$(DAPRD)"; fi

## test: lint, unit and integration tests, then the end-to-end suite
test: lint unit e2e

## build: compile every service and the local runner into .bin/
build:
	@mkdir -p $(BIN)
	go build -trimpath -o $(BIN)/ $(addprefix ./services/,$(SERVICES)) ./tools/runner

## mailpit: install the dev SMTP server (web UI and API on :8025) once
mailpit: $(BIN)/mailpit
$(BIN)/mailpit:
	GOBIN=$(CURDIR)/$(BIN) go install github.com/axllent/mailpit@v1.27.11

## devsink: build the stand-in SMS and push provider
devsink:
	@mkdir -p $(BIN)
	go build -trimpath -o $(BIN)/ ./tools/devsink

## lint: gofmt and go vet over every module
lint:
	@unformatted=$$(gofmt -l $(GO_MODULES) tools/daprd); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet $(addsuffix /...,$(GO_MODULES))

## daprd: build the Dapr sidecar once
daprd: $(DAPRD)
$(DAPRD):
	@mkdir -p $(dir $(DAPRD))
	cd tools/daprd && go build -tags stablecomponents -trimpath \
	  -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$(DAPR_VERSION)" -o "$(DAPRD)" .

## prepare: dev secrets, API tokens and the chosen pub/sub component
prepare:
	@tools/dev/secrets.sh $(RUN_DIR)
	@mkdir -p $(RUN_DIR)/pubsub
	@cp components/pubsub/$(PUBSUB).yaml $(RUN_DIR)/pubsub/pubsub.yaml

## infra: make sure PostgreSQL and Redis are running
infra:
	@tools/dev/infra.sh

unit: infra
	go test -race -count=1 $(addsuffix /...,$(filter-out ./tests,$(GO_MODULES)))

e2e: build daprd prepare infra mailpit devsink
	cd tests && DAPRD="$(DAPRD)" go test -race -count=1 -timeout 15m ./...

clean:
	rm -rf $(BIN) $(RUN_DIR)

## seed: load categories and a few thousand products into the running system, through the gateway
seed:
	cd tools/seed && go run . -gateway http://127.0.0.1:3000 -secrets ../../$(RUN_DIR)/secrets.json

.PHONY: admin-token
## admin-token: print (last line) a fresh SUPER_ADMIN access token from the running system
admin-token:
	@tools/dev/admin-token.sh $(RUN_DIR)/secrets.json http://127.0.0.1:3000
