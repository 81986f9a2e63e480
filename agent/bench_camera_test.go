//go:build bench

package agent

import (
	"context"
	"image"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"
	"gocv.io/x/gocv"

	"github.com/lineside/lineside/camera"
	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/internal/benchfmt"
	"github.com/lineside/lineside/internal/testutil"
)

// TestBenchCameraPipeline runs one camera unpaced — a 640x480 MJPEG file
// decoded in the camera goroutine, gated, classified by the worker, stored
// by the appender into a real outbox — and compares it with the bare stages
// measured in the same run: decode alone, the model's frame reduction
// (gray + resize to 64x64) alone, and a bare ONNX Runtime Run. The agent's
// resident memory with one camera is measured on the binary itself
// (cmd/lineside TestBenchAgentRSS).
func TestBenchCameraPipeline(t *testing.T) {
	clf := loadTestClassifier(t, nil)
	dir := t.TempDir()
	video := testutil.WriteVideo(t, dir, 60, 640, 480)
	const n = 600
	open := func() camera.Source {
		src, err := camera.NewSource("file://"+video+"?loop=true", camera.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := src.Open(); err != nil {
			t.Fatal(err)
		}
		return src
	}

	// Bare decode.
	src := open()
	m := gocv.NewMat()
	defer m.Close()
	_, decCPU := measure(n, func() { src.Read(&m) })
	src.Close()
	src = open()
	w0 := time.Now()
	for i := 0; i < n; i++ {
		src.Read(&m)
	}
	decFPS := float64(n) / time.Since(w0).Seconds()
	src.Close()

	// Bare reduction, both orders of colour conversion and resize.
	gray, small, tiny := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer gray.Close()
	defer small.Close()
	defer tiny.Close()
	_, reduceCPU := measure(n, func() { inference.ReduceFrame(m, &small, inference.ColorGray, 64, 64) })
	_, grayFirst := measure(n, func() {
		gocv.CvtColor(m, &gray, gocv.ColorBGRToGray)
		gocv.Resize(gray, &small, image.Pt(64, 64), 0, 0, gocv.InterpolationArea)
	})
	_, resizeFirst := measure(n, func() {
		gocv.Resize(m, &tiny, image.Pt(64, 64), 0, 0, gocv.InterpolationArea)
		gocv.CvtColor(tiny, &small, gocv.ColorBGRToGray)
	})
	_, linear := measure(n, func() {
		gocv.CvtColor(m, &gray, gocv.ColorBGRToGray)
		gocv.Resize(gray, &small, image.Pt(64, 64), 0, 0, gocv.InterpolationLinear)
	})

	// Bare ONNX Runtime Run of the same model.
	in, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 1, 64, 64))
	outT, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 4))
	opts, _ := ort.NewSessionOptions()
	opts.SetIntraOpNumThreads(1)
	opts.SetInterOpNumThreads(1)
	sess, err := ort.NewAdvancedSession(testutil.Path(t, "models", "defect-cnn", "defect-cnn.onnx"),
		[]string{"image"}, []string{"scores"}, []ort.Value{in}, []ort.Value{outT}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Destroy()
	sess.Run()
	_, runCPU := measure(n, func() { sess.Run() })

	// The running pipeline for a fixed time: unpaced (fps 0), or paced.
	ob := openTestOutbox(t)
	type result struct {
		fps, cpuPerFrame, dropped float64
	}
	runPipeline := func(fps float64) result {
		w := newTestWorker(t, visionConfig{queue: 2}, clf, ob)
		cam := camera.New(camera.Config{Name: "cam1", FPS: fps}, open(), quietLog)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{}, 2)
		go func() { cam.Run(ctx, w.queue); done <- struct{}{} }()
		go func() { w.run(); done <- struct{}{} }()
		time.Sleep(time.Second) // warm up
		inf0, c0, d0, t0 := w.inferred.Load(), cpuTime(), w.queue.Dropped(), time.Now()
		time.Sleep(5 * time.Second)
		inf1, c1, d1, elapsed := w.inferred.Load(), cpuTime(), w.queue.Dropped(), time.Since(t0)
		cancel()
		<-done
		<-done
		frames := float64(inf1 - inf0)
		return result{frames / elapsed.Seconds(), float64(c1-c0) / frames, float64(d1 - d0)}
	}
	// Unpaced, frames the queue dropped cost their decode too, which is part
	// of running a camera faster than its model.
	unpaced := runPipeline(0)
	// Paced at 60 % of what the pipeline sustains, as a camera slower than its
	// model runs: every decoded frame is inferred, so this is the CPU cost of
	// one frame through the whole path, without decodes of dropped frames.
	paced := runPipeline(0.6 * unpaced.fps)
	fps, frameCPU := unpaced.fps, unpaced.cpuPerFrame
	inferFPS := float64(time.Second) / float64(reduceCPU+runCPU)
	limitFPS := min(decFPS, inferFPS)
	t.Logf("decode %v/frame (%.0f fps), reduce %v, run %v; unpaced pipeline %.0f fps, %.0f frames dropped, cpu %v/frame; paced at %.0f fps: %.0f fps, %.0f dropped, cpu %v/frame; store stats %+v",
		decCPU, decFPS, reduceCPU, runCPU, fps, unpaced.dropped, time.Duration(frameCPU),
		0.6*unpaced.fps, paced.fps, paced.dropped, time.Duration(paced.cpuPerFrame), ob.Stats())
	benchfmt.Print(nil, "camera.frame_cpu_ns", frameCPU, "ns", float64(decCPU+reduceCPU+runCPU), benchfmt.Lower)
	benchfmt.Print(nil, "camera.frame_cpu_ns_paced", paced.cpuPerFrame, "ns", float64(decCPU+reduceCPU+runCPU), benchfmt.Lower)
	benchfmt.Print(nil, "camera.pipeline_fps", fps, "fps", limitFPS, benchfmt.Higher)
	benchfmt.Print(nil, "camera.reduce_resize_first_ns", float64(resizeFirst), "ns", float64(grayFirst), benchfmt.Lower)
	benchfmt.Print(nil, "camera.reduce_linear_ns", float64(linear), "ns", float64(grayFirst), benchfmt.Lower)
}
