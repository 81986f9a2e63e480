package update

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

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
