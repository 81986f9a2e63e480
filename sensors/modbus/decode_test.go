package modbus

import (
	"math"
	"testing"
)

func TestDecodeGolden(t *testing.T) {
	// Registers as they arrive from the wire; want is the decoded value.
	cases := []struct {
		name string
		f    Format
		regs []uint16
		want float64
	}{
		{"uint16", Format{Type: Uint16}, []uint16{0xfffe}, 65534},
		{"uint16 little", Format{Type: Uint16, ByteOrder: LittleEndian}, []uint16{0x3412}, 0x1234},
		{"int16 negative", Format{Type: Int16}, []uint16{0xfffe}, -2},
		{"int16 little", Format{Type: Int16, ByteOrder: LittleEndian}, []uint16{0xfeff}, -2},
		{"int32 high first", Format{Type: Int32}, []uint16{0xffff, 0xfffe}, -2},
		{"int32 low first", Format{Type: Int32, WordOrder: LowFirst}, []uint16{0xfffe, 0xffff}, -2},
		{"int32 little", Format{Type: Int32, ByteOrder: LittleEndian}, []uint16{0xffff, 0xfeff}, -2},
		{"uint32 high first", Format{Type: Uint32}, []uint16{0x0001, 0x0002}, 65538},
		{"uint32 low first", Format{Type: Uint32, WordOrder: LowFirst}, []uint16{0x0002, 0x0001}, 65538},
		{"uint32 low first little", Format{Type: Uint32, WordOrder: LowFirst, ByteOrder: LittleEndian},
			[]uint16{0x0200, 0x0100}, 65538},
		{"uint32 max", Format{Type: Uint32}, []uint16{0xffff, 0xffff}, 4294967295},
		// 123.456 as float32 is 0x42f6e979.
		{"float32 ABCD", Format{Type: Float32}, []uint16{0x42f6, 0xe979}, float64(float32(123.456))},
		{"float32 CDAB", Format{Type: Float32, WordOrder: LowFirst}, []uint16{0xe979, 0x42f6}, float64(float32(123.456))},
		{"float32 BADC", Format{Type: Float32, ByteOrder: LittleEndian}, []uint16{0xf642, 0x79e9}, float64(float32(123.456))},
		{"float32 DCBA", Format{Type: Float32, WordOrder: LowFirst, ByteOrder: LittleEndian},
			[]uint16{0x79e9, 0xf642}, float64(float32(123.456))},
		{"float32 negative", Format{Type: Float32}, []uint16{0xc2f6, 0xe979}, float64(float32(-123.456))},
		{"float32 inf", Format{Type: Float32}, []uint16{0x7f80, 0x0000}, math.Inf(1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.f.Decode(c.regs)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("Decode(%04x) = %v, want %v", c.regs, got, c.want)
			}
			back := c.f.Encode(c.want)
			for i := range back {
				if back[i] != c.regs[i] {
					t.Fatalf("Encode(%v) = %04x, want %04x", c.want, back, c.regs)
				}
			}
		})
	}
}

func TestDecodeNaN(t *testing.T) {
	v, err := Format{Type: Float32}.Decode([]uint16{0x7fc0, 0x0000})
	if err != nil || !math.IsNaN(v) {
		t.Fatalf("Decode(NaN) = %v, %v; want NaN", v, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		f    Format
		regs []uint16
	}{
		{Format{Type: "int64"}, []uint16{1, 2, 3, 4}},
		{Format{Type: Float32}, []uint16{1}},
		{Format{Type: Uint16}, []uint16{1, 2}},
		{Format{Type: Uint16, WordOrder: "middle"}, []uint16{1}},
		{Format{Type: Uint16, ByteOrder: "mixed"}, []uint16{1}},
	} {
		if _, err := c.f.Decode(c.regs); err == nil {
			t.Errorf("Decode(%+v, %v): no error", c.f, c.regs)
		}
	}
}

// FuzzRegisterDecode checks that any registers in any format decode without
// panicking, and that decoding what Encode wrote gives the value back.
func FuzzRegisterDecode(f *testing.F) {
	f.Add(uint16(0x42f6), uint16(0xe979), uint8(4), uint8(0), uint8(0))
	f.Add(uint16(0xffff), uint16(0xfffe), uint8(2), uint8(1), uint8(1))
	f.Add(uint16(0x7fc0), uint16(0), uint8(4), uint8(1), uint8(0))
	types := []Type{Int16, Uint16, Int32, Uint32, Float32, "bogus"}
	words := []string{HighFirst, LowFirst, "", "x"}
	bytes := []string{BigEndian, LittleEndian, "", "x"}
	f.Fuzz(func(t *testing.T, r0, r1 uint16, ti, wi, bi uint8) {
		fm := Format{Type: types[int(ti)%len(types)], WordOrder: words[int(wi)%len(words)], ByteOrder: bytes[int(bi)%len(bytes)]}
		regs := []uint16{r0, r1}
		for n := 0; n <= 2; n++ {
			_, _ = fm.Decode(regs[:n])
		}
		if fm.Validate() != nil {
			return
		}
		regs = regs[:fm.Registers()]
		v, err := fm.Decode(regs)
		if err != nil {
			t.Fatalf("Decode(%+v, %04x): %v", fm, regs, err)
		}
		if math.IsNaN(v) {
			return // NaN payloads need not round-trip bit for bit
		}
		back := fm.Encode(v)
		for i := range regs {
			if back[i] != regs[i] {
				t.Fatalf("%+v: %04x → %v → %04x", fm, regs, v, back)
			}
		}
	})
}
