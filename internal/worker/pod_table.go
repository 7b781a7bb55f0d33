package worker

import (
	"net/http"
	"sync"
)

// podTable is the set of pods this worker runs, by pod ID, and the fence
// against stale dispatches. It is safe for concurrent use.
type podTable struct {
	mu   sync.Mutex
	pods map[string]*pod
	// deleting contains the IDs of pods whose deletion is under way.
	deleting map[string]bool
	// dispatches holds the latest dispatch accepted for each pod ID. Its
	// entries outlive the pod, so a delayed dispatch from an old leader
	// cannot start a deleted pod again.
	dispatches fence
}

func newPodTable() *podTable {
	return &podTable{pods: make(map[string]*pod), deleting: make(map[string]bool), dispatches: newFence("pod")}
}

func (pt *podTable) get(id string) (*pod, bool) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	p, ok := pt.pods[id]
	return p, ok
}

// accept records dispatch d of the pod id and returns the pod's record:
// the existing one, or one made by create, which then is stored and added
// is true. A term lower than one already accepted for the pod, or a pod
// being deleted, is a 409 error. Only terms order dispatches; the index is
// kept with its term.
func (pt *podTable) accept(id string, d dispatch, create func() *pod) (p *pod, added bool, err error) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if err := pt.dispatches.check(id, d); err != nil {
		return nil, false, err
	}
	if pt.deleting[id] {
		return nil, false, newAPIError(http.StatusConflict, codeDeleting, "pod %s is being deleted; dispatch it again later", id)
	}
	pt.dispatches.record(id, d)
	if known, ok := pt.pods[id]; ok {
		return known, false, nil
	}
	p = create()
	pt.pods[id] = p
	return p, true, nil
}

// lookup returns the pod's record, or nil when the table has none, and
// whether the pod's deletion is under way.
func (pt *podTable) lookup(id string) (p *pod, deleting bool) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return pt.pods[id], pt.deleting[id]
}

// adopt stores p, found in the runtime at start-up, unless the table has
// the pod already. It reports whether it stored p.
func (pt *podTable) adopt(p *pod) bool {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if _, ok := pt.pods[p.id]; ok {
		return false
	}
	pt.pods[p.id] = p
	return true
}

// startDelete marks the pod as being deleted and returns its record, if
// the table has one.
func (pt *podTable) startDelete(id string) *pod {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	pt.deleting[id] = true
	return pt.pods[id]
}

// finishDelete removes the pod from the table, keeping its latest dispatch.
func (pt *podTable) finishDelete(id string) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	delete(pt.pods, id)
	delete(pt.deleting, id)
}

// all returns every pod in the table.
func (pt *podTable) all() []*pod {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	list := make([]*pod, 0, len(pt.pods))
	for _, p := range pt.pods {
		list = append(list, p)
	}
	return list
}
