package fsm

// orderedIDs keeps IDs in insertion order with constant-time removal.
// Removal leaves a hole that listing skips; holes are compacted away once
// they outnumber the live IDs.
type orderedIDs struct {
	ids      []string
	position map[string]int
	holes    int
}

func newOrderedIDs() *orderedIDs {
	return &orderedIDs{position: make(map[string]int)}
}

func (o *orderedIDs) add(id string) {
	if _, ok := o.position[id]; ok {
		return
	}
	o.position[id] = len(o.ids)
	o.ids = append(o.ids, id)
}

func (o *orderedIDs) remove(id string) {
	pos, ok := o.position[id]
	if !ok {
		return
	}
	o.ids[pos] = ""
	delete(o.position, id)
	o.holes++
	if o.holes > len(o.position) {
		o.compact()
	}
}

func (o *orderedIDs) compact() {
	live := make([]string, 0, len(o.position))
	for _, id := range o.ids {
		if id != "" {
			o.position[id] = len(live)
			live = append(live, id)
		}
	}
	o.ids, o.holes = live, 0
}

// each calls fn for every ID in insertion order.
func (o *orderedIDs) each(fn func(id string)) {
	for _, id := range o.ids {
		if id != "" {
			fn(id)
		}
	}
}

// eachUntil calls fn for IDs in insertion order until fn returns false.
func (o *orderedIDs) eachUntil(fn func(id string) bool) {
	for _, id := range o.ids {
		if id != "" && !fn(id) {
			return
		}
	}
}

// before reports whether a was added before b.
func (o *orderedIDs) before(a, b string) bool { return o.position[a] < o.position[b] }

func (o *orderedIDs) len() int { return len(o.position) }
