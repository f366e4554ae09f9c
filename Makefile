# daprshop: `make run` starts the whole system, `make test` proves it.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

SERVICES := gateway auth products orders payments notifications workers
BIN      := .bin
RUN_DIR  := .run
# The sidecar binary, where the Dapr CLI keeps it too. Built from source
# (about 10 minutes and 2 GB of modules cold), then reused until its source
# (tools/daprd) changes: a hash of it is kept beside the binary.
DAPRD    ?= $(HOME)/.dapr/bin/daprd
DAPR_VERSION := 1.14.0
# Dapr Sentry, the local certificate authority: with it every sidecar runs
# with mTLS, so access control can tell which app is calling. Built from the
# same pinned module as daprd.
SENTRY   ?= $(HOME)/.dapr/bin/sentry
SIDECAR_SECURITY := -sentry "$(SENTRY)" -sentry-config config/sentry.yaml \
                    -sentry-credentials $(RUN_DIR)/sentry -access-config config/access
# Backends: a directory under components/pubsub/ (redis, rabbitmq,
# jetstream, kafka) and under components/state/ (redis, postgresql). The
# choice swaps a resources path of dapr.yaml; nothing is copied or rebuilt.
PUBSUB   ?= redis
STATE    ?= redis
SWAP_RESOURCES := -swap-resources ./components/pubsub/redis=./components/pubsub/$(PUBSUB) \
                  -swap-resources ./components/state/redis=./components/state/$(STATE)
# Several instances of some apps behind their app id, e.g.
# `make run REPLICAS=products=2,orders=2`: the n-th instance listens on the
# app's ports plus (n-1)*10 (products-2: app 3012, sidecar 3512).
REPLICAS ?=
# The share of new traces every sidecar (config/<app>.yaml) and app
# records, exported to Jaeger (tools/jaeger), which `make run` and the e2e
# suite start: all of them in development. The bench sets its own.
TRACE_SAMPLING ?= 1
export DAPR_TRACE_SAMPLING_RATE := $(TRACE_SAMPLING)
# Where the apps send their spans (Jaeger's OTLP/gRPC port; the sidecars'
# Configurations name it too).
export OTEL_EXPORTER_OTLP_ENDPOINT := http://127.0.0.1:4317
# The brokers the event flow is proven on by `make test`.
BROKERS  := redis rabbitmq jetstream

# Prometheus' own default, 9090, is the gateway sidecar's metrics port
# (daprd's default, kept so local and cluster sidecars agree); the sidecars
# of replicas take 9090-9186.
PROMETHEUS_PORT := 9190

GO_MODULES := $(shell go work edit -json | sed -n 's/.*"DiskPath": "\(.*\)".*/\1/p')

.PHONY: help run status test build web chromium config-docs lint openapi-lint api-docs api-client api-client-check daprd sentry prepare infra unit alerts fuzz e2e e2e-brokers chaos bench bench-smoke clean seed mailpit jaeger devsink stripelocal paypallocal stripe-mock

## help: list the targets with what each does
help:
	@echo "Targets (make <target>; variables such as PUBSUB, STATE, REPLICAS are described in the Makefile):"
	@awk '/^## [a-z-]+:/ { sub(/^## /, ""); name = $$1; sub(/:$$/, "", name); sub(/^[a-z-]+: */, ""); \
	  printf "  %-17s %s\n", name, $$0; next } \
	  /^## / && name { sub(/^## /, ""); printf "  %-17s %s\n", "", $$0; next } { name = "" }' $(MAKEFILE_LIST)

