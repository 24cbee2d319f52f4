# TensorWire: `make serve` serves examples/models on 127.0.0.1:7443; `make test` runs every test.
SWIFT      ?= swift
HOST       ?= 127.0.0.1
PORT       ?= 7443
MODELS     ?= examples/models
CERTS      ?= certs/dev
# The engine target adds -target-cpu native itself in release builds (Package.swift).
RELEASE    := $(SWIFT) build -c release
BIN        := .build/release

.PHONY: all deps build certs serve test test-tsan bench fixtures clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(RELEASE)

certs: deps
	@certs/make-dev-certs.sh $(CERTS)

serve: build certs
	$(BIN)/tensorwire-server --models $(MODELS) --host $(HOST) --port $(PORT) \
	    --cert $(CERTS)/server.pem --key $(CERTS)/server-key.pem --ca $(CERTS)/ca.pem \
	    --client-auth optional

# The allocation probe is measured as shipped: a release build (see SteadyStateAllocationTests).
test: deps
	$(SWIFT) build --build-tests
	$(RELEASE) --product tensorwire-alloc-probe
	$(SWIFT) test --skip-build --parallel

test-tsan: deps
	$(RELEASE) --product tensorwire-alloc-probe
	$(SWIFT) test --sanitize=thread

bench: build certs
	$(BIN)/tensorwire-bench --models $(MODELS) --certs $(CERTS)
	Benchmarks/batching.sh
	$(BIN)/tensorwire-bench gemm
	python3 Benchmarks/engine/side_by_side.py

# Regenerates the example model and the engine fixtures (needs Python with numpy, onnx, onnxruntime).
fixtures:
	python3 examples/models/make_credit_model.py
	python3 Tests/Fixtures/make_op_fixtures.py

clean:
	rm -rf .build
