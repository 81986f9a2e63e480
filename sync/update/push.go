package update

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// pushTimeout bounds the wait for the broker's acknowledgement of one
// publish.
const pushTimeout = 30 * time.Second

// Push publishes a signed manifest's chunks of data, each retained at QoS 1,
// then the manifest itself, retained: a device that sees the manifest finds
// every chunk already on the broker. progress, if set, is called after each
// acknowledged chunk.
func Push(c mqtt.Client, prefix string, m *Manifest, data []byte, progress func(done, total int)) error {
	if int64(len(data)) != m.Size {
		return fmt.Errorf("push: %d bytes of data for a manifest of %d", len(data), m.Size)
	}
	for i := 0; i < m.Chunks; i++ {
		if err := publish(c, ChunkTopic(prefix, m.Name, m.Version, i), m.Chunk(data, i)); err != nil {
			return fmt.Errorf("push chunk %d: %w", i, err)
		}
		if progress != nil {
			progress(i+1, m.Chunks)
		}
	}
	raw, err := m.Marshal()
	if err != nil {
		return err
	}
	if err := publish(c, ManifestTopic(prefix, m.Name), raw); err != nil {
		return fmt.Errorf("push manifest: %w", err)
	}
	return nil
}

// Clear removes the retained chunks of one version from the broker (an
// empty retained message deletes a retained one). The manifest stays, so
// devices that have the version keep treating it as known.
func Clear(c mqtt.Client, prefix, name, version string, chunks int) error {
	for i := 0; i < chunks; i++ {
		if err := publish(c, ChunkTopic(prefix, name, version, i), nil); err != nil {
			return fmt.Errorf("clear chunk %d: %w", i, err)
		}
	}
	return nil
}

// publish sends one retained QoS 1 message and waits for its PUBACK.
func publish(c mqtt.Client, topic string, payload []byte) error {
	tok := c.Publish(topic, 1, true, payload)
	if !tok.WaitTimeout(pushTimeout) {
		return fmt.Errorf("%s: no acknowledgement within %s", topic, pushTimeout)
	}
	return tok.Error()
}

// NewManifest describes data as version of model name, split into chunks of
// chunkSize bytes (DefaultChunkSize when 0). The result is unsigned; see
// Sign.
func NewManifest(name, version string, data []byte, chunkSize int64, targets []string) (*Manifest, error) {
	if chunkSize == 0 {
		chunkSize = DefaultChunkSize
	}
	sum := sha256.Sum256(data)
	size := int64(len(data))
	m := &Manifest{
		Name:      name,
		Version:   version,
		Size:      size,
		SHA256:    hex.EncodeToString(sum[:]),
		ChunkSize: chunkSize,
		Created:   time.Now().UTC().Truncate(time.Second),
		Targets:   targets,
	}
	if chunkSize > 0 {
		m.Chunks = int((size + chunkSize - 1) / chunkSize)
	}
	if err := m.checkUnsigned(); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return m, nil
}

// Chunk returns chunk i of data as the manifest splits it.
func (m *Manifest) Chunk(data []byte, i int) []byte {
	start := int64(i) * m.ChunkSize
	return data[start : start+m.ChunkLen(i)]
}
