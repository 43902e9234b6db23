# allcnn — build, test and benchmark. `make help` lists the targets.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: help deps setup demo train train-fast paper build test check test-go test-race test-arm64 test-purego test-wasm simd simd-check vet fmt-check fuzz bench web test-browser test-ddp ort onnx-proto onnx-proto-check onnx-testdata

help:
	@echo "make demo    build and serve the browser demo with the bundled model (http://127.0.0.1:8080)"
	@echo "make train   train All-CNN-C with the paper's recipe (TRAINFLAGS='-width 0.5 ...')"
	@echo "make train-fast  train All-CNN-C with the fast recipe (about two hours on two cores; the bundled model's)"
	@echo "make paper   the paper's Table 3 in its short form (allcnn-train paper -short; PAPERFLAGS= for the full 350 epochs)"
	@echo "make deps    install the Debian packages the build and tests need (root; only what is missing)"
	@echo "make build   build the commands into bin/"
	@echo "make check   the whole test suite, with -race, no root: parts whose tools are missing say so and skip"
	@echo "make test    make deps, then make check (what CI runs)"
	@echo "make bench   kernel and BLAS benchmarks"
	@echo "make fuzz    fuzz the weight-file decoder for FUZZTIME (default 10m)"
	@echo "make web     build everything WebAssembly: the browser package and demo (dist/web) and the wasip1 reactor (dist/wasip1)"
	@echo "make test-browser  the browser tests (headless /usr/bin/chromium, playwright-core)"
	@echo "make test-ddp      the PyTorch twin under torchrun (2 gloo processes): its weight file in predict and the browser, DDP against one process"
	@echo "make simd    assemble the SIMD128 kernels (wasm/simd/simd128.wat) with wat2wasm"
	@echo "make ort     install ONNX Runtime (npm onnxruntime-node) in tools/ort for the ONNX tests"
	@echo "make onnx-proto     regenerate onnx/internal/onnxpb from Debian's onnx.proto (protoc, protoc-gen-go)"
	@echo "make onnx-testdata  regenerate the PyTorch nets of onnx/testdata (python3-torch)"

# Debian packages the build and the tests need; installs only what is missing
# (run as root). Go ≥ 1.26 and Node ≥ 20 come with the machine.
PACKAGES = gcc libopenblas-dev chromium wabt qemu-user protobuf-compiler python3-onnx python3-torch
deps:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

# setup is the old name of deps.
setup: deps

# The demo: builds the browser module with the bundled model and serves it.
ADDR ?= 127.0.0.1:8080
demo: deps web build
	bin/allcnn serve -addr $(ADDR) -dir $(WEB)

# Train All-CNN-C with the paper's recipe on the shared CIFAR-10 images;
# TRAINFLAGS adds or overrides flags (see bin/allcnn-train -help).
TRAINFLAGS ?=
train: deps build
	bin/allcnn-train $(TRAINFLAGS)

# The fast recipe (batch norm folded away, one-cycle, Nesterov, label
# smoothing): the bundled model's.
train-fast: deps build
	bin/allcnn-train -recipe fast $(TRAINFLAGS)

# The paper's Table 3, trained and tabulated (runs/paper/table.md).
PAPERFLAGS ?= -short
paper: deps build
	bin/allcnn-train paper $(PAPERFLAGS)

build:
	$(GO) build -o bin/ ./cmd/...

test: deps
	$(MAKE) check

# Everything make test runs, and the race detector, without root. Where a
# tool is missing (gcc and OpenBLAS for cgo, wat2wasm, node, chromium) the
# part that needs it prints "skip: …" and the rest runs.
check: fmt-check vet onnx-proto-check test-go test-race test-purego test-arm64 test-wasm test-browser test-ddp fuzz-ci

