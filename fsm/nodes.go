package fsm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/podling/podling/internal/types"
)

// registerNodeLocked adds a node, or refreshes the address and capacity of a
// known one and brings it back online. Registration time and last heartbeat
// of a known node are kept.
func (f *FSM) registerNodeLocked(c RegisterNode) (types.Node, error) {
	n := c.Node
	if n.NodeID == "" || n.Hostname == "" || n.Port <= 0 || n.Capacity < 0 {
		return types.Node{}, fmt.Errorf("%w: node needs an ID, a host name, a port and a capacity", ErrInvalidCommand)
	}
	n.Unschedulable, n.CordonReason = false, ""
	if old, ok := f.nodes[n.NodeID]; ok {
		n.RegisteredAt = old.RegisteredAt
		if old.LastHeartbeat.After(n.LastHeartbeat) {
			n.LastHeartbeat = old.LastHeartbeat
		}
		// A worker that comes back ends its own leave, not an operator's drain.
		if old.Unschedulable && old.CordonReason != types.ReasonWorkerLeaving {
			n.Unschedulable, n.CordonReason = true, old.CordonReason
		}
	}
	n.Status = types.NodeOnline
	n.RunningTasks, n.RunningPods, n.Used = 0, 0, types.ResourceList{} // derived on every read
	if n.Allocatable == (types.ResourceList{}) {
		n.Allocatable = types.ResourceList{CPUMillis: n.CPUMillis, MemoryBytes: n.MemoryBytes}
	}
	f.nodes[n.NodeID] = &n
	return f.nodeViewLocked(&n), nil
}

// setNodeStatusLocked moves a node online or offline. Going offline fails
// every scheduled or running task of the node with the reason NodeLost and
// releases its pods as releasePodsOfNodeLocked describes.
func (f *FSM) setNodeStatusLocked(c SetNodeStatus) (types.Node, error) {
	old, ok := f.nodes[c.NodeID]
	if !ok {
		return types.Node{}, fmt.Errorf("node %s: %w", c.NodeID, ErrNotFound)
	}
	if c.Status != types.NodeOnline && c.Status != types.NodeOffline {
		return types.Node{}, fmt.Errorf("%w: node status %q", ErrInvalidCommand, c.Status)
	}
	n := *old
	n.Status = c.Status
	f.nodes[n.NodeID] = &n
	if c.Status == types.NodeOffline {
		f.failTasksOfNodeLocked(c)
		f.releasePodsOfNodeLocked(c.NodeID, c.Time)
	}
	return f.nodeViewLocked(&n), nil
}

func (f *FSM) failTasksOfNodeLocked(c SetNodeStatus) {
	// Sorted so that the order of updates never depends on map iteration.
	ids := make([]string, 0, len(f.activeByNode[c.NodeID]))
	for id := range f.activeByNode[c.NodeID] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		update := types.TaskStatusUpdate{
			Status:  types.TaskFailed,
			Reason:  types.ReasonNodeLost,
			Message: fmt.Sprintf("node %s stopped sending heartbeats", c.NodeID),
		}
		old := f.tasks[id]
		t := withStatus(*old, update, c.Time)
		f.unindexTaskLocked(old)
		f.tasks[id] = &t
		f.indexTaskLocked(&t)
	}
}

func (f *FSM) cordonNodeLocked(c CordonNode) (types.Node, error) {
	old, ok := f.nodes[c.NodeID]
	if !ok {
		return types.Node{}, fmt.Errorf("node %s: %w", c.NodeID, ErrNotFound)
	}
	n := *old
	n.Unschedulable, n.CordonReason = c.Unschedulable, ""
	if c.Unschedulable {
		n.CordonReason = c.Reason
	}
	f.nodes[n.NodeID] = &n
	return f.nodeViewLocked(&n), nil
}

// recordHeartbeatsLocked stores last-seen times. Unknown nodes are skipped
// because a node may be missing from a batch proposed before it registered
// on this log; a time older than the stored one is ignored.
func (f *FSM) recordHeartbeatsLocked(c NodeHeartbeats) error {
	for id, seen := range c.LastSeen {
		old, ok := f.nodes[id]
		if !ok || !seen.After(old.LastHeartbeat) {
			continue
		}
		n := *old
		n.LastHeartbeat = seen
		f.nodes[id] = &n
	}
	return nil
}

// nodeViewLocked returns a copy of n with its running workloads and used
// resources filled in.
func (f *FSM) nodeViewLocked(n *types.Node) types.Node {
	view := *n
	view.RunningTasks = len(f.activeByNode[n.NodeID])
	view.RunningPods = len(f.podsByNode[n.NodeID])
	for id := range f.podsByNode[n.NodeID] {
		view.Used = view.Used.Add(f.pods[id].Requests())
	}
	return view
}

// Node returns the node with the given ID.
func (f *FSM) Node(id string) (types.Node, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	n, ok := f.nodes[id]
	if !ok {
		return types.Node{}, false
	}
	return f.nodeViewLocked(n), true
}

// Nodes returns every node ordered by ID.
func (f *FSM) Nodes() []types.Node {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]types.Node, 0, len(f.nodes))
	for _, n := range f.nodes {
		out = append(out, f.nodeViewLocked(n))
	}
	slices.SortFunc(out, func(a, b types.Node) int { return strings.Compare(a.NodeID, b.NodeID) })
	return out
}
