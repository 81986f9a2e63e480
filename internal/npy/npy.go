// Package npy writes and reads NumPy .npy files (format version 1.0), the
// form `lineside sim dataset` uses so that training recipes load data with a
// plain numpy.load.
package npy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
)

var magic = []byte("\x93NUMPY\x01\x00")

// Element types supported by Write and Read, as numpy dtype descriptors.
const (
	Uint8   = "|u1"
	Int32   = "<i4"
	Int64   = "<i8"
	Float32 = "<f4"
)

func dtypeOf(data any) (string, int, error) {
	switch d := data.(type) {
	case []uint8:
		return Uint8, len(d), nil
	case []int32:
		return Int32, len(d), nil
	case []int64:
		return Int64, len(d), nil
	case []float32:
		return Float32, len(d), nil
	}
	return "", 0, fmt.Errorf("npy: unsupported element type %T", data)
}

func header(dtype string, shape []int) []byte {
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = strconv.Itoa(s)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", dtype, sh)
	// Pad with spaces so that magic+len+header+'\n' is a multiple of 64.
	total := len(magic) + 2 + len(h) + 1
	if pad := (64 - total%64) % 64; pad > 0 {
		h += strings.Repeat(" ", pad)
	}
	return []byte(h + "\n")
}

// Write writes data ([]uint8, []int32, []int64 or []float32) with the given
// shape to path. The product of shape must equal len(data).
func Write(path string, shape []int, data any) error {
	dtype, n, err := dtypeOf(data)
	if err != nil {
		return err
	}
	want := 1
	for _, s := range shape {
		want *= s
	}
	if want != n {
		return fmt.Errorf("npy: shape %v holds %d elements, data has %d", shape, want, n)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	h := header(dtype, shape)
	w.Write(magic)
	binary.Write(w, binary.LittleEndian, uint16(len(h)))
	w.Write(h)
	if err := binary.Write(w, binary.LittleEndian, data); err != nil {
		f.Close()
		return fmt.Errorf("npy: write %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("npy: write %s: %w", path, err)
	}
	return f.Close()
}

var (
	descrRe = regexp.MustCompile(`'descr':\s*'([^']+)'`)
	shapeRe = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
	fortRe  = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
)

// Array is a decoded .npy file. Data holds []uint8, []int32, []int64 or
// []float32 according to Dtype.
type Array struct {
	Dtype string
	Shape []int
	Data  any
}

// Read loads a .npy file written by Write or by numpy.save for the supported
// element types.
func Read(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	head := make([]byte, 10)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, fmt.Errorf("npy: %s: %w", path, err)
	}
	if string(head[:6]) != "\x93NUMPY" || head[6] != 1 {
		return nil, fmt.Errorf("npy: %s: not a version 1 .npy file", path)
	}
	hlen := int(binary.LittleEndian.Uint16(head[8:10]))
	h := make([]byte, hlen)
	if _, err := io.ReadFull(r, h); err != nil {
		return nil, fmt.Errorf("npy: %s: header: %w", path, err)
	}
	hs := string(h)
	d, s, fo := descrRe.FindStringSubmatch(hs), shapeRe.FindStringSubmatch(hs), fortRe.FindStringSubmatch(hs)
	if d == nil || s == nil || fo == nil {
		return nil, fmt.Errorf("npy: %s: malformed header %q", path, hs)
	}
	if fo[1] == "True" {
		return nil, fmt.Errorf("npy: %s: fortran order is not supported", path)
	}
	a := &Array{Dtype: d[1]}
	n := 1
	for _, part := range strings.Split(s[1], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		v, err := strconv.Atoi(part)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("npy: %s: bad shape %q", path, s[1])
		}
		a.Shape = append(a.Shape, v)
		if v > 0 && n > math.MaxInt32/v {
			return nil, fmt.Errorf("npy: %s: shape %q too large", path, s[1])
		}
		n *= v
	}
	switch a.Dtype {
	case Uint8:
		a.Data = make([]uint8, n)
	case Int32:
		a.Data = make([]int32, n)
	case Int64:
		a.Data = make([]int64, n)
	case Float32:
		a.Data = make([]float32, n)
	default:
		return nil, fmt.Errorf("npy: %s: unsupported dtype %q", path, a.Dtype)
	}
	if err := binary.Read(r, binary.LittleEndian, a.Data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("npy: %s: truncated data", path)
		}
		return nil, fmt.Errorf("npy: %s: %w", path, err)
	}
	return a, nil
}
