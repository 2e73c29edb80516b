# Thin wrapper over CMake. Targets: all (default), test, demo, sanitize, dist, clean, sharegpt (bench workload).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DEMO_DIR ?= $(HOME)/.cache/lightllm
DEMO_MODEL = $(DEMO_DIR)/SmolLM2-135M-Instruct.Q4_1.gguf

.PHONY: all deps configure test demo dist clean sharegpt sanitize

all: deps configure
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@third_party/install_deps.sh

configure:
	@if [ ! -f $(BUILD)/CMakeCache.txt ]; then cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS); fi

test: all
	@third_party/install_test_tools.sh
	@third_party/fetch_demo_model.sh $(DEMO_DIR)
	LIGHTLLM_DEMO_DIR=$(DEMO_DIR) $(BUILD)/lightllm_tests
	LIGHTLLM_DEMO_DIR=$(DEMO_DIR) LIGHTLLM_BINARY=$(BUILD)/lightllm python3 -m pytest -q tests/python

# Builds only the binary the demo runs (not the test suite).
demo: deps configure
	cmake --build $(BUILD) -j $(JOBS) --target lightllm
	@third_party/fetch_demo_model.sh $(DEMO_DIR)
	$(BUILD)/lightllm generate --chat -m $(DEMO_MODEL) -n 64 -p "What is the capital of France?"

sharegpt: all
	@bench/prepare_sharegpt.sh $(DEMO_DIR) $(BUILD)

# CI's second step (.ci/run, README "Tests"): ASan + UBSan build of the CPU
# test suite in build-sanitize/ and a run of every case but SANITIZE_EXCLUDE:
# the two that run the 135M-parameter demo model forward over many prompts
# (each alone ran past 5 minutes under ASan). `make sanitize SANITIZE_EXCLUDE=`
# runs them too.
SANITIZE_EXCLUDE ?= kv_int8 quality: SmolLM2*,smollm2: CPU greedy*
sanitize: deps
	@LIGHTLLM_DEMO_DIR=$(DEMO_DIR) third_party/sanitize.sh build-sanitize '' '$(SANITIZE_EXCLUDE)'

dist: all
	@third_party/make_dist.sh $(BUILD) dist

clean:
	rm -rf $(BUILD) dist
