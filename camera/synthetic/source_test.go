package synthetic

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/lineside/lineside/camera"
	"gocv.io/x/gocv"
)

func TestSourceReadsFrames(t *testing.T) {
	for _, tc := range []struct {
		url           string
		width, height int
	}{
		{"synthetic://conveyor?seed=1&fps=10", 320, 240},
		{"synthetic://conveyor?seed=7&width=128&height=96&defect_rate=0.5&parts=washer", 128, 96},
		{"synthetic://conveyor", 320, 240},
	} {
		t.Run(tc.url, func(t *testing.T) {
			src, err := camera.NewSource(tc.url, camera.Options{Name: "cam1", FPS: 5})
			if err != nil {
				t.Fatal(err)
			}
			dst := gocv.NewMat()
			defer dst.Close()
			if err := src.Read(&dst); !errors.Is(err, camera.ErrNotConnected) {
				t.Fatalf("Read before Open: %v, want ErrNotConnected", err)
			}
			if err := src.Open(); err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			s := src.(*Source)
			for i := range 3 {
				if err := src.Read(&dst); err != nil {
					t.Fatal(err)
				}
				if dst.Cols() != tc.width || dst.Rows() != tc.height || dst.Type() != gocv.MatTypeCV8UC3 {
					t.Fatalf("frame %dx%d type %v, want %dx%d CV_8UC3", dst.Cols(), dst.Rows(), dst.Type(), tc.width, tc.height)
				}
				if tr := s.LastTruth(); tr.Index != uint64(i) || tr.Seed != s.Seed() {
					t.Fatalf("truth of read %d is frame %d of seed %d", i, tr.Index, tr.Seed)
				}
			}
		})
	}
}

func TestSourceFPSHint(t *testing.T) {
	for url, want := range map[string]float64{
		"synthetic://conveyor?fps=25": 25,
		"synthetic://conveyor":        5,
	} {
		src, err := camera.NewSource(url, camera.Options{FPS: 5})
		if err != nil {
			t.Fatal(err)
		}
		if got := src.(*Source).FPS(); got != want {
			t.Errorf("%s: fps %g, want %g", url, got, want)
		}
	}
}

func TestSourceMatchesRenderer(t *testing.T) {
	src, err := camera.NewSource("synthetic://conveyor?seed=4&start=10&defect_rate=0.5&noise=2", camera.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Open(); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := gocv.NewMat()
	defer dst.Close()
	for i := uint64(10); i < 13; i++ {
		if err := src.Read(&dst); err != nil {
			t.Fatal(err)
		}
		want, tr := render(t, src.(*Source).Params(), 4, i, -1)
		if !bytes.Equal(dst.ToBytes(), want) || src.(*Source).LastTruth() != tr {
			t.Fatalf("frame %d from the source differs from the renderer's", i)
		}
	}
}

func TestSourceDefectRate(t *testing.T) {
	for _, tc := range []struct {
		rate     string
		okWanted bool
	}{{"0", true}, {"1", false}} {
		src, err := camera.NewSource("synthetic://conveyor?width=64&height=64&defect_rate="+tc.rate, camera.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := src.Open(); err != nil {
			t.Fatal(err)
		}
		dst := gocv.NewMat()
		seen := map[string]int{}
		for range 40 {
			if err := src.Read(&dst); err != nil {
				t.Fatal(err)
			}
			seen[src.(*Source).LastTruth().Label]++
		}
		dst.Close()
		src.Close()
		if (seen[LabelOK] == 40) != tc.okWanted || (!tc.okWanted && len(seen) != 3) {
			t.Errorf("defect_rate=%s: labels %v", tc.rate, seen)
		}
	}
}

func TestSourceURLValidation(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want []string // substrings of the error
	}{
		{"synthetic://conveyor?fsp=10", []string{`unknown parameter "fsp"`, "fps", "defect_rate", "seed"}},
		{"synthetic://conveyor?defect_rate=1.5", []string{"defect_rate 1.5"}},
		{"synthetic://conveyor?defect_rate=-0.1", []string{"defect_rate -0.1"}},
		{"synthetic://conveyor?defect_rate=x", []string{`defect_rate "x"`}},
		{"synthetic://conveyor?fps=0", []string{`fps "0"`}},
		{"synthetic://conveyor?fps=-3", []string{`fps "-3"`}},
		{"synthetic://conveyor?width=32", []string{"width 32"}},
		{"synthetic://conveyor?height=5000", []string{"height 5000"}},
		{"synthetic://conveyor?width=wide", []string{`width "wide"`}},
		{"synthetic://conveyor?seed=abc", []string{`seed "abc"`, "integer"}},
		{"synthetic://conveyor?seed=-1", []string{`seed "-1"`}},
		{"synthetic://conveyor?seed=1.5", []string{`seed "1.5"`}},
		{"synthetic://conveyor?lighting=-1", []string{"lighting -1"}},
		{"synthetic://conveyor?noise=11", []string{"noise 11"}},
		{"synthetic://conveyor?blur=NaN", []string{"blur NaN"}},
		{"synthetic://conveyor?parts=gears", []string{`parts "gears"`}},
		{"synthetic://conveyor?seed=1&seed=2", []string{"seed given 2 times"}},
		{"synthetic://belt?seed=1", []string{`unknown scene "belt"`}},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := camera.NewSource(tc.url, camera.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
