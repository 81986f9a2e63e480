package agent

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// CheckFiles checks that the files the config names exist, are regular files
// and can be read by this process: every model's path, mqtt.password_file,
// the mqtt.tls files and inference.library when it is a path rather than a
// bare file name for the dynamic loader. It returns one FieldError per
// problem, nil when all is well. Relative paths are taken from the working
// directory, which the message names. Camera sources and store.path are not
// checked: devices come and go, and the store is created on first start.
//
// LoadConfig does not call CheckFiles, so a config can be loaded and
// validated on a machine other than the line PC; `lineside config check`
// and start-up call both.
func (c *Config) CheckFiles() []FieldError {
	var errs []FieldError
	check := func(path, file string) {
		if file == "" {
			return
		}
		if msg := fileProblem(file); msg != "" {
			errs = append(errs, FieldError{Path: path, Value: strconv.Quote(file), Msg: msg})
		}
	}
	names := make([]string, 0, len(c.Models))
	for name := range c.Models {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		check(keyPath("models", name)+".path", c.Models[name].Path)
	}
	check("mqtt.password_file", c.MQTT.PasswordFile)
	check("mqtt.tls.ca_file", c.MQTT.TLS.CAFile)
	check("mqtt.tls.cert_file", c.MQTT.TLS.CertFile)
	check("mqtt.tls.key_file", c.MQTT.TLS.KeyFile)
	if strings.ContainsRune(c.Inference.Library, filepath.Separator) {
		check("inference.library", c.Inference.Library)
	}
	return c.locate(errs)
}

// fileProblem returns what keeps file from being read, or "".
func fileProblem(file string) string {
	where := ""
	if !filepath.IsAbs(file) {
		if wd, err := os.Getwd(); err == nil {
			where = " (relative to the working directory " + wd + ")"
		}
	}
	st, err := os.Stat(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "does not exist" + where
	case err != nil:
		return "cannot be read: " + unwrapPathError(err)
	case st.IsDir():
		return "is a directory, want a file" + where
	}
	f, err := os.Open(file)
	if err != nil {
		return "cannot be read: " + unwrapPathError(err)
	}
	f.Close()
	return ""
}

// unwrapPathError drops the operation and path that the FieldError already
// shows, leaving e.g. "permission denied".
func unwrapPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