# Whether cgo can build (gcc and OpenBLAS's header): otherwise the native
# build is the pure-Go one, and test-go says so.
HAVE_CGO := $(shell command -v gcc >/dev/null 2>&1 && [ -e /usr/include/x86_64-linux-gnu/cblas.h -o -e /usr/include/cblas.h -o -e /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h ] && echo yes)
CGO_ENV := $(if $(HAVE_CGO),,CGO_ENABLED=0)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test-go: ort
	@[ -n "$(HAVE_CGO)" ] || echo "skip: cgo and OpenBLAS (no gcc or libopenblas-dev: make deps); the native tests run on the pure-Go build"
	$(CGO_ENV) $(GO) test -count=1 -timeout 30m ./...

# The race detector, on the short suite (-short leaves out the long
# training runs, which race instrumentation would make ten times longer) of
# the packages whose goroutines share memory: the application layer (a
# Model serialises its calls), the kernel's threading, the
# BLAS seam, the data set loaders, the commands. The wasm packages' tests
# run guest code, where the host has nothing to race; the AVX-512 Sgemm is
# assembly, which the detector does not see.
RACEPKGS = . ./kernel/... ./native ./format/... ./dataset/... ./optim/... ./trainer/... ./onnx/... ./cmd/... ./internal/atomicfile
test-race:
	@[ -n "$(HAVE_CGO)" ] || { echo "skip: -race needs cgo (gcc: make deps)"; exit 0; }; \
	$(GO) test -race -short -count=1 -timeout 30m $(RACEPKGS)

# The same suite without cgo: gonum's pure-Go BLAS instead of OpenBLAS.
test-purego:
	CGO_ENABLED=0 $(GO) test -count=1 ./kernel/... ./format/... ./native/...

# arm64, the pure-Go path (CGO_ENABLED=0) an Apple-silicon or Graviton user
# gets first: every command builds, and the short tests of the kernel, the
# format, the BLAS backends, the data sets and the trainer run under
# qemu-aarch64.
test-arm64:
	@command -v qemu-aarch64 >/dev/null || { echo "skip: qemu-aarch64 is missing (qemu-user: make deps): arm64 is not tested"; exit 0; }; \
	CGO_ENABLED=0 GOARCH=arm64 $(GO) build -o /dev/null ./cmd/... && \
	CGO_ENABLED=0 GOARCH=arm64 $(GO) test -short -count=1 -exec qemu-aarch64 ./kernel/... ./format/... ./native/... ./dataset/ ./optim/ ./trainer/

# The portable packages must build for both WebAssembly targets.
test-wasm: simd-check
	@command -v node >/dev/null || echo "skip: node is missing: the kernel's tests compiled to wasm do not run"
	GOOS=js GOARCH=wasm $(GO) build ./kernel/... ./format/... . ./wasm/simd/
	GOOS=wasip1 GOARCH=wasm $(GO) build ./kernel/... ./format/... . ./wasm/simd/
	GOOS=js GOARCH=wasm $(GO) vet ./wasm/js ./wasm/simd
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./wasm/wasip1 ./wasm/simd
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o /dev/null ./wasm/wasip1
	# The kernel's and the weight format's own tests, compiled to wasm and
	# run by Node (go_js_wasm_exec), where the wasm-only code paths live.
	if command -v node >/dev/null; then PATH="$(PATH):$$($(GO) env GOROOT)/lib/wasm" GOOS=js GOARCH=wasm $(GO) test -count=1 ./kernel/... ./format/...; fi

# The SIMD128 kernels: simd128.wasm is committed (so that building needs no
# wabt) and must be exactly what wat2wasm (WABT 1.0.32, Debian's wabt)
# makes of simd128.wat.
SIMD = wasm/simd/simd128
simd:
	wat2wasm $(SIMD).wat -o $(SIMD).wasm

simd-check:
	@command -v wat2wasm >/dev/null || { echo "skip: wat2wasm is missing (wabt: make deps): simd128.wasm is not checked against its source"; exit 0; }; \
	tmp=$$(mktemp) && trap 'rm -f $$tmp' EXIT && wat2wasm $(SIMD).wat -o $$tmp && \
	if ! cmp -s $$tmp $(SIMD).wasm; then \
		echo "$(SIMD).wasm is not what wat2wasm $$(wat2wasm --version) makes of $(SIMD).wat: run 'make simd' and commit both"; exit 1; \
	fi

