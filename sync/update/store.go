package update

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Store is the on-disk home of model updates, one folder per model under a
// root (the agent uses <dir of store.path>/models):
//
//	<root>/<name>/pointers.json         {"current": "1.1.0", "previous": "1.0.0"}
//	<root>/<name>/<version>/manifest.json  the signed manifest as received
//	<root>/<name>/<version>/chunks/<i>     chunks received so far (resume state)
//	<root>/<name>/<version>/model.onnx     the verified, assembled model
//	<root>/<name>/<version>/failed         why the version was refused
//
// pointers.json is replaced atomically (write, fsync, rename, fsync the
// folder), so after a crash it names either the old pair or the new one. A
// Store is safe for use by one goroutine per model name.
type Store struct {
	root string
}

// Pointers are the versions a device serves and falls back to.
type Pointers struct {
	// Current is the version serving now; "" means the configured model.
	Current string `json:"current"`
	// Previous is the version served before Current; "" means the
	// configured model.
	Previous string `json:"previous"`
}

// OpenStore returns the store rooted at root, creating the folder.
func OpenStore(root string) (*Store, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("model store: %w", err)
	}
	return &Store{root: root}, nil
}

// Root returns the store's folder.
func (s *Store) Root() string { return s.root }

// VersionDir returns the folder of one version.
func (s *Store) VersionDir(name, version string) string {
	return filepath.Join(s.root, name, version)
}

// ModelPath returns where the verified model file of a version lives.
func (s *Store) ModelPath(name, version string) string {
	return filepath.Join(s.VersionDir(name, version), "model.onnx")
}

// HasModel reports whether a verified model file of the version is on disk.
func (s *Store) HasModel(name, version string) bool {
	st, err := os.Stat(s.ModelPath(name, version))
	return err == nil && st.Mode().IsRegular()
}

// Pointers reads the pointers of a model; a model never updated has none.
func (s *Store) Pointers(name string) (Pointers, error) {
	var p Pointers
	b, err := os.ReadFile(filepath.Join(s.root, name, "pointers.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return Pointers{}, fmt.Errorf("%s: %w", filepath.Join(s.root, name, "pointers.json"), err)
	}
	return p, nil
}

// SetPointers replaces the pointers of a model atomically and durably.
func (s *Store) SetPointers(name string, p Pointers) error {
	b, _ := json.Marshal(p)
	return writeAtomic(filepath.Join(s.root, name, "pointers.json"), b)
}

// Prune removes every version folder of name except those in keep.
func (s *Store) Prune(name string, keep ...string) error {
	entries, err := os.ReadDir(filepath.Join(s.root, name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var errs []error
outer:
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		for _, k := range keep {
			if e.Name() == k {
				continue outer
			}
		}
		errs = append(errs, os.RemoveAll(filepath.Join(s.root, name, e.Name())))
	}
	return errors.Join(errs...)
}

// MarkFailed records why a manifest was refused after its transfer began,
// so that the same manifest delivered again (retained, on every connect) is
// not fetched again. Chunks already received are deleted.
func (s *Store) MarkFailed(m *Manifest, reason string) error {
	dir := s.VersionDir(m.Name, m.Version)
	os.RemoveAll(filepath.Join(dir, "chunks"))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	b, _ := json.Marshal(map[string]string{"digest": m.Digest(), "reason": reason})
	return writeAtomic(filepath.Join(dir, "failed"), b)
}

// Failed returns the reason recorded by MarkFailed for this exact manifest.
func (s *Store) Failed(m *Manifest) (string, bool) {
	b, err := os.ReadFile(filepath.Join(s.VersionDir(m.Name, m.Version), "failed"))
	if err != nil {
		return "", false
	}
	var f map[string]string
	if json.Unmarshal(b, &f) != nil || f["digest"] != m.Digest() {
		return "", false
	}
	return f["reason"], true
}

// writeAtomic writes b to path through a temporary file and a rename, with
// fsyncs so the rename is durable.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Manifest reads the manifest stored with a version.
func (s *Store) Manifest(name, version string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(s.VersionDir(name, version), "manifest.json"))
	if err != nil {
		return nil, err
	}
	return ParseManifest(b)
}
