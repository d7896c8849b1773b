# das-partitioner: `make demo` runs the whole pipeline locally, `make test` runs every test,
# `make package` builds the Lambda zip, `make deploy` deploys a stack (README "Deploy").
# Everything they need is installed here: Python tools into venvs (pinned, from PyPI), crates
# from crates.io (Cargo.lock, --locked).

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
CARGO ?= cargo
DEMO_RECORDS ?= 1200
DEMO_OUT ?= out
# bench: the arguments of bench/bench.py (BENCH_ARGS=--small for a quick check) and its output.
BENCH_ARGS ?=
BENCH_OUT ?= out/bench
# Tool venvs of the deployment targets, each from its own pinned requirements file.
INFRA_VENV := .venv-infra
LAMBDA_VENV := .venv-lambda
DEPLOY_VENV := .venv-deploy
TEMPLATE := infra/template.yaml
# Where cargo writes (cargo-lambda honours CARGO_TARGET_DIR too).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
LAMBDA_ZIP := $(TARGET_DIR)/lambda/das-partitioner/bootstrap.zip

.PHONY: all build venv fmt-check clippy test test-rust test-kms test-kinesis test-demo test-infra test-readme lint-infra demo install soak \
	fixtures package deploy measure clean bench test-bench test-bench-reference fuzz-build fuzz-smoke

all: build

build:
	$(CARGO) build --locked --release --bins

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(VENV)/.installed

$(INFRA_VENV)/.installed: requirements-infra.txt
	python3 -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-infra.txt
	touch $@

$(LAMBDA_VENV)/.installed: requirements-lambda.txt
	python3 -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-lambda.txt
	touch $@

$(DEPLOY_VENV)/.installed: requirements-deploy.txt
	python3 -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-deploy.txt
	touch $@

fmt-check:
	$(CARGO) fmt --all -- --check
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml -- --check

clippy:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

# Unit and integration tests: the committed fixtures, and the generator (samples/das_stream.py,
# in the venv) for the replay, soak and log tests.
test-rust: venv
	$(CARGO) test --locked --workspace

# aws-sdk-kms against a real KMS emulator (moto), and KMS faults injected in front of it by
# scripts/kms-faults.py; both started on free loopback ports and stopped afterwards, also when
# a test fails. `dasp replay` from and to moto's S3.
test-kms: venv
	scripts/with-moto.sh scripts/with-kms-faults.sh \
		$(CARGO) test --locked --test it -- --ignored --test-threads 2 kms:: replay::

# The handler over 200 consecutive ~1 MB invocations in one process (tests/it/soak.rs): memory,
# key cache and time per invocation stay flat; prints the figures. `make test` runs ~100 KB ones.
SOAK_SCALE ?= 14
soak:
	DASP_SOAK_SCALE=$(SOAK_SCALE) $(CARGO) test --locked --test it soak::soak_run -- --ignored \
		--exact --nocapture

# `dasp tail` and `dasp capture` against moto's Kinesis (scripts/with-moto.sh), with the
# generator's fixtures put on streams of two shards, a split shard among them.
test-kinesis: venv
	scripts/with-moto.sh $(CARGO) test --locked --test it tail:: -- --ignored --test-threads 2

# A small demo end to end, checked against the generator's ground truth.
test-demo: venv build
	DEMO_RECORDS=120 DEMO_OUT=target/demo-test scripts/demo.sh

# The deployment template, offline: cfn-lint (no rule ignored), checkov (skips justified in the
# template), the named queries generated from infra/athena/, and tests/it/infra.rs (template
# vs the crate's partition keys, classes, KMS context, local S3 layout, settings, metrics).
lint-infra: $(INFRA_VENV)/.installed
	$(INFRA_VENV)/bin/cfn-lint $(TEMPLATE)
	$(INFRA_VENV)/bin/checkov --file $(TEMPLATE) --framework cloudformation --skip-download \
		--compact --quiet
	python3 scripts/sync-athena-queries.py --check

test-infra: lint-infra
	$(CARGO) test --locked --test it infra::

# The commands of README.md's "Try it" section, as written (the sample's test keys offline, then
# generated traffic against the KMS emulator).
test-readme: venv build
	scripts/try-readme.sh

test: fmt-check clippy test-rust test-kms test-kinesis test-demo test-infra test-readme test-bench \
	fuzz-smoke

demo: venv build
	DEMO_RECORDS=$(DEMO_RECORDS) DEMO_OUT=$(DEMO_OUT) scripts/demo.sh

# Coverage-guided fuzzing (fuzz/README.md): cargo-fuzz (installed here, pinned) builds the
# targets with libFuzzer; the nightly-only flags it passes are allowed on this stable toolchain
# by RUSTC_BOOTSTRAP. `fuzz-smoke` (part of `make test`) runs each target FUZZ_SECONDS on seeds
# made from the fixtures, plus every past finding, and prints executions/s and coverage;
# `make fuzz-smoke FUZZ_TARGETS=record FUZZ_SECONDS=600` runs one target longer.
FUZZ_SECONDS ?= 20
# Empty: every target in fuzz/fuzz_targets.
FUZZ_TARGETS ?=
TOOLS := .tools
CARGO_FUZZ := $(TOOLS)/bin/cargo-fuzz
FUZZ_ENV := RUSTC_BOOTSTRAP=1 PATH="$(abspath $(TOOLS))/bin:$$PATH"