FUZZTIME ?= 10m
fuzz:
	$(GO) test ./format/ -run '^$$' -fuzz FuzzUnmarshal -fuzztime $(FUZZTIME)

# Every fuzz target for FUZZCI each: go test -fuzz takes one target per
# invocation. FUZZCIMIN=0 turns off the minimizing of each new interesting
# input, which would take up most of a short run; a crasher is still
# written to the package's testdata/fuzz/, as found.
FUZZCI ?= 20s
FUZZCIMIN ?= 0
FUZZCIFLAGS = -run '^$$' -fuzztime $(FUZZCI) -fuzzminimizetime $(FUZZCIMIN)
.PHONY: fuzz-ci
fuzz-ci:
	GO=$(GO) tools/fuzz-ci.sh ./format FuzzUnmarshal $(FUZZCIFLAGS)
	GO=$(GO) tools/fuzz-ci.sh ./dataset FuzzLoadCIFAR $(FUZZCIFLAGS)
	GO=$(GO) tools/fuzz-ci.sh ./dataset FuzzLoadFolder $(FUZZCIFLAGS)
	GO=$(GO) tools/fuzz-ci.sh ./dataset FuzzLoadFolderTar $(FUZZCIFLAGS)
	GO=$(GO) tools/fuzz-ci.sh ./cmd/allcnn FuzzReadImage $(FUZZCIFLAGS)
	GO=$(GO) tools/fuzz-ci.sh ./onnx FuzzImport $(FUZZCIFLAGS)

bench:
	$(GO) test -run '^$$' -bench . -benchtime 5x ./kernel/ ./native/

