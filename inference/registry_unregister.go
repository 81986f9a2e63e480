package inference

import "slices"

// Unregister removes slot from the slots serving name, for a worker that
// stops while the agent keeps running (a camera removed or restarted by a
// config reload); later swaps no longer offer it a classifier.
func (r *Registry) Unregister(name string, slot *Slot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.models[name]; m != nil {
		m.slots = slices.DeleteFunc(m.slots, func(s *Slot) bool { return s == slot })
	}
}
