package dir_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/camera/dir"
	"github.com/lineside/lineside/internal/testutil"
)

// drop writes image i (64+i pixels wide, so frames tell which file they came
// from) as a hidden file and renames it into place, as a well-behaved writer
// does.
func drop(t *testing.T, folder string, i int) {
	t.Helper()
	name := fmt.Sprintf("img-%04d.jpg", i)
	tmp := filepath.Join(folder, "."+name)
	if err := os.WriteFile(tmp, testutil.EncodeJPEG(t, 64+i, 48, i), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(folder, name)); err != nil {
		t.Fatal(err)
	}
}

// runCamera runs a camera on the folder and returns the widths of the frames
// it delivered once want frames came (or the timeout passed).
func runCamera(t *testing.T, folder, state string, want int, during func()) ([]int, camera.Health) {
	t.Helper()
	src, err := camera.NewSource("dir://"+folder+"?pattern=*.jpg&poll=20ms&settle=100ms",
		camera.Options{Name: "c1", StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	cam := camera.New(camera.Config{Name: "c1", FPS: 200}, src, slog.New(slog.NewTextHandler(io.Discard, nil)))
	q := camera.NewQueue(64)
	defer q.Free()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var widths []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for f := range q.Frames() {
			mu.Lock()
			widths = append(widths, f.Mat.Cols())
			mu.Unlock()
			q.Release(f)
		}
	}()
	ran := make(chan struct{})
	go func() { cam.Run(ctx, q); close(ran) }()
	if during != nil {
		during()
	}
	testutil.WaitFor(10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(widths) >= want })
	time.Sleep(200 * time.Millisecond) // a duplicate would show up now
	cancel()
	<-ran
	<-done
	return widths, cam.Health()
}

func TestFilesArrivingEachOnceAcrossRestarts(t *testing.T) {
	folder, state := t.TempDir(), t.TempDir()
	for i := 0; i < 4; i++ {
		drop(t, folder, i)
	}
	os.WriteFile(filepath.Join(folder, "img-0002b.jpg"), []byte("this is not a jpeg"), 0o644)
	os.WriteFile(filepath.Join(folder, "notes.txt"), []byte("ignored by pattern"), 0o644)
	got, h := runCamera(t, folder, state, 8, func() {
		for i := 4; i < 8; i++ {
			time.Sleep(30 * time.Millisecond)
			drop(t, folder, i)
		}
	})
	want := []int{64, 65, 66, 67, 68, 69, 70, 71}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("first run: frame widths %v, want %v", got, want)
	}
	if h.State != camera.StateStopped || h.Errors != 1 || !strings.Contains(h.LastError, "img-0002b.jpg") {
		t.Fatalf("health after the bad image: %+v", h)
	}
	st, err := dir.ReadState(filepath.Join(state, "camera-c1.dir-state"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Last != "img-0007.jpg" || st.Taken != 8 || st.Skipped != 1 || len(st.LastSkipped) != 1 ||
		st.LastSkipped[0].Name != "img-0002b.jpg" || !strings.Contains(st.LastSkipped[0].Reason, "not a decodable image") {
		t.Fatalf("state after first run: %+v", st)
	}

	// A restart reads only what came after, even what arrived while stopped.
	drop(t, folder, 8)
	got, _ = runCamera(t, folder, state, 2, func() { drop(t, folder, 9) })
	if fmt.Sprint(got) != fmt.Sprint([]int{72, 73}) {
		t.Fatalf("after restart: frame widths %v, want [72 73]", got)
	}
}

func TestWaitsForFilesStillBeingWritten(t *testing.T) {
	folder := t.TempDir()
	src, err := camera.NewSource("dir://"+folder+"?poll=10ms&settle=1h", camera.Options{Name: "c", StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Open(); err != nil {
		t.Fatal(err)
	}
	m := gocv.NewMat()
	defer m.Close()
	old := time.Now().Add(-2 * time.Hour)
	a := filepath.Join(folder, "a.jpg")
	os.WriteFile(a, testutil.EncodeJPEG(t, 64, 48, 0), 0o644)
	os.Chtimes(a, old, old)
	b := filepath.Join(folder, "b.jpg")
	jpg := testutil.EncodeJPEG(t, 65, 48, 1)
	os.WriteFile(b, jpg[:len(jpg)/2], 0o644)
	// a.jpg is old, so complete; b.jpg is being written and must first be
	// seen unchanged by two listings.
	if err := src.Read(&m); err != nil || m.Cols() != 64 {
		t.Fatalf("first read: %v, %d wide", err, m.Cols())
	}
	os.WriteFile(b, jpg, 0o644)
	if err := src.Read(&m); !errors.Is(err, camera.ErrNoFrame) {
		t.Fatalf("fresh file taken at once: %v", err)
	}
	if err := src.Read(&m); err != nil || m.Cols() != 65 {
		t.Fatalf("stable file: %v, %d wide", err, m.Cols())
	}
}

func TestBadParams(t *testing.T) {
	opts := camera.Options{Name: "c", StateDir: t.TempDir()}
	for _, c := range []struct{ url, want string }{
		{"dir:///x?patern=*.jpg", `unknown parameter "patern" (known: pattern, poll, settle)`},
		{"dir:///x?poll=fast", `poll="fast"`},
		{"dir:///x?poll=1ms", `poll="1ms"`},
		{"dir:///x?pattern=[", `pattern="["`},
		{"dir://", "no folder"},
	} {
		if _, err := camera.NewSource(c.url, opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.url, err, c.want)
		}
	}
	if _, err := camera.NewSource("dir:///x", camera.Options{Name: "c"}); err == nil {
		t.Error("no state dir: want error")
	}
	src, _ := camera.NewSource("dir:///nonexistent/folder", opts)
	if err := src.Open(); err == nil || !strings.Contains(err.Error(), "/nonexistent/folder") {
		t.Errorf("missing folder: %v", err)
	}
}
