package fsm

import (
	"fmt"
	"slices"
	"time"

	"github.com/podling/podling/internal/types"
)

// podRank orders pod phases along the lifecycle. Both final phases share
// the last rank.
var podRank = map[types.PodStatus]int{
	types.PodPending:   0,
	types.PodScheduled: 1,
	types.PodRunning:   2,
	types.PodSucceeded: 3,
	types.PodFailed:    3,
}

func qualifiedName(namespace, name string) string { return namespace + "/" + name }

func (f *FSM) createPodLocked(c CreatePod) (any, error) {
	p := c.Pod
	if p.PodID == "" || p.Name == "" || p.Namespace == "" || len(p.Containers) == 0 || !p.RestartPolicy.Valid() {
		return types.Pod{}, fmt.Errorf("%w: pod needs an ID, a name, a namespace, containers and a restart policy", ErrInvalidCommand)
	}
	replay, err := f.replayLocked("pod", c.Idempotency, func(id string) (any, bool) {
		pod, ok := f.pods[id]
		if !ok {
			return nil, false
		}
		return *pod, true
	})
	if replay != nil || err != nil {
		return replay, err
	}
	if _, ok := f.pods[p.PodID]; ok {
		return types.Pod{}, fmt.Errorf("pod %s: %w", p.PodID, ErrIDTaken)
	}
	if id, ok := f.podNames[qualifiedName(p.Namespace, p.Name)]; ok {
		return types.Pod{}, fmt.Errorf("pod %q in namespace %q exists as %s: %w", p.Name, p.Namespace, id, ErrAlreadyExists)
	}
	p = types.Pod{
		PodID: p.PodID, Name: p.Name, Namespace: p.Namespace, Labels: p.Labels, Annotations: p.Annotations,
		RestartPolicy: p.RestartPolicy, Containers: p.Containers, Status: types.PodPending,
		CreatedAt: p.CreatedAt, UpdatedAt: p.CreatedAt,
	}
	f.pods[p.PodID] = &p
	f.podOrder.add(p.PodID)
	f.pendingPods.add(p.PodID)
	f.podNames[qualifiedName(p.Namespace, p.Name)] = p.PodID
	f.rememberLocked("pod", c.Idempotency, p.PodID)
	return p, nil
}

// placePodLocked assigns a pending pod to an online node with room for its
// requests. Placing a pod again on the node it is on is a no-op.
func (f *FSM) placePodLocked(c PlacePod) (types.Pod, error) {
	old, ok := f.pods[c.PodID]
	if !ok {
		return types.Pod{}, fmt.Errorf("pod %s: %w", c.PodID, ErrNotFound)
	}
	if old.Status != types.PodPending {
		if old.NodeID == c.NodeID {
			return *old, nil
		}
		return *old, &PodTransitionError{ID: old.PodID, From: old.Status, To: types.PodScheduled}
	}
	if err := f.checkPodFitsLocked(old, c.NodeID); err != nil {
		return *old, err
	}
	p := *old
	p.Status, p.NodeID, p.Reason, p.Message, p.UpdatedAt = types.PodScheduled, c.NodeID, "", "", c.Time
	f.storePodLocked(old, &p)
	return p, nil
}

func (f *FSM) checkPodFitsLocked(p *types.Pod, nodeID string) error {
	n, ok := f.nodes[nodeID]
	if !ok {
		return fmt.Errorf("place pod %s on node %q: %w", p.PodID, nodeID, ErrNotFound)
	}
	if n.Status != types.NodeOnline || n.Unschedulable {
		return fmt.Errorf("place pod %s on %s node %s (unschedulable %v): %w", p.PodID, n.Status, nodeID, n.Unschedulable, ErrConflict)
	}
	view := f.nodeViewLocked(n)
	if view.RunningTasks+view.RunningPods >= view.Capacity {
		return fmt.Errorf("place pod %s: node %s runs %d of %d workloads: %w", p.PodID, nodeID, view.RunningTasks+view.RunningPods, view.Capacity, ErrInsufficientResources)
	}
	free := FreeResources(view)
	if !p.Requests().Fits(free) {
		return fmt.Errorf("place pod %s: requests %+v do not fit node %s's free %+v: %w", p.PodID, p.Requests(), nodeID, free, ErrInsufficientResources)
	}
	return nil
}

