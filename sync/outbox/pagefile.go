package outbox

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
)

// This file reads the bbolt file format with plain reads, without bbolt and
// without mmap. bbolt rebuilds its freelist on open by walking every page,
// and it reports some kinds of damage from that walk by panicking in a
// goroutine of its own, which no caller can recover; a truncated file faults
// on its mmap. So a file is checked here before bbolt sees it, and a damaged
// file is salvaged from here too. The format (bbolt v1.x, file version 2) is
// read little-endian: lineside runs on x86-64 and arm64.

const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	pageHeaderSize  = 16
	elementSize     = 16 // branch and leaf elements are both 16 bytes
	bucketHeader    = 16 // root page id + sequence
	flagBranch      = 0x01
	flagLeaf        = 0x02
	flagBucketEntry = 0x01
	metaChecksumAt  = 56 // bytes of the meta covered by its checksum
	maxTreeDepth    = 64
)

// errDamaged is wrapped by the page reader's errors.
var errDamaged = errors.New("damaged page")

// boltMeta is the part of a meta page the reader needs.
type boltMeta struct {
	pageSize  int
	root      uint64 // root page of the root bucket
	hwm       uint64 // first page id past the end of the data
	txid      uint64
	rootSeq   uint64
	validated bool
}

// pageFile reads pages of one bbolt file.
type pageFile struct {
	r    io.ReaderAt
	size int64
	meta boltMeta
	// seen counts every page id visited, to stop cycles and double
	// references.
	seen map[uint64]bool
}

// readMeta parses the meta page at off and checks magic, version and
// checksum.
func readMeta(r io.ReaderAt, off int64) (boltMeta, error) {
	var b [pageHeaderSize + 64]byte
	if _, err := r.ReadAt(b[:], off); err != nil {
		return boltMeta{}, fmt.Errorf("%w: meta at %d: %w", errDamaged, off, err)
	}
	m := b[pageHeaderSize:]
	le := binary.LittleEndian
	h := fnv.New64a()
	h.Write(m[:metaChecksumAt])
	switch {
	case le.Uint32(m[0:]) != boltMagic:
		return boltMeta{}, fmt.Errorf("%w: meta at %d: bad magic", errDamaged, off)
	case le.Uint32(m[4:]) != boltVersion:
		return boltMeta{}, fmt.Errorf("%w: meta at %d: version %d", errDamaged, off, le.Uint32(m[4:]))
	case le.Uint64(m[metaChecksumAt:]) != h.Sum64():
		return boltMeta{}, fmt.Errorf("%w: meta at %d: checksum mismatch", errDamaged, off)
	}
	ps := int(le.Uint32(m[8:]))
	if ps < 512 || ps > 1<<16 || ps&(ps-1) != 0 {
		return boltMeta{}, fmt.Errorf("%w: meta at %d: page size %d", errDamaged, off, ps)
	}
	return boltMeta{pageSize: ps, root: le.Uint64(m[16:]), rootSeq: le.Uint64(m[24:]), hwm: le.Uint64(m[40:]), txid: le.Uint64(m[48:]), validated: true}, nil
}

// openPageFile picks the meta page bbolt would use: the valid one with the
// higher transaction id. A strict reader refuses a file shorter than its
// data; a lenient one reads what is there.
func openPageFile(r io.ReaderAt, size int64, strict bool) (*pageFile, error) {
	m0, err0 := readMeta(r, 0)
	ps := m0.pageSize
	if err0 != nil {
		ps = 4096
	}
	m1, err1 := readMeta(r, int64(ps))
	var m boltMeta
	switch {
	case err0 != nil && err1 != nil:
		return nil, err0
	case err0 != nil:
		m = m1
	case err1 != nil || m0.txid >= m1.txid:
		m = m0
	default:
		m = m1
	}
	if m.hwm < 3 || m.root < 2 || m.root >= m.hwm {
		return nil, fmt.Errorf("%w: meta: root %d outside 2..%d", errDamaged, m.root, m.hwm)
	}
	if need := int64(m.hwm) * int64(m.pageSize); strict && size < need {
		return nil, fmt.Errorf("%w: file truncated: %d bytes, the data reaches %d", errDamaged, size, need)
	}
	return &pageFile{r: r, size: size, meta: m, seen: map[uint64]bool{}}, nil
}