# The browser package and demo: allcnn.wasm (GOOS=js), Go's wasm_exec.js,
# the SIMD128 kernels (simd128.wasm), the ES modules and types of js/, the demo page with its sample images, and a weight file: the
# trained models/allcnn-c.msgpack if present, else a random All-CNN-C of
# half width (the page says it is untrained).
WEB ?= dist/web
web:
	rm -rf $(WEB) && mkdir -p $(WEB)
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $(WEB)/allcnn.wasm ./wasm/js
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" $(SIMD).wasm $(WEB)/
	cp js/allcnn.js js/allcnn.d.ts js/instance.js js/worker.js js/package.json js/README.md $(WEB)/
	cp -r js/demo/* $(WEB)/
	if [ -f models/allcnn-c.msgpack ]; then cp models/allcnn-c.msgpack $(WEB)/model.msgpack; \
	else $(GO) run ./cmd/allcnn init -arch all-cnn-c -width 0.5 -o $(WEB)/model.msgpack; fi
	mkdir -p dist/wasip1
	GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -buildmode=c-shared -o dist/wasip1/allcnn.wasm ./wasm/wasip1

# Browser tests: node --test drives Debian's chromium through playwright-core
# against 'allcnn serve'. Needs: apt-get install chromium; Node >= 20.
test-browser:
	@if ! command -v node >/dev/null || [ ! -x /usr/bin/chromium ]; then \
		echo "skip: the browser tests need node and /usr/bin/chromium (make deps)"; \
	else $(MAKE) web && { [ -d js/node_modules ] || (cd js && npm ci --no-audit --no-fund); } && node --test js/test/*.test.mjs; fi

# The PyTorch twin past one machine (tools/torch/twin.py; python3-torch):
# torchrun starts two processes (gloo, localhost) that train a quarter-width
# All-CNN-C with the fast recipe for a few steps on the shared images and
# end in a weight file, which 'allcnn predict' (TestTwinModel) and the
# browser module must score as PyTorch does; then one process and two train
# the same steps without batch norm, dropout and augmentation, and
# check_ddp.py holds their weights equal. (--redirects and --tee are given
# as per-rank maps: torch 1.13's torchrun fails on Python 3.11 with their
# defaults.)
DATA ?= ../shared/data/cifar10-train-jpg.tar.gz
TORCHRUN = torchrun --standalone --nproc_per_node=2 --redirects 1:2 --tee 0:1
TWIN = tools/torch/twin.py -data $(DATA) -arch all-cnn-c -width 0.25 -per-class 40 -val 4 -batch 32 -threads 1 -allcnn bin/allcnn
test-ddp: build
	@if ! command -v torchrun >/dev/null || ! /usr/bin/python3 -c 'import torch, onnx' 2>/dev/null; then \
		echo "skip: torchrun, python3-torch or python3-onnx is missing (make deps): the PyTorch twin is not tested"; exit 0; fi; \
	if [ ! -f $(DATA) ]; then echo "skip: no CIFAR-10 images at $(DATA): the PyTorch twin is not tested"; exit 0; fi; \
	set -e; rm -rf dist/twin; \
	$(TORCHRUN) $(TWIN) -epochs 2 -warmup 1 -steps 3 -reference 8 -out dist/twin/ddp; \
	ALLCNN_TWIN_DIR=$(CURDIR)/dist/twin/ddp $(GO) test -count=1 -run TestTwinModel -v ./cmd/allcnn; \
	if command -v node >/dev/null && [ -x /usr/bin/chromium ] && [ -f dist/web/allcnn.wasm ]; then \
		ALLCNN_TWIN_DIR=$(CURDIR)/dist/twin/ddp node --test --test-name-pattern 'twin' js/test/browser.test.mjs; \
	else echo "skip: node, chromium or dist/web (make test-browser) is missing: the twin's file is not tried in the browser"; fi; \
	same="-recipe none -norm none -dropout 0,0 -no-augment -epochs 1 -steps 3 -lr 0.05"; \
	/usr/bin/python3 $(TWIN) $$same -out dist/twin/one; \
	$(TORCHRUN) $(TWIN) $$same -out dist/twin/two; \
	/usr/bin/python3 tools/torch/check_ddp.py dist/twin/one dist/twin/two

# ONNX Runtime's native CPU build for the onnx tests, in tools/ort: npm's
# onnxruntime-node, whose CPU binaries ship in the package (--ignore-scripts
# skips its install script, which only fetches GPU extras).
ort:
	@if ! command -v npm >/dev/null; then echo "skip: npm is missing: the ONNX Runtime tests do not run"; \
	elif [ ! -d tools/ort/node_modules/onnxruntime-node ]; then (cd tools/ort && npm ci --ignore-scripts --no-audit --no-fund) || \
		echo "skip: npm ci failed in tools/ort: the ONNX Runtime tests do not run"; fi

# ONNX's protocol buffer schema in Go, onnx/internal/onnxpb/onnx.pb.go:
# the onnx.proto of Debian's python3-onnx, compiled by protoc (Debian's
# protobuf-compiler) with protoc-gen-go at the version go.mod requires. The
# generated file is committed, so that building needs none of them.
ONNXPROTO = /usr/lib/python3/dist-packages/onnx/onnx.proto
ONNXPB = onnx/internal/onnxpb
ONNXGEN = $(GO) build -o $$tmp/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go && \
	protoc --plugin=protoc-gen-go=$$tmp/protoc-gen-go -I$(dir $(ONNXPROTO)) --go_out=$$out \
		--go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/allcnn/allcnn/$(ONNXPB) onnx.proto
onnx-proto:
	tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && out=$(ONNXPB) && $(ONNXGEN)

onnx-proto-check:
	@if ! command -v protoc >/dev/null || [ ! -f $(ONNXPROTO) ]; then \
		echo "skip: protoc or $(ONNXPROTO) is missing (protobuf-compiler, python3-onnx: make deps): onnx.pb.go is not checked against onnx.proto"; exit 0; fi; \
	tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && out=$$tmp && $(ONNXGEN) && \
	if ! cmp -s $$tmp/onnx.pb.go $(ONNXPB)/onnx.pb.go; then \
		echo "$(ONNXPB)/onnx.pb.go is not what $$(protoc --version) and protoc-gen-go make of $(ONNXPROTO): run 'make onnx-proto' and commit it"; exit 1; fi

# The PyTorch nets of the ONNX importer's tests and PyTorch's outputs for
# them (tools/onnx_nets.py; python3-torch and python3-onnx).
onnx-testdata:
	/usr/bin/python3 tools/onnx_nets.py onnx/testdata
