package scheme

import (
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := New[string]("test")
	r.Register("file", "file-factory")
	r.RegisterOpaque("gst", "gst-factory")
	if got := r.Schemes(); strings.Join(got, ",") != "file,gst" {
		t.Fatalf("Schemes() = %v", got)
	}
	u, f, err := r.Lookup("file:///data/a.mp4?loop=true")
	if err != nil || f != "file-factory" || u.Path != "/data/a.mp4" || u.Query().Get("loop") != "true" {
		t.Fatalf("Lookup(file) = %v %q %v", u, f, err)
	}
	u, f, err = r.Lookup("gst://videotestsrc ! videoconvert ! appsink")
	if err != nil || f != "gst-factory" || u.Opaque != "videotestsrc ! videoconvert ! appsink" {
		t.Fatalf("Lookup(gst) = %v %q %v", u, f, err)
	}
	if _, _, err := r.Lookup("rtsp://cam/1"); err == nil || !strings.Contains(err.Error(), `unknown scheme "rtsp" (known: [file gst])`) {
		t.Fatalf("unknown scheme: %v", err)
	}
	if _, _, err := r.Lookup("file://%zz"); err == nil || !strings.Contains(err.Error(), `source "file://%zz"`) {
		t.Fatalf("bad URL: %v", err)
	}
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), "test: scheme registered twice: file") {
			t.Fatalf("duplicate register: panic %v", p)
		}
	}()
	r.Register("file", "again")
}