## run: build what is missing, then start Dapr Sentry and every service with
## its sidecar (mTLS, access control), plus mailpit (the SMTP server), the
## SMS/push sink, the Stripe and PayPal emulators, Prometheus (scraping every app and
## sidecar, replicas included, with the alert rules) and Jaeger (every
## app's and sidecar's spans), stopped with it. Always through
## tools/runner: the Dapr CLI 1.14 cannot run sidecars with mTLS locally.
run: build daprd sentry prepare infra mailpit jaeger devsink stripelocal paypallocal
	@echo "Gateway: http://127.0.0.1:3000  (dev admin credentials: $(RUN_DIR)/secrets.json)"
	@echo "Shop:    http://127.0.0.1:3000/  (make seed fills the catalog)"
	@echo "Traces:  http://127.0.0.1:16686  (the trace viewer, #/trace/<id> opens one; Jaeger's API under /api)"
	@echo "Mail UI: http://127.0.0.1:8025  SMS/push sink: http://127.0.0.1:8090/messages"
	@echo "PayPal:  http://127.0.0.1:12181  (the local emulator; buyers approve at its /checkoutnow page)"
	@echo "Metrics: http://127.0.0.1:$(PROMETHEUS_PORT)  (Prometheus: targets at /targets, alerts at /alerts)"
	@# Prometheus scrapes every instance: the runner adds the further ones
	@# of REPLICAS to a copy of deploy/observability/prometheus.yml.
	@$(BIN)/runner prometheus -f dapr.yaml $(if $(REPLICAS),-replicas $(REPLICAS)) \
	  -o $(RUN_DIR)/prometheus.yml deploy/observability/prometheus.yml
	@# The dev servers run in sessions of their own, so that Ctrl-C reaches
	@# only the runner: the apps still export their last spans while they
	@# stop, and the servers are stopped once it has ended.
	@set -a; source $(RUN_DIR)/dev.env; set +a; \
	setsid $(BIN)/mailpit --smtp 127.0.0.1:1025 --listen 127.0.0.1:8025 --smtp-auth-file $(RUN_DIR)/smtp-auth --smtp-auth-allow-insecure \
	  >$(RUN_DIR)/mailpit.log 2>&1 & mailpit=$$!; \
	setsid $(BIN)/devsink -addr 127.0.0.1:8090 >$(RUN_DIR)/devsink.log 2>&1 & devsink=$$!; \
	setsid $(BIN)/stripelocal -addr 127.0.0.1:12180 -secrets $(RUN_DIR)/secrets.json >$(RUN_DIR)/stripelocal.log 2>&1 & stripelocal=$$!; \
	setsid $(BIN)/paypallocal -addr 127.0.0.1:12181 -secrets $(RUN_DIR)/secrets.json -ca $(RUN_DIR)/paypal-ca.pem \
	  >$(RUN_DIR)/paypallocal.log 2>&1 & paypallocal=$$!; \
	setsid prometheus --config.file=$(RUN_DIR)/prometheus.yml --web.listen-address=127.0.0.1:$(PROMETHEUS_PORT) \
	  --storage.tsdb.path=$(RUN_DIR)/prometheus >$(RUN_DIR)/prometheus.log 2>&1 & prometheus=$$!; \
	setsid $(BIN)/jaeger --config tools/jaeger/config.yaml >$(RUN_DIR)/jaeger.log 2>&1 & jaeger=$$!; \
	trap 'kill $$mailpit $$devsink $$stripelocal $$paypallocal $$prometheus $$jaeger 2>/dev/null || true' EXIT; \
	$(BIN)/runner -f dapr.yaml -daprd "$(DAPRD)" $(SIDECAR_SECURITY) $(SWAP_RESOURCES) $(if $(REPLICAS),-replicas $(REPLICAS))

## status: what is up of the system `make run` started (same PUBSUB and
## REPLICAS): each app's readiness and its sidecar, the dependencies and
## dev servers, the UIs' URLs; exits 1 if anything is down
status:
	@go build -trimpath -o $(BIN)/ ./tools/runner
	@$(BIN)/runner status -f dapr.yaml -pubsub $(PUBSUB) $(if $(REPLICAS),-replicas $(REPLICAS))

## test: lint, unit and integration tests, the alert rules' tests, the
## end-to-end suite, then the event flow on every broker and the PostgreSQL
## state stores, and a short run of the bench so that it cannot rot
test: lint unit alerts fuzz e2e e2e-brokers bench-smoke

## build: compile every service and the local runner into .bin/, and
## build the shop (web/dist) when its sources changed
build: web
	@mkdir -p $(BIN)
	go build -trimpath -o $(BIN)/ $(addprefix ./services/,$(SERVICES)) ./tools/runner

## config-docs: regenerate the configuration reference (docs/configuration)
## from the settings' struct tags; tests fail while it is out of date
config-docs:
	UPDATE_CONFIG_DOCS=1 go test -count=1 -run '^TestConfigurationReference$$' ./services/platform/config $(addprefix ./services/,$(SERVICES))

# The shop (web/): packages pinned by its package-lock.json, installed again
# only when that changes; built again only when a source, its config or the
# OpenAPI document its types come from changed. No browser is downloaded:
# the journeys run in Debian's Chromium (chromium).
WEB := web
# One build writes both web/dist (the shop and the console, which the
# gateway serves) and web/dist-traces (the trace viewer Jaeger serves).
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/index.html $(WEB)/admin $(WEB)/traces $(WEB)/vite.config.ts $(WEB)/tsconfig.json -type f ! -name schema.d.ts 2>/dev/null) \
               services/gateway/internal/openapi/openapi.yaml
