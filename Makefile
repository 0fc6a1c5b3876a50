# kura: thin wrapper over meson/ninja.  See README.md.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
DEMO_DIR   ?= demo-data

.PHONY: all build run test unit asan fuzz blackbox lint bench clean deps

all: build

deps:
	@scripts/install-deps.sh build

$(BUILD)/build.ninja:
	@scripts/install-deps.sh build
	meson setup $(BUILD) >/dev/null

build: $(BUILD)/build.ninja
	@scripts/install-deps.sh build
	ninja -C $(BUILD)

run:
	@scripts/install-deps.sh run
	@$(MAKE) --no-print-directory build
	@scripts/run-demo.sh $(BUILD)/kura $(DEMO_DIR)

# Everything: lint, unit (normal and ASan+UBSan), fuzzers, black-box tests.
test:
	@scripts/install-deps.sh test
	@scripts/test.sh

lint:
	@scripts/lint.sh

# Benchmarks against nginx on this box (issue 7); never part of make test.
# Builds build-bench and build-bench-noaudit itself.  BENCH_SECONDS etc.:
# see bench/run.py.
bench:
	@scripts/install-deps.sh bench
	/usr/bin/python3 bench/run.py

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) test-output
