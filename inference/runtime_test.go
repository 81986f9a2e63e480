package inference

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lineside/lineside/internal/testutil"
)

func TestLibraryCandidates(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wd := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(wd, 0o755); err != nil {
		t.Fatal(err)
	}
	tp := func(dir string) string {
		return filepath.Join(dir, "third_party", "onnxruntime", "linux-arm64", "libonnxruntime.so.1")
	}
	got := libraryCandidates("", "/env/libort.so", "/opt/lineside/bin/lineside", wd, "arm64")
	want := []string{
		"/env/libort.so",
		"/opt/lineside/lib/lineside/libonnxruntime.so.1",
		"/opt/lineside/bin/libonnxruntime.so.1",
		tp(wd), tp(filepath.Join(root, "a")), tp(root),
		"/usr/lib/lineside/libonnxruntime.so.1",
		"/usr/local/lib/libonnxruntime.so.1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("candidates:\n got %q\nwant %q", got, want)
	}

	if got := libraryCandidates("/cfg/lib.so", "/env/libort.so", "/x/y", wd, "amd64"); !reflect.DeepEqual(got, []string{"/cfg/lib.so"}) {
		t.Errorf("configured path: got %q, want only it", got)
	}

	t.Setenv(LibraryEnv, "/from/env/libonnxruntime.so.1")
	got = LibraryCandidates("")
	if len(got) < 4 || got[0] != "/from/env/libonnxruntime.so.1" || got[len(got)-1] != "/usr/local/lib/libonnxruntime.so.1" {
		t.Errorf("LibraryCandidates(\"\") = %q", got)
	}
	repoLib := testutil.ORTLibrary(t)
	found := false
	for _, c := range got {
		found = found || c == repoLib
	}
	if !found && os.Getenv("LINESIDE_TEST_ORT_LIBRARY") == "" {
		t.Errorf("LibraryCandidates(\"\") = %q lacks the repository's %s", got, repoLib)
	}
}

func TestInitValidatesConfig(t *testing.T) {
	for _, cfg := range []RuntimeConfig{
		{IntraThreads: -1},
		{Providers: []string{"cpu", "gpu"}},
	} {
		if err := Init(cfg, nil); err == nil || !strings.Contains(err.Error(), "inference.") {
			t.Errorf("Init(%+v) = %v, want an error naming the key", cfg, err)
		}
	}
}

// initChildEnv marks the copy of the test binary that TestInitOnce starts:
// ONNX Runtime loads once per process, so the loading sequence is checked in
// a fresh process.
const initChildEnv = "LINESIDE_INFERENCE_INIT_CHILD"

func TestInitOnce(t *testing.T) {
	if os.Getenv(initChildEnv) == "1" {
		initSequence(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestInitOnce$", "-test.v")
	cmd.Env = append(os.Environ(), initChildEnv+"=1", "LINESIDE_TEST_ORT_LIBRARY="+testutil.ORTLibrary(t))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestInitOnce") {
		t.Fatalf("init sequence in a fresh process failed: %v\n%s", err, out)
	}
}

// initSequence runs in a process where ONNX Runtime is not yet loaded.
func initSequence(t *testing.T) {
	if RuntimeVersion() != "" {
		t.Fatal("RuntimeVersion before Init is not empty")
	}
	if _, err := LoadClassifier(defectModel(t), ClassifierOptions{}); err == nil || !strings.Contains(err.Error(), "not initialised") {
		t.Errorf("LoadClassifier before Init: %v, want 'not initialised'", err)
	}

	bogus := filepath.Join(t.TempDir(), "nowhere", "libonnxruntime.so.1")
	err := Init(RuntimeConfig{Library: bogus}, nil)
	if !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), bogus+": missing") {
		t.Fatalf("Init(bogus) = %v, want ErrLibraryNotFound naming %s as missing", err, bogus)
	}

	text := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.WriteFile(text, []byte("not a library\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = Init(RuntimeConfig{Library: text}, nil)
	if !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), text+": failed to load: ") {
		t.Fatalf("Init(text file) = %v, want 'failed to load' for %s", err, text)
	}
	t.Logf("error for a bad library:\n%v", err)

	// The search skips the unloadable library named by the environment and
	// finds the one under third_party/ above the working directory.
	t.Setenv(LibraryEnv, text)
	if err := Init(RuntimeConfig{}, nil); err != nil {
		t.Fatalf("Init with search: %v", err)
	}
	if v := RuntimeVersion(); !strings.HasPrefix(v, "1.24") {
		t.Errorf("RuntimeVersion() = %q, want 1.24.x", v)
	}
	if err := Init(RuntimeConfig{}, nil); err != nil {
		t.Errorf("second Init: %v, want no-op", err)
	}
	if err := Init(RuntimeConfig{Library: testutil.ORTLibrary(t)}, nil); err != nil {
		t.Errorf("Init with the loaded library: %v, want no-op", err)
	}
	if err := Init(RuntimeConfig{Library: text}, nil); err == nil || !strings.Contains(err.Error(), text) {
		t.Errorf("Init with another library after init = %v, want an error naming %s", err, text)
	}
}
