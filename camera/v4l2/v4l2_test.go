package v4l2_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/camera/v4l2"
)

func TestParams(t *testing.T) {
	src, err := camera.NewSource("v4l2:///dev/video3?width=640&height=480&fps=30&fourcc=MJPG", camera.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := src.(*v4l2.Source).Path(); p != "/dev/video3" {
		t.Fatalf("path %q", p)
	}
	for _, c := range []struct{ url, want string }{
		{"v4l2:///dev/video0?widht=640", `unknown parameter "widht" (known: width, height, fps, fourcc)`},
		{"v4l2:///dev/video0?width=0", `width="0"`},
		{"v4l2:///dev/video0?height=big", `height="big"`},
		{"v4l2:///dev/video0?fps=-1", `fps="-1"`},
		{"v4l2:///dev/video0?fourcc=MJPEG", `fourcc="MJPEG"`},
		{"v4l2://dev/video0", "want v4l2:///dev/videoN"},
	} {
		if _, err := camera.NewSource(c.url, camera.Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.url, err, c.want)
		}
	}
}

func TestOpenErrorsNameThePath(t *testing.T) {
	notDev := filepath.Join(t.TempDir(), "video0")
	os.WriteFile(notDev, []byte("x"), 0o644)
	for _, c := range []struct{ path, want string }{
		{"/dev/video-lineside-missing", "v4l2 device /dev/video-lineside-missing: stat /dev/video-lineside-missing: no such file or directory"},
		{notDev, "v4l2 device " + notDev + ": not a character device"},
		{"/dev/null", "v4l2 device /dev/null: cannot be opened for capture"},
	} {
		src, err := camera.NewSource("v4l2://"+c.path, camera.Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = src.Open()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.path, err, c.want)
		}
		src.Close()
	}
}
