package ledger

import "sort"

// rangeSet is a set of uint64 kept as sorted, disjoint, non-adjacent
// inclusive ranges. Records arrive mostly in order, so adding is usually an
// extension of the last range.
type rangeSet struct {
	r [][2]uint64
}

// add inserts v and reports whether it was new.
func (s *rangeSet) add(v uint64) bool {
	n := len(s.r)
	if n > 0 && s.r[n-1][1]+1 == v {
		s.r[n-1][1] = v
		return true
	}
	if n == 0 || s.r[n-1][1] < v {
		s.r = append(s.r, [2]uint64{v, v})
		return true
	}
	// i is the first range that ends at or after v.
	i := sort.Search(n, func(i int) bool { return s.r[i][1] >= v })
	if s.r[i][0] <= v {
		return false
	}
	joinLeft := i > 0 && s.r[i-1][1]+1 == v
	joinRight := s.r[i][0] == v+1
	switch {
	case joinLeft && joinRight:
		s.r[i-1][1] = s.r[i][1]
		s.r = append(s.r[:i], s.r[i+1:]...)
	case joinLeft:
		s.r[i-1][1] = v
	case joinRight:
		s.r[i][0] = v
	default:
		s.r = append(s.r, [2]uint64{})
		copy(s.r[i+1:], s.r[i:])
		s.r[i] = [2]uint64{v, v}
	}
	return true
}

// has reports whether v is in the set.
func (s *rangeSet) has(v uint64) bool {
	i := sort.Search(len(s.r), func(i int) bool { return s.r[i][1] >= v })
	return i < len(s.r) && s.r[i][0] <= v
}

// count returns the number of values in the set.
func (s *rangeSet) count() uint64 {
	var n uint64
	for _, r := range s.r {
		n += r[1] - r[0] + 1
	}
	return n
}

// min and max return the smallest and largest value; ok is false when empty.
func (s *rangeSet) bounds() (lo, hi uint64, ok bool) {
	if len(s.r) == 0 {
		return 0, 0, false
	}
	return s.r[0][0], s.r[len(s.r)-1][1], true
}

// gaps returns the ranges of [lo, hi] in neither s nor other.
func (s *rangeSet) gaps(lo, hi uint64, other *rangeSet) [][2]uint64 {
	var u rangeSet
	for _, r := range s.r {
		u.r = append(u.r, r)
	}
	for _, r := range other.r {
		for v := r[0]; v <= r[1] && v >= r[0]; v++ {
			if v >= lo && v <= hi {
				u.add(v)
			}
			if v == r[1] {
				break
			}
		}
	}
	var out [][2]uint64
	next := lo
	for _, r := range u.r {
		if r[1] < next {
			continue
		}
		if r[0] > hi {
			break
		}
		if r[0] > next {
			out = append(out, [2]uint64{next, r[0] - 1})
		}
		if r[1] >= hi {
			return out
		}
		next = r[1] + 1
	}
	if next <= hi {
		out = append(out, [2]uint64{next, hi})
	}
	return out
}