$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
$(WEB)/dist/index.html: $(WEB_SOURCES) $(WEB)/node_modules/.package-lock.json
	cd $(WEB) && npm run --silent build
# The build writes dist-traces after dist, so one build satisfies both;
# dist-traces alone missing or older builds again. (Not a grouped target,
# `&:`: that needs GNU make 4.3, and the make macOS ships is older.)
$(WEB)/dist-traces/index.html: $(WEB)/dist/index.html
	cd $(WEB) && npm run --silent build

## web: build the shop the gateway serves at / into web/dist and the trace
## viewer Jaeger serves into web/dist-traces (npm, once per change of
## their sources)
web: $(WEB)/dist/index.html $(WEB)/dist-traces/index.html

## chromium: install Debian's Chromium, which the shop's browser tests
## drive, when it is missing
CHROMIUM ?= /usr/bin/chromium
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "chromium: installing Debian's package"; \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq chromium; \
	fi

## mailpit: install the dev SMTP server (web UI and API on :8025) once
mailpit: $(BIN)/mailpit
$(BIN)/mailpit:
	GOBIN=$(CURDIR)/$(BIN) go install github.com/axllent/mailpit@v1.27.11

## jaeger: build Jaeger v2 (tools/jaeger pins it, outside go.work like the
## sidecar: its dependency graph is the OpenTelemetry Collector's) once,
## again when its pin changes, and the trace viewer it serves at :16686
## (web/dist-traces: its Go module ships no UI assets, and Jaeger does not
## start without the directory its config names)
jaeger: $(BIN)/jaeger $(WEB)/dist-traces/index.html
$(BIN)/jaeger: tools/jaeger/go.mod tools/jaeger/go.sum
	@mkdir -p $(BIN)
	cd tools/jaeger && GOWORK=off go build -trimpath -ldflags "-s -w" -o $(CURDIR)/$(BIN)/jaeger github.com/jaegertracing/jaeger/cmd/jaeger

## stripe-mock: install Stripe's mock server (its OpenAPI spec checks the
## requests of the payments contract test) once
stripe-mock: $(BIN)/stripe-mock
$(BIN)/stripe-mock:
	GOBIN=$(CURDIR)/$(BIN) go install github.com/stripe/stripe-mock@v0.203.0

## devsink: build the stand-in SMS and push provider
devsink:
	@mkdir -p $(BIN)
	go build -trimpath -o $(BIN)/ ./tools/devsink

## stripelocal: build the Stripe emulator the stripe HTTPEndpoint points at
stripelocal:
	@mkdir -p $(BIN)
	go build -trimpath -o $(BIN)/ ./tools/stripelocal

## paypallocal: build the PayPal emulator the paypal HTTPEndpoint points at
paypallocal:
	@mkdir -p $(BIN)
	go build -trimpath -o $(BIN)/ ./tools/paypallocal

## lint: gofmt and go vet over every module, the OpenAPI document
## through the linter (openapi-lint), and the Go client generated from it
## (api-client-check)
lint: openapi-lint api-client-check
	@unformatted=$$(gofmt -l $(GO_MODULES) tools/daprd); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet $(addsuffix /...,$(GO_MODULES))

