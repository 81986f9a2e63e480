package systemd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lineside/lineside/agent"
)

// maxExposure is the highest `systemd-analyze security` exposure level the
// unit may have (0 = fully sandboxed, 10 = unprotected).
const maxExposure = 2.0

// unitRoot makes a file-system root holding the host's unit files (for
// sysinit.target and the rest of the boot graph), the lineside unit and an
// executable at /usr/bin/lineside, so `systemd-analyze verify --root` checks
// the unit as installed by the package.
func unitRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	units := filepath.Join(root, "usr", "lib", "systemd", "system")
	if err := os.MkdirAll(filepath.Dir(units), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-r", "/usr/lib/systemd/system", filepath.Dir(units)).CombinedOutput(); err != nil {
		t.Fatalf("copy host units: %v\n%s", err, out)
	}
	copyFile(t, "lineside.service", filepath.Join(units, "lineside.service"), 0o644)
	copyFile(t, "/bin/true", filepath.Join(root, "usr", "bin", "lineside"), 0o755)
	return root
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

func systemdTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (Debian package systemd; `make setup` installs it): %v", name, err)
	}
	return p
}

// TestUnitVerifies runs `systemd-analyze verify`: it must pass without a
// single warning (an unknown or misspelt key is only a warning to systemd).
func TestUnitVerifies(t *testing.T) {
	root := unitRoot(t)
	out, err := exec.Command(systemdTool(t, "systemd-analyze"), "verify", "--man=no", "--root="+root, "lineside.service").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}

	// The check itself must catch a typo.
	units := filepath.Join(root, "usr", "lib", "systemd", "system", "lineside.service")
	b, _ := os.ReadFile(units)
	os.WriteFile(units, []byte(strings.Replace(string(b), "NotifyAccess=", "NotifyAcess=", 1)), 0o644)
	out, _ = exec.Command("systemd-analyze", "verify", "--man=no", "--root="+root, "lineside.service").CombinedOutput()
	if !strings.Contains(string(out), "NotifyAcess") {
		t.Fatalf("systemd-analyze verify did not report a misspelt key:\n%s", out)
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for lineside\.service: ([0-9.]+)`)

// TestUnitSecurityRating requires `systemd-analyze security` to rate the
// unit at maxExposure or lower.
func TestUnitSecurityRating(t *testing.T) {
	out, err := exec.Command(systemdTool(t, "systemd-analyze"), "security", "--offline=true", "--no-pager", "./lineside.service").CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := exposureRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure level in:\n%s", out)
	}
	level, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("systemd-analyze security: exposure %.1f", level)
	if level > maxExposure {
		t.Fatalf("exposure level %.1f, want <= %.1f:\n%s", level, maxExposure, out)
	}
}

// unitSettings returns the unit's Key=Value lines; repeated keys are joined
// with a space.
func unitSettings(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("lineside.service")
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if kv[k] != "" {
			v = kv[k] + " " + v
		}
		kv[k] = v
	}
	return kv
}

// TestUnitContract checks the settings the rest of lineside relies on: the
// notify protocol, the user, the directories, the exit codes that must not
// restart the service and the device groups.
func TestUnitContract(t *testing.T) {
	kv := unitSettings(t)
	want := map[string]string{
		"Type":                     "notify",
		"ExecStart":                "/usr/bin/lineside run --config /etc/lineside/lineside.yaml",
		"User":                     "lineside",
		"StateDirectory":           "lineside",
		"ConfigurationDirectory":   "lineside",
		"WorkingDirectory":         "/var/lib/lineside",
		"Restart":                  "on-failure",
		"RestartPreventExitStatus": "2 64", // invalid config, wrong command line (cmd/lineside/main.go)
		"SupplementaryGroups":      "video dialout",
		"ProtectSystem":            "strict",
		"NoNewPrivileges":          "yes",
		"PrivateTmp":               "yes",
		"CapabilityBoundingSet":    "",
	}
	for k, v := range want {
		if got, ok := kv[k]; !ok || got != v {
			t.Errorf("%s=%q, want %q", k, got, v)
		}
	}
	if kv["WatchdogSec"] == "" {
		t.Error("WatchdogSec is not set: a hung agent would never be restarted")
	}
}

// TestSysusersAndTmpfiles applies the sysusers.d and tmpfiles.d entries to an
// empty root, as the package's postinst does on a line PC.
func TestSysusersAndTmpfiles(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	conf := func(name, dir string) string {
		dst := filepath.Join(root, "usr", "lib", dir, "lineside.conf")
		copyFile(t, name, dst, 0o644)
		return dst
	}
	users := conf("lineside.sysusers", "sysusers.d")
	tmpfiles := conf("lineside.tmpfiles", "tmpfiles.d")
	if out, err := exec.Command(systemdTool(t, "systemd-sysusers"), "--root="+root, users).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc", "passwd"))
	var entry []string
	for _, line := range strings.Split(string(passwd), "\n") {
		if f := strings.Split(line, ":"); len(f) == 7 && f[0] == "lineside" {
			entry = f
		}
	}
	if entry == nil {
		t.Fatalf("no lineside user in /etc/passwd:\n%s", passwd)
	}
	uid, _ := strconv.Atoi(entry[2])
	if uid == 0 || uid >= 1000 || entry[5] != "/var/lib/lineside" || entry[6] != "/usr/sbin/nologin" {
		t.Fatalf("lineside user %q: want a system uid (1-999), home /var/lib/lineside, shell /usr/sbin/nologin", entry)
	}
	if out, err := exec.Command(systemdTool(t, "systemd-tmpfiles"), "--root="+root, "--create", tmpfiles).CombinedOutput(); err != nil {
		t.Fatalf("systemd-tmpfiles: %v\n%s", err, out)
	}
	st, err := os.Stat(filepath.Join(root, "var", "lib", "lineside"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o750 || !st.IsDir() {
		t.Fatalf("/var/lib/lineside mode %v, want drwxr-x---", st.Mode())
	}
	if owner := fileUID(st); owner != uid {
		t.Fatalf("/var/lib/lineside owned by uid %d, want lineside (%d)", owner, uid)
	}
}

// packageFiles returns the destination → source map of the nfpm contents.
func packageFiles(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("nfpm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Contents []struct {
			Src  string `yaml:"src"`
			Dst  string `yaml:"dst"`
			Type string `yaml:"type"`
		} `yaml:"contents"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("nfpm.yaml: %v", err)
	}
	files := map[string]string{}
	for _, c := range cfg.Contents {
		files[c.Dst] = c.Src
		if c.Dst == "/etc/lineside/lineside.yaml" && c.Type != "config" {
			t.Errorf("%s is not a conffile (type: config): upgrades would overwrite the technician's edits", c.Dst)
		}
	}
	return files
}