// FreeResources returns the node's allocatable resources minus those
// requested by the pods placed on it.
func FreeResources(n types.Node) types.ResourceList {
	return types.ResourceList{
		CPUMillis:   n.Allocatable.CPUMillis - n.Used.CPUMillis,
		MemoryBytes: n.Allocatable.MemoryBytes - n.Used.MemoryBytes,
	}
}

func (f *FSM) markUnschedulableLocked(c MarkUnschedulable) (types.Pod, error) {
	old, ok := f.pods[c.PodID]
	if !ok {
		return types.Pod{}, fmt.Errorf("pod %s: %w", c.PodID, ErrNotFound)
	}
	if old.Status != types.PodPending || (old.Reason == types.ReasonUnschedulable && old.Message == c.Message) {
		return *old, nil
	}
	p := *old
	p.Reason, p.Message, p.UpdatedAt = types.ReasonUnschedulable, c.Message, c.Time
	f.storePodLocked(old, &p)
	return p, nil
}

// updatePodStatusLocked applies a worker's report. A report in the pod's
// current phase updates its container statuses and IP. A report that lags
// behind the phase is a no-op, and a pod that is not placed takes none.
func (f *FSM) updatePodStatusLocked(c UpdatePodStatus) (types.Pod, error) {
	old, ok := f.pods[c.PodID]
	if !ok {
		return types.Pod{}, fmt.Errorf("pod %s: %w", c.PodID, ErrNotFound)
	}
	r := c.Report
	if r.NodeID != "" && r.NodeID != old.NodeID {
		return *old, fmt.Errorf("pod %s is placed on node %q, not %s: %w", old.PodID, old.NodeID, r.NodeID, ErrConflict)
	}
	next := r.Status
	if next == types.PodPending {
		next = types.PodScheduled // a worker still starting the pod
	}
	stale, err := checkPodTransition(old, next)
	if err != nil || stale {
		return *old, err
	}
	p := withPodReport(*old, next, r, c.Time)
	f.storePodLocked(old, &p)
	return p, nil
}

func checkPodTransition(p *types.Pod, next types.PodStatus) (stale bool, err error) {
	cur := p.Status
	illegal := &PodTransitionError{ID: p.PodID, From: cur, To: next}
	switch {
	case !next.Valid() || cur == types.PodPending:
		return false, illegal
	case cur.Terminal() && next == cur:
		return true, nil
	case cur.Terminal() && next.Terminal():
		return false, illegal
	case podRank[next] < podRank[cur]:
		return true, nil
	}
	return false, nil
}

// withPodReport returns a copy of p with the report applied.
func withPodReport(p types.Pod, next types.PodStatus, r types.PodStatusReport, now time.Time) types.Pod {
	p.Status, p.UpdatedAt = next, now
	if r.PodIP != "" {
		p.PodIP = r.PodIP
	}
	if r.ContainerStatuses != nil {
		p.ContainerStatuses = r.ContainerStatuses
	}
	if r.Reason != "" || r.Message != "" {
		p.Reason, p.Message = r.Reason, r.Message
	}
	if next == types.PodRunning && p.StartedAt == nil {
		p.StartedAt = &now
	}
	if next.Terminal() {
		p.FinishedAt = &now
	}
	return p
}

func (f *FSM) deletePodLocked(c DeletePod) (types.Pod, error) {
	old, ok := f.pods[c.PodID]
	if !ok {
		return types.Pod{}, fmt.Errorf("pod %s: %w", c.PodID, ErrNotFound)
	}
	f.unindexPodLocked(old)
	f.pendingPods.remove(c.PodID)
	delete(f.pods, c.PodID)
	f.podOrder.remove(c.PodID)
	delete(f.podNames, qualifiedName(old.Namespace, old.Name))
	return *old, nil
}

