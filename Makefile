# The two commands a user needs: `make run` and `make test`. Both install what is missing first.
BUILD_DIR ?= build
SPEC ?= examples/etcd-register.yaml
JOBS ?= 2

.PHONY: deps build run test bench fuzz clean

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	$(BUILD_DIR)/faultline run $(SPEC)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j1

bench: build
	cmake --build $(BUILD_DIR) -j$(JOBS) --target benchmarks
	@for b in $(BUILD_DIR)/bench/bench_*; do echo "== $$b"; $$b; done

# Each libFuzzer target for FUZZ_SECONDS (default 60), built with clang in build-fuzz/ (fuzz/README.md).
fuzz: deps
	@fuzz/run.sh

clean:
	rm -rf $(BUILD_DIR)
