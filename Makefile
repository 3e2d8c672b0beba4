# cetool — the two fresh-machine commands are `make demo` and `make test`.
# Release build (the real-size goldens are slow in debug); -enable-testing for @testable imports.
SWIFT_FLAGS ?= -c release -Xswiftc -enable-testing
MODEL ?= .models/minilm-l6-ce

.PHONY: deps models build edge edge-check demo test test-arm64 bench sanitize fuzz hostile-corpus clean

deps:
	bash scripts/install_deps.sh

models:
	bash scripts/fetch_models.sh

build: deps
	swift build -c release

# The binary for an edge box: the Swift runtime linked in (--static-swift-stdlib), so the box needs only the C
# libraries (README, "Edge binary"); it also starts faster and maps less. .build-edge/cetool-edge (stripped) has
# the runtime commands on FoundationEssentials (no ICU); .build-edge/release/cetool is the full tool (bench uses it).
edge: deps
	swift build -c release --static-swift-stdlib --build-path .build-edge -Xlinker --no-export-dynamic
	strip -o .build-edge/cetool-edge .build-edge/release/cetool-edge
	@echo "cetool-edge: $$(stat -c %s .build-edge/release/cetool-edge) bytes, stripped $$(stat -c %s .build-edge/cetool-edge) bytes (.build-edge/cetool-edge)"

# Size <= 25 MB, no Swift / Foundation / ICU library in ldd, the same predict JSON as the full cetool, cold start.
edge-check: edge
	bash scripts/edge_check.sh

# Builds cetool and runs the seed's Retrieve & Re-Rank example on real text (scripts/demo.sh says what each model is).
demo: deps models build
	MODEL=$(MODEL) bash scripts/demo.sh

# Every test, incl. the real-size model's goldens (CETOOL_REQUIRE_MODELS makes a missing model a failure) and the
# ARM64 kernels under qemu (a missing cross toolchain a failure too).
test: deps models
	CETOOL_REQUIRE_MODELS=1 bash scripts/test_arm64.sh
	CETOOL_REQUIRE_MODELS=1 swift test $(SWIFT_FLAGS) --disable-swift-testing

# The ARM64 kernels (NEON, dotprod, i8mm) against their scalar twins, cross-compiled and run under qemu-user
# (scripts/test_arm64.sh): a few seconds; skips with a message when the toolchain is missing.
test-arm64:
	bash scripts/test_arm64.sh

# Side-by-side speed: PyTorch fp32, ONNX Runtime fp32/int8, cetool fp32/fp16/int8 on the same pairs
# (bench/README.md). Creates the reference venv (ref/) on first use; not part of the tests.
bench: deps models edge
	CETOOL=.build-edge/release/cetool bash bench/bench.sh $(BENCH_ARGS)

# Every test under AddressSanitizer (Swift and C targets), plus UndefinedBehaviorSanitizer on the C targets
# (swiftc has no -sanitize=undefined on Linux), in its own build folder. Not part of `make test` / CI (time).
sanitize: deps models
	CETOOL_REQUIRE_MODELS=1 ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 swift test -c release \
	    -Xswiftc -enable-testing --sanitize address -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined \
	    --scratch-path .build-sanitize --disable-swift-testing

# libFuzzer targets of Fuzz/ (scripts/fuzz.sh): FUZZ_TARGETS="safetensors torchzip unpickler tokenizer config artifact package",
# RUNS and SECONDS_PER_TARGET bound each. Findings land in Tests/HostileCorpusTests/FuzzRegressions/.
fuzz:
	bash scripts/fuzz.sh $(FUZZ_TARGETS)

# Rewrites the hostile-file corpus and its manifest (Tests/HostileCorpusTests/).
hostile-corpus:
	python3 scripts/make_hostile_corpus.py

clean:
	rm -rf .build .build-edge
