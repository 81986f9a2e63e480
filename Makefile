# lineside — build, test, run. Every target that needs the toolchain, OpenCV,
# mosquitto or ONNX Runtime runs `setup` first, which installs only what is
# missing (scripts/setup.sh).

GO        ?= go
BIN       := bin/lineside
PKGS      := ./...
GOFLAGS_TEST ?= -count=1 -timeout 15m

.PHONY: all setup build run test bench models vet fmt clean

all: build

setup:
	@scripts/setup.sh

build: setup
	$(GO) build -o $(BIN) ./cmd/lineside

# The agent on configs/demo.yaml with a local broker (started when none listens).
run: build
	@scripts/run-demo.sh

test: setup
	$(GO) vet $(PKGS)
	$(GO) test $(GOFLAGS_TEST) $(PKGS)
	# gocv counts live Mats only with -tags matprofile: the reconnect leak test again, counting them.
	$(GO) test $(GOFLAGS_TEST) -tags matprofile -run 'TestReconnectsDoNotLeak' ./camera/stream/

# Benchmarks print `bench: NAME value=… limit=… ratio=…` lines (DESIGN.md).
bench: setup
	@$(GO) test -count=1 -tags bench -run '^TestBench' -timeout 30m $(PKGS) | grep -E '^(bench:|FAIL|ok|---)' || true

# Regenerates the reference models end to end: data from the simulator,
# training with PyTorch (Debian python3-torch), export to ONNX with metadata.
models: build
	@scripts/make-models.sh

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -l -w .

clean:
	rm -rf bin var
