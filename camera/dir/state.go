package dir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// maxSkipped is how many skipped images the state file lists.
const maxSkipped = 20

// State is the progress of a folder source, kept in its state file.
type State struct {
	// Last is the name of the last image taken or skipped; only later names
	// are read.
	Last string `json:"last"`
	// Taken counts images handed to the camera.
	Taken uint64 `json:"taken"`
	// Skipped counts images that did not decode.
	Skipped uint64 `json:"skipped"`
	// LastSkipped lists the most recent skipped images and why, newest last.
	LastSkipped []Skip `json:"last_skipped,omitempty"`
	// Updated is when the state was written.
	Updated time.Time `json:"updated"`
}

// Skip is one image that was not used.
type Skip struct {
	// Name is the file name.
	Name string `json:"name"`
	// Reason says why it was skipped.
	Reason string `json:"reason"`
	// Time is when it was skipped.
	Time time.Time `json:"time"`
}

// ReadState returns the state saved at path; a missing file is a fresh
// state.
func ReadState(path string) (State, error) { return loadState(path) }

func loadState(path string) (State, error) {
	var st State
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("folder state %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("folder state %s: corrupt (%w); move it aside to start over from the first image", path, err)
	}
	return st, nil
}

// take records an image handed to the camera.
func (st *State) take(path, name string) error {
	st.Last = name
	st.Taken++
	return st.save(path)
}

// skip records an image that was not used, and why.
func (st *State) skip(path, name, reason string) error {
	st.Last = name
	st.Skipped++
	st.LastSkipped = append(st.LastSkipped, Skip{Name: name, Reason: reason, Time: time.Now().UTC()})
	if n := len(st.LastSkipped); n > maxSkipped {
		st.LastSkipped = append([]Skip(nil), st.LastSkipped[n-maxSkipped:]...)
	}
	return st.save(path)
}

// save writes the state atomically: a temporary file in the same folder,
// synced, then renamed over the old one, so a crash leaves the old or the
// new state, never a torn one.
func (st *State) save(path string) error {
	st.Updated = time.Now().UTC()
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("folder state: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("folder state: %w", err)
	}
	_, werr := f.Write(append(b, '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("folder state %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("folder state %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
