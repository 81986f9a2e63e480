package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lineside/lineside/internal/testutil"
)

// artifactDir is where tests leave files for people to look at:
// $LINESIDE_ARTIFACTS, else var/test-artifacts in the repository.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("LINESIDE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(testutil.RepoRoot(t), "var", "test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startDashboard runs `lineside dashboard` and returns its URL.
func startDashboard(t *testing.T, broker string) string {
	t.Helper()
	cmd := exec.Command(binary, "dashboard", "--broker", broker, "--listen", "127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dashboard printed no URL: %v", err)
	}
	go func() { bufio.NewReader(out).WriteTo(os.Stderr) }()
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[1], "http://") {
		t.Fatalf("dashboard said %q, want its URL", line)
	}
	return f[1]
}

// xssAsset is an asset name that would run script if the page put MQTT data
// into markup.
const xssAsset = `<img src=x onerror="window.__xss=1">`

// TestDashboardInChromium runs the agent with a camera whose every frame is
// a defect with a snapshot, publishes asset health events (the sensor side
// publishes them in production), and checks in headless Chromium that the
// page shows the device online, a defect with its snapshot image loaded,
// the asset's health and p_fail trend, and the hostile asset name as text.
func TestDashboardInChromium(t *testing.T) {
	dir := t.TempDir()
	broker := testutil.StartBroker(t)
	video := testutil.WriteVideo(t, dir, 20, 320, 240)
	cfg := writeVisionConfig(t, dir, broker.URL(), video, 5,
		"snapshots: {mode: on_defect, max_width: 320}", "ok_label: crack")
	appendConfig(t, cfg, "status: {metrics_interval: 300ms}\n")
	startDaemon(t, cfg)
	url := startDashboard(t, broker.URL())

	pub := subscribe(t, broker.URL(), "lineside/v1/s1/l1/dev1/cmd/none")
	if err := testutil.WaitFor(10*time.Second, pub.client.IsConnectionOpen); err != nil {
		t.Fatalf("test client not connected: %v", err)
	}
	health := "lineside/v1/s1/l1/dev1/events/health"
	for i, p := range []float64{0.05, 0.12, 0.3, 0.55, 0.71} {
		state := map[bool]string{true: "warn", false: "ok"}[p > 0.5]
		pub.client.Publish(health, 1, false, fmt.Sprintf(`{"id":"dev1:health.press-1:%d","seq":%d,"ts":"%s","asset":"press-1","model":"pdm","model_version":"1.0.0","p_fail":%g,"state":%q}`,
			i+1, i+1, time.Now().UTC().Format(time.RFC3339), p, state)).Wait()
	}
	pub.client.Publish(health, 1, false, fmt.Sprintf(`{"asset":%q,"p_fail":0.9,"state":"alarm","model_version":"<b>1</b>"}`, xssAsset)).Wait()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(filepath.Join(dir, "chromium")), chromedp.WindowSize(1280, 1100))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first action starts the browser and must not run under a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	tctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()

	dev := `section[data-device="s1/l1/dev1"]`
	if err := chromedp.Do(tctx,
		chromedp.WaitVisible(dev+` .defect img`),
		chromedp.WaitVisible(dev+` tr[data-asset="press-1"]`),
	); err != nil {
		t.Fatalf("page never showed the device with a defect and the asset: %v", err)
	}
	if _, err := chromedp.Run(tctx, chromedp.Poll[bool](`(() => {
			const img = document.querySelector('`+dev+` .defect img');
			return img && img.complete && img.naturalWidth === 320 &&
				document.querySelector('`+dev+` .chart .value').textContent !== '–';
		})()`, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		t.Fatalf("snapshot image or metrics never shown: %v", err)
	}
	str := func(a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(tctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	online := str(chromedp.Text(dev + ` h2 .badge`))
	pfail := str(chromedp.Text(dev + ` tr[data-asset="press-1"] .pfail`))
	lines := str(chromedp.Evaluate[string](`document.querySelectorAll('` + dev + ` tr[data-asset="press-1"] polyline').length + ""`))
	xss := str(chromedp.Evaluate[string](`window.__xss ? "ran" : "no"`))
	made := str(chromedp.Evaluate[string](`document.querySelectorAll('img[src="x"], b').length + ""`))
	names := str(chromedp.Evaluate[string](`[...document.querySelectorAll('` + dev + ` tr[data-asset] td:first-child')].map(e => e.textContent).join("|")`))
	if online != "online" || pfail != "0.710" || lines != "1" {
		t.Fatalf("device badge %q, press-1 p_fail %q, trend lines %s; want online, 0.710, 1", online, pfail, lines)
	}
	if xss != "no" || made != "0" || !strings.Contains(names, xssAsset) {
		t.Fatalf("hostile asset name: script %s, elements made %s, names %q", xss, made, names)
	}
	time.Sleep(2 * time.Second) // a few more metrics points for the plots
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(artifactDir(t), "dashboard.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
}

// appendConfig adds YAML lines to a config file.
func appendConfig(t *testing.T, path, yaml string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(yaml); err != nil {
		t.Fatal(err)
	}
}