# The API document's tools (the linter, the Redoc bundle of /api/docs),
# pinned by tools/apidocs/package-lock.json and installed from it.
APIDOCS := tools/apidocs
REDOC_BUNDLE := services/gateway/internal/apidocs/redoc.standalone.js
$(APIDOCS)/node_modules/.package-lock.json: $(APIDOCS)/package.json $(APIDOCS)/package-lock.json
	cd $(APIDOCS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

## openapi-lint: lint the public API's OpenAPI document with Redocly's
## recommended rules (tools/apidocs/redocly.yaml); any warning fails. Also
## checks that the vendored Redoc bundle is the pinned one (api-docs).
openapi-lint: $(APIDOCS)/node_modules/.package-lock.json
	@cd $(APIDOCS) && out=$$(node_modules/.bin/redocly lint --format=stylish --max-problems=1000 2>&1) \
	  || { echo "$$out"; exit 1; }; \
	if grep -q ' warning ' <<<"$$out"; then echo "$$out"; echo "openapi-lint: warnings fail too"; exit 1; fi; \
	echo "openapi-lint: $$(grep -c 'operationId:' ../../services/gateway/internal/openapi/openapi.yaml) operations, no error, no warning"
	@cmp -s $(APIDOCS)/node_modules/redoc/bundles/redoc.standalone.js $(REDOC_BUNDLE) || \
	  { echo "$(REDOC_BUNDLE) is not the pinned Redoc's: run make api-docs"; exit 1; }

## api-docs: vendor the pinned Redoc bundle that the gateway serves at
## /api/docs (compiled into it, so that no page loads a script from elsewhere)
api-docs: $(APIDOCS)/node_modules/.package-lock.json
	cp $(APIDOCS)/node_modules/redoc/bundles/redoc.standalone.js $(REDOC_BUNDLE)

# The public API's Go client (services/apiclient), which the e2e suite and
# the seed call the API with: generated by oapi-codegen, pinned here and run
# from the module cache.
OAPI_CODEGEN := go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2
APICLIENT := services/apiclient
OPENAPI := services/gateway/internal/openapi/openapi.yaml

## api-client: generate the Go client of the public API (services/apiclient)
## from the OpenAPI document again, after changing the document
api-client:
	$(OAPI_CODEGEN) -config $(APICLIENT)/oapi-codegen.yaml -o $(APICLIENT)/client.gen.go $(OPENAPI)

## api-client-check: fail while the Go client differs from what the OpenAPI
## document generates
api-client-check:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(OAPI_CODEGEN) -config $(APICLIENT)/oapi-codegen.yaml -o "$$tmp/client.gen.go" $(OPENAPI); \
	cmp -s "$$tmp/client.gen.go" $(APICLIENT)/client.gen.go || \
	  { echo "$(APICLIENT)/client.gen.go is not what the OpenAPI document generates: run make api-client"; exit 1; }

## daprd: build the Dapr sidecar once (its own pinned module, outside go.work)
DAPRD_SOURCE := $(shell cat tools/daprd/go.mod tools/daprd/go.sum $$(find tools/daprd -name '*.go' | sort) | sha256sum | cut -c1-16)
daprd:
	@if [ ! -x "$(DAPRD)" ] || [ "$$(cat "$(DAPRD).source" 2>/dev/null)" != "$(DAPRD_SOURCE)" ]; then \
	  mkdir -p "$(dir $(DAPRD))"; \
	  echo "daprd: building Dapr $(DAPR_VERSION)'s sidecar from source into $(DAPRD)"; \
	  echo "daprd: the first time this downloads about 2 GB of modules and takes around ten minutes"; \
	  tools/dev/build-progress.sh daprd tools/daprd -trimpath \
	    -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$(DAPR_VERSION)" -o "$(abspath $(DAPRD))" . ; \
	  echo "$(DAPRD_SOURCE)" > "$(DAPRD).source"; \
	fi

## sentry: build Dapr Sentry once, from the module daprd is built from
sentry: $(SENTRY)
$(SENTRY):
	@mkdir -p $(dir $(SENTRY))
	cd tools/daprd && GOWORK=off go build -trimpath \
	  -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$(DAPR_VERSION)" -o "$(SENTRY)" github.com/dapr/dapr/cmd/sentry

## prepare: dev secrets and API tokens
prepare:
	@tools/dev/secrets.sh $(RUN_DIR)

## infra: make sure PostgreSQL, Redis, RabbitMQ and NATS JetStream are running
infra:
	@tools/dev/infra.sh

## unit: unit and integration tests of every module (real PostgreSQL,
## Redis and Stripe's mock server), with the race detector
unit: infra stripe-mock
	go test -race -count=1 $(addsuffix /...,$(filter-out ./tests,$(GO_MODULES)))
	cd tools/daprd && GOWORK=off go test -race -count=1 ./nrcache
	# The sidecar's own component code (RabbitMQ against the local broker,
	# SMTP against a test server); not under -race, which would rebuild all
	# of Dapr instrumented.
	cd tools/daprd && GOWORK=off go test -count=1 .

## alerts: check the local Prometheus config and its rules, then run the
## rules' unit tests (deploy/observability/alerts_test.yml) with promtool.
## (Debian's build has no Kubernetes discovery to check the cluster's
## config with; the deploy tests read that one.)
alerts: infra
	promtool check config deploy/observability/prometheus.yml
	promtool test rules deploy/observability/alerts_test.yml

## fuzz: each fuzz target of the gateway's edge (request-target
## canonicalisation, route matching, the whole gate, the shop's files) for FUZZTIME
FUZZTIME ?= 15s
FUZZ_TARGETS := canon:FuzzParse routes:FuzzMatch edge:FuzzGate web:FuzzServe
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		go test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) ./services/gateway/internal/$${t%%:*} || exit 1; \
	done

