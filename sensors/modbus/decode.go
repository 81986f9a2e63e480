package modbus

import (
	"fmt"
	"math"
	"math/bits"
)

// Type is how a point's registers hold its value.
type Type string

// Register value types (point option type).
const (
	Int16   Type = "int16"
	Uint16  Type = "uint16"
	Int32   Type = "int32"
	Uint32  Type = "uint32"
	Float32 Type = "float32"
)

// Word orders of 32-bit values (point option word_order).
const (
	HighFirst = "high_first"
	LowFirst  = "low_first"
)

// Byte orders within one register (point option byte_order).
const (
	BigEndian    = "big"
	LittleEndian = "little"
)

// Format is a register encoding: the value type, which register of a
// 32-bit value holds the high word, and the byte order inside a register.
// The zero WordOrder and ByteOrder mean high_first and big, the Modbus
// convention.
type Format struct {
	Type      Type
	WordOrder string
	ByteOrder string
}

// Registers is how many 16-bit registers a value of the Format spans.
func (f Format) Registers() int {
	switch f.Type {
	case Int32, Uint32, Float32:
		return 2
	}
	return 1
}

// Validate reports an unknown type or order.
func (f Format) Validate() error {
	switch f.Type {
	case Int16, Uint16, Int32, Uint32, Float32:
	default:
		return fmt.Errorf("type %q: must be one of int16, uint16, int32, uint32, float32", f.Type)
	}
	switch f.WordOrder {
	case "", HighFirst, LowFirst:
	default:
		return fmt.Errorf("word_order %q: must be high_first or low_first", f.WordOrder)
	}
	switch f.ByteOrder {
	case "", BigEndian, LittleEndian:
	default:
		return fmt.Errorf("byte_order %q: must be big or little", f.ByteOrder)
	}
	return nil
}

// Decode turns registers, as read from the wire (each one big-endian), into
// the value. It needs exactly Registers() registers and a valid Format.
func (f Format) Decode(regs []uint16) (float64, error) {
	if err := f.Validate(); err != nil {
		return 0, err
	}
	if len(regs) != f.Registers() {
		return 0, fmt.Errorf("%s needs %d registers, got %d", f.Type, f.Registers(), len(regs))
	}
	w := [2]uint16{}
	copy(w[:], regs)
	if f.ByteOrder == LittleEndian {
		w[0], w[1] = bits.ReverseBytes16(w[0]), bits.ReverseBytes16(w[1])
	}
	u32 := uint32(w[0])<<16 | uint32(w[1])
	if f.WordOrder == LowFirst {
		u32 = uint32(w[1])<<16 | uint32(w[0])
	}
	switch f.Type {
	case Int16:
		return float64(int16(w[0])), nil
	case Uint16:
		return float64(w[0]), nil
	case Int32:
		return float64(int32(u32)), nil
	case Uint32:
		return float64(u32), nil
	default:
		return float64(math.Float32frombits(u32)), nil
	}
}

// Encode is the inverse of Decode: it returns the registers that hold v,
// converted to the Format's type (truncated towards zero for integers).
func (f Format) Encode(v float64) []uint16 {
	var u32 uint32
	switch f.Type {
	case Int16:
		u32 = uint32(uint16(int16(v)))
	case Uint16:
		u32 = uint32(uint16(v))
	case Int32:
		u32 = uint32(int32(v))
	case Uint32:
		u32 = uint32(v)
	default:
		u32 = math.Float32bits(float32(v))
	}
	var w [2]uint16
	if f.Registers() == 1 {
		w[0] = uint16(u32)
	} else if f.WordOrder == LowFirst {
		w = [2]uint16{uint16(u32), uint16(u32 >> 16)}
	} else {
		w = [2]uint16{uint16(u32 >> 16), uint16(u32)}
	}
	if f.ByteOrder == LittleEndian {
		w[0], w[1] = bits.ReverseBytes16(w[0]), bits.ReverseBytes16(w[1])
	}
	return append([]uint16(nil), w[:f.Registers()]...)
}
