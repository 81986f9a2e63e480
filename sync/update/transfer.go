package update

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// Transfer errors, wrapped with details.
var (
	// ErrChunk means a chunk does not belong to the transfer or has the
	// wrong length.
	ErrChunk = errors.New("bad chunk")
	// ErrIntegrity means the assembled file's size or SHA-256 differs from
	// the manifest.
	ErrIntegrity = errors.New("integrity check failed")
)

// Transfer assembles one model version from its chunks in the version's
// folder of a Store. Every chunk is written to its own file as it arrives,
// so the chunk files are the resume state: a Transfer begun again after a
// restart knows which chunks it already has. A Transfer is not safe for
// concurrent use.
type Transfer struct {
	m    *Manifest
	dir  string
	have []bool
	got  int
}

// Begin starts or resumes the transfer of m's version. Chunks left by an
// earlier manifest of the same version with a different file are discarded.
func (s *Store) Begin(m *Manifest) (*Transfer, error) {
	dir := s.VersionDir(m.Name, m.Version)
	chunks := filepath.Join(dir, "chunks")
	prev, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err == nil {
		if old, perr := ParseManifest(prev); perr != nil || old.SHA256 != m.SHA256 || old.ChunkSize != m.ChunkSize {
			os.RemoveAll(chunks)
			os.Remove(filepath.Join(dir, "model.onnx"))
		}
	}
	if err := os.MkdirAll(chunks, 0o750); err != nil {
		return nil, fmt.Errorf("stage %s %s: %w", m.Name, m.Version, err)
	}
	raw, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(raw, prev) {
		if err := writeAtomic(filepath.Join(dir, "manifest.json"), raw); err != nil {
			return nil, fmt.Errorf("stage %s %s: %w", m.Name, m.Version, err)
		}
	}
	t := &Transfer{m: m, dir: dir, have: make([]bool, m.Chunks)}
	for i := range t.have {
		if st, err := os.Stat(t.chunkPath(i)); err == nil && st.Size() == m.ChunkLen(i) {
			t.have[i] = true
			t.got++
		}
	}
	return t, nil
}

// Manifest returns the manifest being fetched.
func (t *Transfer) Manifest() *Manifest { return t.m }

func (t *Transfer) chunkPath(i int) string {
	return filepath.Join(t.dir, "chunks", strconv.Itoa(i))
}

// Missing lists the indexes of the chunks not yet received.
func (t *Transfer) Missing() []int {
	var out []int
	for i, ok := range t.have {
		if !ok {
			out = append(out, i)
		}
	}
	return out
}

// Received returns how many chunks are on disk, of Manifest().Chunks.
func (t *Transfer) Received() int { return t.got }

// Complete reports whether every chunk is on disk.
func (t *Transfer) Complete() bool { return t.got == len(t.have) }

// Put stores chunk i. A chunk already held is ignored (retained chunks
// arrive again on every subscribe); an index out of range or a length other
// than the manifest's is an error wrapping ErrChunk.
func (t *Transfer) Put(i int, data []byte) error {
	if i < 0 || i >= len(t.have) {
		return fmt.Errorf("%w: index %d, the manifest has chunks 0..%d", ErrChunk, i, len(t.have)-1)
	}
	if want := t.m.ChunkLen(i); int64(len(data)) != want {
		return fmt.Errorf("%w: chunk %d has %d bytes, want %d", ErrChunk, i, len(data), want)
	}
	if t.have[i] {
		return nil
	}
	p := t.chunkPath(i)
	if err := os.WriteFile(p+".tmp", data, 0o640); err != nil {
		return err
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return err
	}
	t.have[i] = true
	t.got++
	return nil
}

// Assemble joins the chunks into model.onnx, checks its size and SHA-256
// against the manifest, and returns its path. On a mismatch (ErrIntegrity)
// the chunks are deleted so a fresh copy is fetched next time.
func (t *Transfer) Assemble() (string, error) {
	if !t.Complete() {
		return "", fmt.Errorf("%w: %d of %d chunks missing", ErrChunk, len(t.have)-t.got, len(t.have))
	}
	out := filepath.Join(t.dir, "model.onnx")
	f, err := os.CreateTemp(t.dir, ".model.onnx.*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	w := io.MultiWriter(f, h)
	var size int64
	for i := range t.have {
		c, err := os.Open(t.chunkPath(i))
		if err != nil {
			f.Close()
			return "", err
		}
		n, err := io.Copy(w, c)
		c.Close()
		size += n
		if err != nil {
			f.Close()
			return "", err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	f.Close()
	if size != t.m.Size {
		t.reset()
		return "", fmt.Errorf("%w: assembled %d bytes, manifest says %d", ErrIntegrity, size, t.m.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != t.m.SHA256 {
		t.reset()
		return "", fmt.Errorf("%w: sha256 %s, manifest says %s", ErrIntegrity, sum, t.m.SHA256)
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return "", err
	}
	if err := syncDir(t.dir); err != nil {
		return "", err
	}
	os.RemoveAll(filepath.Join(t.dir, "chunks"))
	return out, nil
}

// reset forgets every chunk.
func (t *Transfer) reset() {
	os.RemoveAll(filepath.Join(t.dir, "chunks"))
	for i := range t.have {
		t.have[i] = false
	}
	t.got = 0
}