$(CARGO_FUZZ):
	$(CARGO) install cargo-fuzz --version 0.13.2 --locked --root $(TOOLS)

fuzz-build: $(CARGO_FUZZ)
	cd fuzz && $(CARGO) fetch --locked
	$(FUZZ_ENV) $(CARGO) fuzz build --sanitizer none --debug-assertions

fuzz-smoke: fuzz-build
	python3 fuzz/seeds.py
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" scripts/fuzz-smoke.sh

# das-partitioner against the Python reference of the AWS sample Lambdas and against the floor
# (in-process, and as a whole process timed with the margins), on the same generated batches,
# KMS through a stand-in with 5 ms latency (bench/README.md, BENCHMARKS.md). Prints ratios
# measured side by side, each with its bootstrap interval; about 20 minutes on 2 cores.
bench: venv build
	$(CARGO) bench --locked --bench pipeline --no-run
	$(PY) bench/bench.py --out-dir $(BENCH_OUT) $(BENCH_ARGS)

# bench/bench.py's arithmetic (bench/test_bench.py): the ratios' bootstrap intervals, what they
# say of the targets, and the table of the floor as a whole process.
test-bench: venv
	$(PY) -m unittest discover --start-directory bench --pattern 'test_*.py'

# The reference's results agree with the generator's ground truth (static keys, then KMS).
test-bench-reference: venv
	$(PY) bench/check_reference.py
	scripts/with-moto.sh $(PY) bench/check_reference.py --kms --records 200

# Regenerates the cross-implementation fixtures with the official Python ESDK.
fixtures: venv
	$(PY) tests/fixtures/esdk/make_fixtures.py

# The Lambda as deployed: arm64 (Graviton), provided.al2023, cross-compiled with cargo-lambda's
# zig toolchain; prints the zip's size. ARCH=x86-64 for x86_64 functions.
ARCH ?= arm64
package: $(LAMBDA_VENV)/.installed
	PATH="$(abspath $(LAMBDA_VENV))/bin:$$PATH" $(CARGO) lambda build --locked --release \
		--$(ARCH) --bin das-partitioner --output-format zip
	@python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("bootstrap", sys.argv[2])' \
		$(LAMBDA_ZIP) $(TARGET_DIR)/lambda/das-partitioner/unzipped
	@file $(TARGET_DIR)/lambda/das-partitioner/unzipped/bootstrap
	@echo "bootstrap: $$(stat -c %s $(TARGET_DIR)/lambda/das-partitioner/unzipped/bootstrap) bytes," \
		"$(LAMBDA_ZIP): $$(stat -c %s $(LAMBDA_ZIP)) bytes"

# The figures README "Deploy" > "Sizing" is based on: cold start, batch duration and memory of
# the release Lambda binary under a local Runtime API stand-in, output/input expansion, gzip.
measure: venv build
	scripts/measure-lambda.sh

# Deploys one stack (one DAS stream) with the SAM CLI: needs AWS credentials, asks for the
# parameters (README "Deploy"). sam build runs cargo lambda itself and expects ./target.
deploy: $(LAMBDA_VENV)/.installed $(DEPLOY_VENV)/.installed
	env -u CARGO_TARGET_DIR PATH="$(abspath $(LAMBDA_VENV))/bin:$$PATH" \
		$(DEPLOY_VENV)/bin/sam build --template-file $(TEMPLATE)
	$(DEPLOY_VENV)/bin/sam deploy --guided --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND

# dasp, its man pages and its bash/zsh/fish completions under PREFIX (default ~/.local): the
# pages and completions come from the same clap definitions as `dasp --help`.
PREFIX ?= $(HOME)/.local
DASP_BIN ?= $(TARGET_DIR)/release/dasp
install: build
	install -Dm755 $(DASP_BIN) $(PREFIX)/bin/dasp
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(DASP_BIN) install-assets --man-dir "$$tmp/man" --completions-dir "$$tmp/completions" && \
	install -Dm644 -t $(PREFIX)/share/man/man1 "$$tmp"/man/*.1 && \
	install -Dm644 "$$tmp/completions/dasp.bash" $(PREFIX)/share/bash-completion/completions/dasp && \
	install -Dm644 "$$tmp/completions/_dasp" $(PREFIX)/share/zsh/site-functions/_dasp && \
	install -Dm644 "$$tmp/completions/dasp.fish" $(PREFIX)/share/fish/vendor_completions.d/dasp.fish && \
	echo "installed $(PREFIX)/bin/dasp, its man pages (man dasp) and bash/zsh/fish completions"

clean:
	rm -rf $(DEMO_OUT) target/demo-test