// page returns page id with its overflow pages after checking its header.
func (f *pageFile) page(id uint64) ([]byte, error) {
	ps := f.meta.pageSize
	if id < 2 || id >= f.meta.hwm {
		return nil, fmt.Errorf("%w: page id %d outside 2..%d", errDamaged, id, f.meta.hwm)
	}
	var h [pageHeaderSize]byte
	if _, err := f.r.ReadAt(h[:], int64(id)*int64(ps)); err != nil {
		return nil, fmt.Errorf("%w: page %d: %w", errDamaged, id, err)
	}
	le := binary.LittleEndian
	over := uint64(le.Uint32(h[12:]))
	switch {
	case le.Uint64(h[0:]) != id:
		return nil, fmt.Errorf("%w: page %d: header says page %d", errDamaged, id, le.Uint64(h[0:]))
	case id+over >= f.meta.hwm:
		return nil, fmt.Errorf("%w: page %d: %d overflow pages run past the data", errDamaged, id, over)
	}
	for i := id; i <= id+over; i++ {
		if f.seen[i] {
			return nil, fmt.Errorf("%w: page %d referenced twice", errDamaged, i)
		}
		f.seen[i] = true
	}
	p := make([]byte, (int(over)+1)*ps)
	if _, err := f.r.ReadAt(p, int64(id)*int64(ps)); err != nil {
		return nil, fmt.Errorf("%w: page %d: %w", errDamaged, id, err)
	}
	return p, nil
}

// element is one decoded branch or leaf element.
type element struct {
	key, value []byte
	child      uint64 // branch elements
	bucket     bool   // leaf elements that are sub-buckets
}

// elements decodes the elements of page p (id for messages), checking that
// every key and value lies inside the page and that keys strictly increase.
func elements(p []byte, id uint64) (flags uint16, els []element, err error) {
	le := binary.LittleEndian
	if len(p) < pageHeaderSize {
		return 0, nil, fmt.Errorf("%w: page %d: short", errDamaged, id)
	}
	flags, count := le.Uint16(p[8:]), int(le.Uint16(p[10:]))
	if flags != flagBranch && flags != flagLeaf {
		return flags, nil, fmt.Errorf("%w: page %d: type %#x is neither branch nor leaf", errDamaged, id, flags)
	}
	if pageHeaderSize+count*elementSize > len(p) {
		return flags, nil, fmt.Errorf("%w: page %d: %d elements do not fit", errDamaged, id, count)
	}
	els = make([]element, count)
	for i := range count {
		at := pageHeaderSize + i*elementSize
		e := p[at : at+elementSize]
		var pos, ksize, vsize uint64
		if flags == flagBranch {
			pos, ksize = uint64(le.Uint32(e[0:])), uint64(le.Uint32(e[4:]))
			els[i].child = le.Uint64(e[8:])
		} else {
			els[i].bucket = le.Uint32(e[0:])&flagBucketEntry != 0
			pos, ksize, vsize = uint64(le.Uint32(e[4:])), uint64(le.Uint32(e[8:])), uint64(le.Uint32(e[12:]))
		}
		start := uint64(at) + pos
		if start+ksize+vsize > uint64(len(p)) {
			return flags, nil, fmt.Errorf("%w: page %d: element %d runs past the page", errDamaged, id, i)
		}
		els[i].key = p[start : start+ksize]
		els[i].value = p[start+ksize : start+ksize+vsize]
		if i > 0 && bytes.Compare(els[i-1].key, els[i].key) >= 0 {
			return flags, nil, fmt.Errorf("%w: page %d: keys out of order at element %d", errDamaged, id, i)
		}
	}
	return flags, els, nil
}

