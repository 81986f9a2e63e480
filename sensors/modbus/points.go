package modbus

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/lineside/lineside/sensors"
	"github.com/lineside/lineside/sensors/internal/srcutil"
)

// Table is one of the four Modbus data tables.
type Table string

// Modbus tables as named in a point Address ("holding:100").
const (
	Holding  Table = "holding"
	Input    Table = "input"
	Coil     Table = "coil"
	Discrete Table = "discrete"
)

// Largest reads the protocol allows in one request.
const (
	maxRegisters = 125
	maxBits      = 2000
)

func (t Table) bits() bool { return t == Coil || t == Discrete }

// point is one configured point, parsed and validated.
type point struct {
	name   string
	table  Table
	addr   uint16
	format Format
	scale  srcutil.Scale
}

// size is how many registers or bits the point spans.
func (p *point) size() int {
	if p.table.bits() {
		return 1
	}
	return p.format.Registers()
}

func (p *point) String() string {
	if p.table.bits() {
		return fmt.Sprintf("%s:%d", p.table, p.addr)
	}
	return fmt.Sprintf("%s:%d %s", p.table, p.addr, p.format.Type)
}

// parsePoint reads a point's Address and Options.
func parsePoint(source string, pc sensors.PointConfig) (*point, error) {
	o := srcutil.Point(source, pc)
	table, num, ok := strings.Cut(pc.Address, ":")
	p := &point{name: pc.Name, table: Table(table)}
	switch p.table {
	case Holding, Input, Coil, Discrete:
	default:
		return nil, o.Errorf("address %q: want holding:N, input:N, coil:N or discrete:N", pc.Address)
	}
	addr, err := strconv.ParseUint(num, 10, 16)
	if !ok || err != nil {
		return nil, o.Errorf("address %q: register number must be 0–65535", pc.Address)
	}
	p.addr = uint16(addr)
	if !p.table.bits() {
		typ, err := o.String("type", string(Uint16), "int16", "uint16", "int32", "uint32", "float32")
		if err != nil {
			return nil, err
		}
		p.format.Type = Type(typ)
		if p.format.WordOrder, err = o.String("word_order", HighFirst, HighFirst, LowFirst); err != nil {
			return nil, err
		}
		if p.format.ByteOrder, err = o.String("byte_order", BigEndian, BigEndian, LittleEndian); err != nil {
			return nil, err
		}
		if int(p.addr)+p.size() > 1<<16 {
			return nil, o.Errorf("address %q: a %s runs past register 65535", pc.Address, typ)
		}
	} else {
		p.format.Type = Uint16
	}
	if p.scale, err = srcutil.ParseScale(o); err != nil {
		return nil, err
	}
	return p, o.Done()
}

// block is one read request covering contiguous points of one table.
type block struct {
	table  Table
	start  uint16
	count  int
	points []*point
}

// plan sorts the points into read blocks and refuses a register map in
// which two points claim overlapping registers with different encodings.
func plan(source string, points []*point) ([]*block, error) {
	sorted := append([]*point(nil), points...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].table != sorted[j].table {
			return sorted[i].table < sorted[j].table
		}
		return sorted[i].addr < sorted[j].addr
	})
	limit := func(t Table) int {
		if t.bits() {
			return maxBits
		}
		return maxRegisters
	}
	var blocks []*block
	var cur *block
	var last *point // the point reaching furthest in cur
	for _, p := range sorted {
		end := int(p.addr) + p.size()
		if cur != nil && cur.table == p.table && int(p.addr) < int(cur.start)+cur.count {
			// p starts inside registers already claimed.
			if last.addr != p.addr || last.format != p.format {
				return nil, fmt.Errorf("source %q: points %q (%s) and %q (%s) claim overlapping registers",
					source, last.name, last, p.name, p)
			}
		}
		if cur == nil || cur.table != p.table || int(p.addr) > int(cur.start)+cur.count ||
			end-int(cur.start) > limit(p.table) {
			cur = &block{table: p.table, start: p.addr}
			blocks = append(blocks, cur)
		}
		cur.count = max(cur.count, end-int(cur.start))
		cur.points = append(cur.points, p)
		if last == nil || end >= int(last.addr)+last.size() || last.table != p.table {
			last = p
		}
	}
	return blocks, nil
}