## e2e: the end-to-end suite, the chaos suite's single pass over every
## fault included, and the shop's journeys in Chromium (Playwright)
e2e: build daprd sentry prepare infra mailpit jaeger devsink stripelocal paypallocal chromium
	cd tests && DAPRD="$(DAPRD)" SENTRY="$(SENTRY)" CHROMIUM="$(CHROMIUM)" PUBSUB=$(PUBSUB) STATE=$(STATE) CHAOS_DURATION= \
	  go test -race -count=1 -timeout 25m ./...

## e2e-brokers: the event-flow tests (and the dead letters of an exhausted
## delivery) once per broker, with the chaos suite's single pass on each
## broker but Redis (e2e has it), then the state-store
## tests (and the auth flow, which uses the denylist) on PostgreSQL; each
## run prints its time
e2e-brokers: build daprd sentry prepare infra mailpit jaeger devsink stripelocal paypallocal
	@cd tests; for broker in $(BROKERS); do \
	  echo "== event flow on $$broker"; SECONDS=0; \
	  chaos='|^TestChaos$$'; [ $$broker = redis ] && chaos=; \
	  DAPRD="$(DAPRD)" SENTRY="$(SENTRY)" PUBSUB=$$broker STATE=redis CHAOS_DURATION= go test -race -count=1 -timeout 25m \
	    -run "TestSystem|TestEventFlow|TestDeadLetters|TestStateStore$$chaos" ./e2e || exit 1; \
	  echo "== event flow on $$broker: passed in $${SECONDS}s"; \
	done; \
	echo "== state stores on postgresql"; \
	DAPRD="$(DAPRD)" SENTRY="$(SENTRY)" PUBSUB=redis STATE=postgresql go test -race -count=1 -timeout 10m \
	  -run 'TestSystem|TestStateStore|TestAuthFlow' ./e2e

## bench: boot the system and the floor (a trivial handler behind two
## sidecars), load reads, an authenticated read and checkouts to paid, and
## print the figures with their ratios to the floor and the CPU each process
## spent per request (about 3 minutes; BENCH_FLAGS adds tools/bench flags)
BENCH_FLAGS ?=
# The bench measures the system untraced by default, as a production
# deployment sampling a small share would nearly be; with
# BENCH_TRACE_SAMPLING=1 (with Jaeger running, as under `make run`) it
# measures tracing's cost instead.
BENCH_TRACE_SAMPLING ?= 0
bench: build daprd sentry prepare infra mailpit devsink stripelocal
	go build -trimpath -o $(BIN)/ ./tools/bench
	DAPR_TRACE_SAMPLING_RATE=$(BENCH_TRACE_SAMPLING) $(BIN)/bench -daprd "$(DAPRD)" -sentry "$(SENTRY)" -pubsub $(PUBSUB) -state $(STATE) $(BENCH_FLAGS)

## bench-smoke: the bench, short (about 30 s of load): proves it still runs
bench-smoke:
	$(MAKE) bench BENCH_FLAGS="-smoke $(BENCH_FLAGS)"

## chaos: the chaos suite alone, on PUBSUB: a checkout load while each
## fault is injected in turn, the faults repeated until CHAOS_DURATION is
## spent; then the invariants, and the fault table
CHAOS_DURATION ?= 5m
chaos: build daprd sentry prepare infra mailpit jaeger devsink stripelocal paypallocal
	cd tests && DAPRD="$(DAPRD)" SENTRY="$(SENTRY)" PUBSUB=$(PUBSUB) STATE=$(STATE) CHAOS_DURATION=$(CHAOS_DURATION) \
	  go test -race -count=1 -timeout 2h -v -run '^TestChaos$$' ./e2e

## clean: remove the built binaries and the dev secrets and state (.bin, .run)
clean:
	rm -rf $(BIN) $(RUN_DIR)

## seed: load categories and a few thousand products into the running system, through the gateway
seed:
	cd tools/seed && go run . -gateway http://127.0.0.1:3000 -secrets ../../$(RUN_DIR)/secrets.json

.PHONY: admin-token
## admin-token: print (last line) a fresh SUPER_ADMIN access token from the running system
admin-token:
	@tools/dev/admin-token.sh $(RUN_DIR)/secrets.json http://127.0.0.1:3000