// storePodLocked replaces old with p and updates the per-node and
// pending indexes.
func (f *FSM) storePodLocked(old, p *types.Pod) {
	f.unindexPodLocked(old)
	f.pods[p.PodID] = p
	if p.Status == types.PodPending && old.Status != types.PodPending {
		f.pendingPods.add(p.PodID)
	}
	if p.Status != types.PodPending {
		f.pendingPods.remove(p.PodID)
	}
	if p.NodeID != "" && (p.Status == types.PodScheduled || p.Status == types.PodRunning) {
		addToSet(f.podsByNode, p.NodeID, p.PodID)
	}
}

func (f *FSM) unindexPodLocked(p *types.Pod) {
	if p.NodeID != "" {
		removeFromSet(f.podsByNode, p.NodeID, p.PodID)
	}
}

// releasePodLocked makes a placed pod pending again, off its node.
func (f *FSM) releasePodLocked(c ReleasePod) (types.Pod, error) {
	old, ok := f.pods[c.PodID]
	if !ok {
		return types.Pod{}, fmt.Errorf("pod %s: %w", c.PodID, ErrNotFound)
	}
	if old.Status != types.PodScheduled && old.Status != types.PodRunning {
		return *old, &PodTransitionError{ID: old.PodID, From: old.Status, To: types.PodPending}
	}
	p := *old
	p.Status, p.NodeID, p.PodIP, p.ContainerStatuses = types.PodPending, "", "", nil
	p.Reason, p.Message, p.UpdatedAt = c.Reason, c.Message, c.Time
	f.storePodLocked(old, &p)
	return p, nil
}

// releasePodsOfNodeLocked handles the pods of a lost node: a pod whose
// restart policy allows it goes back to pending to be placed elsewhere,
// and a pod under Never fails with the reason NodeLost.
func (f *FSM) releasePodsOfNodeLocked(nodeID string, now time.Time) {
	ids := make([]string, 0, len(f.podsByNode[nodeID]))
	for id := range f.podsByNode[nodeID] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		old := f.pods[id]
		p := *old
		p.Reason, p.UpdatedAt = types.ReasonNodeLost, now
		if p.RestartPolicy == types.RestartNever {
			p.Status, p.FinishedAt = types.PodFailed, &now
			p.Message = fmt.Sprintf("node %s stopped sending heartbeats", nodeID)
		} else {
			p.Status, p.NodeID, p.PodIP, p.ContainerStatuses = types.PodPending, "", "", nil
			p.Message = fmt.Sprintf("node %s stopped sending heartbeats; the pod will be placed again", nodeID)
		}
		f.storePodLocked(old, &p)
	}
}

// Pod returns the pod with the given ID.
func (f *FSM) Pod(id string) (types.Pod, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	p, ok := f.pods[id]
	if !ok {
		return types.Pod{}, false
	}
	return *p, true
}

// PodFilter narrows a pod listing. Zero fields match everything.
type PodFilter struct {
	Namespace string
	Labels    map[string]string // every pair must match
	Status    types.PodStatus
	NodeID    string
}

func (pf PodFilter) matches(p *types.Pod) bool {
	return (pf.Namespace == "" || p.Namespace == pf.Namespace) &&
		(pf.Status == "" || p.Status == pf.Status) &&
		(pf.NodeID == "" || p.NodeID == pf.NodeID) &&
		(len(pf.Labels) == 0 || types.SelectorMatches(pf.Labels, p.Labels))
}

// PendingPods returns at most limit pending pods, oldest first.
func (f *FSM) PendingPods(limit int) []types.Pod {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]types.Pod, 0, min(limit, f.pendingPods.len()))
	f.pendingPods.eachUntil(func(id string) bool {
		out = append(out, *f.pods[id])
		return len(out) < limit
	})
	return out
}

// Pods returns the pods matching filter in creation order.
func (f *FSM) Pods(filter PodFilter) []types.Pod {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]types.Pod, 0)
	f.podOrder.each(func(id string) {
		if p := f.pods[id]; filter.matches(p) {
			out = append(out, *p)
		}
	})
	return out
}
