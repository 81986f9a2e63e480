package agent

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"gocv.io/x/gocv"
)

func TestSnapshotEncoderScalesToMaxWidth(t *testing.T) {
	tests := []struct {
		w, h, maxWidth int
		want           image.Point
	}{
		{1280, 720, 640, image.Pt(640, 360)},
		{640, 480, 640, image.Pt(640, 480)},
		{320, 240, 640, image.Pt(320, 240)},
		{1000, 333, 300, image.Pt(300, 100)},
	}
	for _, tt := range tests {
		enc := newSnapshotEncoder(85, tt.maxWidth)
		img := gocv.NewMatWithSize(tt.h, tt.w, gocv.MatTypeCV8UC3)
		renderPart(&img, tt.w/4)
		buf, err := enc.encode(img, make([]byte, 0, 16))
		img.Close()
		enc.close()
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(buf))
		if err != nil {
			t.Fatalf("%dx%d: not a JPEG: %v", tt.w, tt.h, err)
		}
		if got := image.Pt(cfg.Width, cfg.Height); got != tt.want {
			t.Errorf("%dx%d max %d: JPEG is %v, want %v", tt.w, tt.h, tt.maxWidth, got, tt.want)
		}
	}
}

func TestSnapshotEncoderReusesBufferAndQualityMatters(t *testing.T) {
	img := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer img.Close()
	renderPart(&img, 100)
	gocv.RandN(&img, gocv.NewScalar(100, 100, 100, 0), gocv.NewScalar(30, 30, 30, 0))
	hi, lo := newSnapshotEncoder(95, 640), newSnapshotEncoder(20, 640)
	defer hi.close()
	defer lo.close()
	a, err := hi.encode(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := lo.encode(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) >= len(a) {
		t.Fatalf("quality 20 gives %d bytes, quality 95 %d: quality is not applied", len(b), len(a))
	}
	again, err := hi.encode(img, a)
	if err != nil {
		t.Fatal(err)
	}
	if &again[0] != &a[0] {
		t.Fatal("encode did not reuse the buffer it was given")
	}
	empty := gocv.NewMat()
	defer empty.Close()
	if _, err := hi.encode(empty, nil); err == nil {
		t.Fatal("an empty frame encoded")
	}
}

func TestSnapshotPolicy(t *testing.T) {
	count := func(p snapshotPolicy, idx []int) (n int) {
		for _, i := range idx {
			if p.want(i) {
				n++
			}
		}
		return n
	}
	labels := []int{0, 1, 0, 2, 0, 0, 3, 0, 0, 0}
	tests := []struct {
		p    snapshotPolicy
		want int
	}{
		{snapshotPolicy{mode: SnapshotNever}, 0},
		{snapshotPolicy{mode: SnapshotOnDefect, okIndex: 0}, 3},
		{snapshotPolicy{mode: SnapshotOnDefect, okIndex: 2}, 9},
		{snapshotPolicy{mode: SnapshotEveryN, everyN: 3}, 3},
		{snapshotPolicy{mode: SnapshotEveryN, everyN: 1}, 10},
	}
	for _, tt := range tests {
		if got := count(tt.p, labels); got != tt.want {
			t.Errorf("%+v: %d snapshots of 10, want %d", tt.p, got, tt.want)
		}
	}
}
