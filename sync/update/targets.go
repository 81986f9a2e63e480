package update

import (
	"fmt"
	"path"
	"strings"
)

// Topics of the model update protocol under {prefix}.

// ManifestTopic is {prefix}/models/{name}/manifest.
func ManifestTopic(prefix, name string) string { return prefix + "/models/" + name + "/manifest" }

// ManifestFilter matches the manifests of every model.
func ManifestFilter(prefix string) string { return prefix + "/models/+/manifest" }

// ChunkTopic is {prefix}/models/{name}/{version}/chunks/{i}.
func ChunkTopic(prefix, name, version string, i int) string {
	return fmt.Sprintf("%s/models/%s/%s/chunks/%d", prefix, name, version, i)
}

// ChunkFilter matches every chunk of one version.
func ChunkFilter(prefix, name, version string) string {
	return prefix + "/models/" + name + "/" + version + "/chunks/+"
}

// ParseChunkTopic splits a chunk topic under prefix into model name, version
// and index.
func ParseChunkTopic(prefix, topic string) (name, version string, index int, err error) {
	rest, ok := strings.CutPrefix(topic, prefix+"/models/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 4 || parts[2] != "chunks" {
		return "", "", 0, fmt.Errorf("%q is not a chunk topic", topic)
	}
	if _, err := fmt.Sscanf(parts[3], "%d", &index); err != nil || fmt.Sprint(index) != parts[3] || index < 0 {
		return "", "", 0, fmt.Errorf("chunk topic %q: index %q is not a number", topic, parts[3])
	}
	return parts[0], parts[1], index, nil
}

// checkTarget checks one "site/line/device" pattern.
func checkTarget(t string) error {
	parts := strings.Split(t, "/")
	if len(parts) != 3 {
		return fmt.Errorf("target %q is not site/line/device (globs allowed per level)", t)
	}
	for _, p := range parts {
		if p == "" {
			return fmt.Errorf("target %q has an empty level", t)
		}
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("target %q: bad pattern %q", t, p)
		}
	}
	return nil
}

// ForDevice reports whether the manifest is meant for the device
// site/line/device: true when it has no targets or one target matches each
// level with path.Match.
func (m *Manifest) ForDevice(site, line, device string) bool {
	if len(m.Targets) == 0 {
		return true
	}
	want := []string{site, line, device}
	for _, t := range m.Targets {
		parts := strings.Split(t, "/")
		ok := len(parts) == 3
		for i := 0; ok && i < 3; i++ {
			ok, _ = path.Match(parts[i], want[i])
		}
		if ok {
			return true
		}
	}
	return false
}