// TestPackagedConfig loads the config the package installs as
// /etc/lineside/lineside.yaml and checks that every file it names is one the
// package ships, so `lineside config check` passes right after installation.
func TestPackagedConfig(t *testing.T) {
	cfg, err := agent.LoadConfig("lineside.yaml")
	if err != nil {
		t.Fatalf("packaged config: %v", err)
	}
	files := packageFiles(t)
	if src := files["/etc/lineside/lineside.yaml"]; src != "systemd/lineside.yaml" {
		t.Fatalf("/etc/lineside/lineside.yaml comes from %q, want systemd/lineside.yaml", src)
	}
	shipped := func(key, path string) {
		if _, ok := files[path]; !ok {
			t.Errorf("%s: %s is not in the package (systemd/nfpm.yaml)", key, path)
		}
	}
	shipped("inference.library", cfg.Inference.Library)
	for name, m := range cfg.Models {
		shipped("models."+name+".path", m.Path)
		if _, err := os.Stat(filepath.Join("..", files[m.Path])); err != nil {
			t.Errorf("models.%s: source of %s: %v", name, m.Path, err)
		}
	}
	for key, f := range map[string]string{
		"mqtt.password_file": cfg.MQTT.PasswordFile, "mqtt.tls.ca_file": cfg.MQTT.TLS.CAFile,
		"mqtt.tls.cert_file": cfg.MQTT.TLS.CertFile, "mqtt.tls.key_file": cfg.MQTT.TLS.KeyFile,
	} {
		if f != "" {
			t.Errorf("%s is %q: the packaged config must not name a file the package does not ship", key, f)
		}
	}
	if want := "/var/lib/lineside/"; !strings.HasPrefix(cfg.Store.Path, want) {
		t.Errorf("store.path %q is outside the service's StateDirectory %s", cfg.Store.Path, want)
	}
	for _, src := range files {
		if strings.Contains(src, "${") {
			continue // set by scripts/package.sh
		}
		if _, err := os.Stat(filepath.Join("..", src)); err != nil {
			t.Errorf("package source: %v", err)
		}
	}
}
