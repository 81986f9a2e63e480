package textdist

import "testing"

func TestEdits(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"fps", "fps", 0}, {"fsp", "fps", 1}, {"fp", "fps", 1},
		{"lables", "labels", 1}, {"kitten", "sitting", 3}, {"", "abc", 3},
	}
	for _, c := range cases {
		if got := Edits(c.a, c.b); got != c.want {
			t.Errorf("Edits(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	long := string(make([]byte, 100))
	if Edits(long, long) != 0 || Edits(long, "x") != 100 {
		t.Error("long words are compared for equality only")
	}
}
