# das-partitioner: `make demo` runs the whole pipeline locally, `make test` runs every test.
# Everything either needs is installed here: Python tools into .venv (pinned, from PyPI),
# crates from crates.io (Cargo.lock, --locked).

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
CARGO ?= cargo
DEMO_RECORDS ?= 1200
DEMO_OUT ?= out
# bench-reference: the arguments of bench/bench.py (default: a quick end-to-end run) and its output.
BENCH_REFERENCE_ARGS ?= --small
BENCH_OUT ?= out/bench-reference

.PHONY: all build venv fmt-check clippy test test-rust test-kms test-demo demo fixtures clean \
	bench-reference test-bench-reference

all: build

build:
	$(CARGO) build --locked --release --bins

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(VENV)/.installed

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --locked --all-targets -- -D warnings

# Unit and integration tests that need nothing but the committed fixtures.
test-rust:
	$(CARGO) test --locked

# aws-sdk-kms against a real KMS emulator (moto), started on a free loopback port and stopped
# afterwards, also when a test fails.
test-kms: venv
	scripts/with-moto.sh $(CARGO) test --locked --test it kms:: -- --ignored --test-threads 2

# A small demo end to end, checked against the generator's ground truth.
test-demo: venv build
	DEMO_RECORDS=120 DEMO_OUT=target/demo-test scripts/demo.sh

test: fmt-check clippy test-rust test-kms test-demo

demo: venv build
	DEMO_RECORDS=$(DEMO_RECORDS) DEMO_OUT=$(DEMO_OUT) scripts/demo.sh

# The Python reference of the AWS sample Lambdas against the same batches (bench/README.md):
# per-record cost at the margin, static keys and KMS (moto), cached and not, and dasp when built.
# Full run: make bench-reference BENCH_REFERENCE_ARGS="--runs 7" (after `make build`).
bench-reference: venv
	scripts/with-moto.sh $(PY) bench/bench.py --out-dir $(BENCH_OUT) $(BENCH_REFERENCE_ARGS)

# The reference's results agree with the generator's ground truth (static keys, then KMS).
test-bench-reference: venv
	$(PY) bench/check_reference.py
	scripts/with-moto.sh $(PY) bench/check_reference.py --kms --records 200

# Regenerates the cross-implementation fixtures with the official Python ESDK.
fixtures: venv
	$(PY) tests/fixtures/esdk/make_fixtures.py

clean:
	rm -rf $(DEMO_OUT) target/demo-test