// walk visits the tree rooted at page id, calling leaf for every leaf
// element. Keys must lie in [lo, hi) (nil means unbounded), as bbolt's own
// check demands. In strict mode the first problem ends the walk; otherwise
// damaged subtrees are skipped and counted in lost.
func (f *pageFile) walk(id uint64, lo, hi []byte, depth int, strict bool, lost *int, leaf func(element) error) error {
	fail := func(err error) error {
		if strict {
			return err
		}
		*lost++
		return nil
	}
	if depth > maxTreeDepth {
		return fail(fmt.Errorf("%w: tree deeper than %d at page %d", errDamaged, maxTreeDepth, id))
	}
	p, err := f.page(id)
	if err != nil {
		return fail(err)
	}
	flags, els, err := elements(p, id)
	if err != nil {
		return fail(err)
	}
	if len(els) > 0 && (lo != nil && bytes.Compare(els[0].key, lo) < 0 || hi != nil && bytes.Compare(els[len(els)-1].key, hi) >= 0) {
		return fail(fmt.Errorf("%w: page %d: keys outside the range of its parent", errDamaged, id))
	}
	for i, e := range els {
		if flags == flagLeaf {
			if err := leaf(e); err != nil {
				return err
			}
			continue
		}
		next := hi
		if i+1 < len(els) {
			next = els[i+1].key
		}
		if err := f.walk(e.child, e.key, next, depth+1, strict, lost, leaf); err != nil {
			return err
		}
	}
	return nil
}

// bucket walks the sub-bucket whose header is value: an inline bucket's page
// follows the header, any other bucket has a root page.
func (f *pageFile) bucket(value []byte, depth int, strict bool, lost *int, leaf func(element) error) (seq uint64, err error) {
	if len(value) < bucketHeader {
		if strict {
			return 0, fmt.Errorf("%w: bucket header of %d bytes", errDamaged, len(value))
		}
		*lost++
		return 0, nil
	}
	root, seq := binary.LittleEndian.Uint64(value), binary.LittleEndian.Uint64(value[8:])
	if root != 0 {
		return seq, f.walk(root, nil, nil, depth, strict, lost, leaf)
	}
	flags, els, err := elements(value[bucketHeader:], 0)
	if err == nil && flags != flagLeaf {
		err = fmt.Errorf("%w: inline bucket is not a leaf", errDamaged)
	}
	if err != nil {
		if strict {
			return seq, err
		}
		*lost++
		return seq, nil
	}
	for _, e := range els {
		if err := leaf(e); err != nil {
			return seq, err
		}
	}
	return seq, nil
}

// scanLeaves reads every page-aligned block of the file as a leaf page and
// calls leaf for each element that lies inside it, whatever tree it belonged
// to. Salvage uses it when the tree cannot be walked: records carry their own
// checksum, so what passes decodeValue is a record that was stored.
func scanLeaves(r io.ReaderAt, size int64, pageSize int, leaf func(element)) {
	p := make([]byte, pageSize)
	for off := int64(2 * pageSize); off+int64(pageSize) <= size; off += int64(pageSize) {
		if _, err := r.ReadAt(p[:pageHeaderSize], off); err != nil {
			return
		}
		if binary.LittleEndian.Uint16(p[8:]) != flagLeaf {
			continue
		}
		n := int64(binary.LittleEndian.Uint32(p[12:])+1) * int64(pageSize)
		n = min(n, size-off)
		buf := make([]byte, n)
		if _, err := r.ReadAt(buf, off); err != nil {
			continue
		}
		_, els, err := elements(buf, uint64(off)/uint64(pageSize))
		if err != nil {
			continue
		}
		for _, e := range els {
			leaf(e)
		}
	}
}
