package update

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

func TestTransferResumesAndVerifies(t *testing.T) {
	data := []byte("the quick brown fox jumps over the lazy dog")
	m, _ := signed(t, data, "1.0.0")
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := s.Begin(m)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < m.Chunks; i += 2 {
		if err := tr.Put(i, m.Chunk(data, i)); err != nil {
			t.Fatal(err)
		}
	}
	// A restart: a new Transfer finds the chunks already on disk.
	tr, err = s.Begin(m)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tr.Received(), (m.Chunks+1)/2; got != want {
		t.Fatalf("resumed with %d chunks, want %d", got, want)
	}
	for _, i := range tr.Missing() {
		if i%2 == 0 {
			t.Fatalf("chunk %d reported missing after it was stored", i)
		}
		if err := tr.Put(i, m.Chunk(data, i)); err != nil {
			t.Fatal(err)
		}
	}
	path, err := tr.Assemble()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, data) || !s.HasModel("defect", "1.0.0") {
		t.Fatalf("assembled %q", b)
	}
}

func TestTransferRefusesBadChunks(t *testing.T) {
	data := []byte("0123456789")
	m, _ := signed(t, data, "1.0.0")
	s, _ := OpenStore(t.TempDir())
	tr, err := s.Begin(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Put(3, []byte("xx")); !errors.Is(err, ErrChunk) {
		t.Errorf("index out of range: %v", err)
	}
	if err := tr.Put(2, []byte("9")); !errors.Is(err, ErrChunk) {
		t.Errorf("truncated last chunk: %v", err)
	}
	if _, err := tr.Assemble(); !errors.Is(err, ErrChunk) {
		t.Errorf("assemble with chunks missing: %v", err)
	}
	// Right lengths, wrong bytes: the sha256 check refuses and forgets them.
	for i := 0; i < m.Chunks; i++ {
		if err := tr.Put(i, bytes.Repeat([]byte("z"), int(m.ChunkLen(i)))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.Assemble(); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("sha256 mismatch: %v", err)
	}
	if tr.Received() != 0 || s.HasModel("defect", "1.0.0") {
		t.Fatal("bad chunks kept after a sha256 mismatch")
	}
}

func TestPointersAndFailures(t *testing.T) {
	s, _ := OpenStore(t.TempDir())
	if p, err := s.Pointers("defect"); err != nil || p != (Pointers{}) {
		t.Fatalf("fresh pointers %+v %v", p, err)
	}
	want := Pointers{Current: "1.1.0", Previous: "1.0.0"}
	if err := s.SetPointers("defect", want); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Pointers("defect"); p != want {
		t.Fatalf("pointers %+v", p)
	}
	m, _ := signed(t, []byte("abc"), "2.0.0")
	if _, ok := s.Failed(m); ok {
		t.Fatal("failed before MarkFailed")
	}
	s.MarkFailed(m, "sha256 mismatch")
	if r, ok := s.Failed(m); !ok || r != "sha256 mismatch" {
		t.Fatalf("failed = %q %v", r, ok)
	}
	other, _ := signed(t, []byte("abd"), "2.0.0")
	if _, ok := s.Failed(other); ok {
		t.Fatal("a corrected manifest of the same version is still marked failed")
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
