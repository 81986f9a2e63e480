# lineside — build, test, run. Every target that needs the toolchain, OpenCV,
# mosquitto or ONNX Runtime runs `setup` first, which installs only what is
# missing (scripts/setup.sh).

GO        ?= go
BIN       := bin/lineside
PKGS      := ./...
GOFLAGS_TEST ?= -count=1 -timeout 15m

.PHONY: all setup build run test chaos bench models vet fmt clean package package-test

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

# The crash and fault tests in full (make test runs their short versions):
# 100 SIGKILLs under load, a 10-minute broker outage, a 2-minute disk budget
# overflow, damaged stores, broker TLS/auth/ACL (cmd/lineside/chaos*_test.go).
chaos: setup
	$(GO) test -count=1 -tags chaos -timeout 90m -v -run 'TestChaos|TestDamagedStores|TestBrokerAuth' ./cmd/lineside/

# Benchmarks print `bench: NAME value=… limit=… ratio=…` lines (DESIGN.md).
bench: setup
	@scripts/bench.sh

# Regenerates the reference models end to end: data from the simulator,
# training with PyTorch (Debian python3-torch), export to ONNX with metadata.
models: build
	@scripts/make-models.sh

# Debian packages for amd64 and arm64 (cross-compiled) into build/dist, with
# nfpm (scripts/package.sh).
package: setup
	@scripts/package.sh

# Proof of the packages: the amd64 one installed, checked, upgraded and purged
# in a clean Debian root; the arm64 binary running an inference under
# qemu-user (scripts/package-test.sh).
package-test: package
	@scripts/package-test.sh

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -l -w .

clean:
	rm -rf bin var
