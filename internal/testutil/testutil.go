// Package testutil holds helpers shared by lineside's tests: the repository
// root, the ONNX Runtime library fetched by `make setup`, free loopback ports
// and a real mosquitto broker started per test.
package testutil

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot returns the directory holding go.mod, found by walking up from the
// working directory of the test.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testutil: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// ORTLibrary returns the path of the ONNX Runtime shared library installed by
// `make setup` for this machine's architecture. The test fails, not skips,
// when it is missing: `make test` always runs set-up first.
func ORTLibrary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("LINESIDE_TEST_ORT_LIBRARY"); p != "" {
		return p
	}
	arch := map[string]string{"amd64": "linux-x64", "arm64": "linux-arm64"}[runtime.GOARCH]
	p := filepath.Join(RepoRoot(t), "third_party", "onnxruntime", arch, "libonnxruntime.so.1")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("ONNX Runtime library missing (run `make setup`): %v", err)
	}
	return p
}

// Path joins elems onto the repository root.
func Path(t testing.TB, elems ...string) string {
	t.Helper()
	return filepath.Join(append([]string{RepoRoot(t)}, elems...)...)
}

// FreePort returns a TCP port on 127.0.0.1 that was free when asked.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreeAddr returns "127.0.0.1:PORT" for a port that was free when asked.
func FreeAddr(t testing.TB) string {
	return fmt.Sprintf("127.0.0.1:%d", FreePort(t))
}
