package fsm

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hashicorp/raft"

	"github.com/podling/podling/internal/types"
)

// SnapshotVersion is the format version written into every snapshot.
// Restore accepts versions up to it.
const SnapshotVersion = 1

// snapshotData is the serialized form of the whole state.
type snapshotData struct {
	Version      int                  `json:"version"`
	AppliedIndex uint64               `json:"appliedIndex"`
	Tasks        []*types.Task        `json:"tasks"`
	Nodes        []*types.Node        `json:"nodes"`
	Pods         []*types.Pod         `json:"pods,omitempty"`
	Services     []*types.Service     `json:"services,omitempty"`
	Idempotency  []*idempotencyRecord `json:"idempotency,omitempty"`
	Leaders      []types.LeaderChange `json:"leaders,omitempty"`
	Masters      map[string]string    `json:"masters"`
}

// Snapshot implements raft.FSM. It copies only pointers, because stored
// objects are never changed in place, and leaves the encoding to Persist.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	data := &snapshotData{
		Version:      SnapshotVersion,
		AppliedIndex: f.appliedIndex,
		Tasks:        make([]*types.Task, 0, len(f.taskOrder)),
		Nodes:        make([]*types.Node, 0, len(f.nodes)),
		Masters:      make(map[string]string, len(f.masters)),
	}
	for _, id := range f.taskOrder {
		data.Tasks = append(data.Tasks, f.tasks[id])
	}
	for _, n := range f.nodes {
		data.Nodes = append(data.Nodes, n)
	}
	slices.SortFunc(data.Nodes, func(a, b *types.Node) int { return strings.Compare(a.NodeID, b.NodeID) })
	for id, addr := range f.masters {
		data.Masters[id] = addr
	}
	f.podOrder.each(func(id string) { data.Pods = append(data.Pods, f.pods[id]) })
	f.serviceOrder.each(func(id string) { data.Services = append(data.Services, f.services[id]) })
	data.Idempotency = append([]*idempotencyRecord(nil), f.idempotencyOrder...)
	data.Leaders = append([]types.LeaderChange(nil), f.leaders...)
	return data, nil
}

// Persist implements raft.FSMSnapshot.
func (s *snapshotData) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(s); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("write snapshot: %w", err)
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *snapshotData) Release() {}

// readSnapshot decodes and checks a whole snapshot before any state is
// touched, so a damaged snapshot leaves the state as it was.
func readSnapshot(r io.Reader) (*snapshotData, error) {
	var data snapshotData
	dec := json.NewDecoder(r)
	if err := dec.Decode(&data); err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("read snapshot: unexpected data after the state")
	}
	if data.Version < 1 || data.Version > SnapshotVersion {
		return nil, fmt.Errorf("read snapshot: format version %d, this master reads up to %d", data.Version, SnapshotVersion)
	}
	seen := make(map[string]bool, len(data.Tasks))
	for i, t := range data.Tasks {
		if t == nil || t.TaskID == "" || seen[t.TaskID] {
			return nil, fmt.Errorf("read snapshot: task %d is empty, has no ID or repeats an ID", i)
		}
		seen[t.TaskID] = true
	}
	for i, n := range data.Nodes {
		if n == nil || n.NodeID == "" {
			return nil, fmt.Errorf("read snapshot: node %d is empty or has no ID", i)
		}
	}
	return &data, checkPodsAndServices(&data)
}

// checkPodsAndServices rejects empty entries and repeated IDs. Pod IDs and
// service IDs are checked apart, because Apply lets a pod and a service
// share an ID.
func checkPodsAndServices(data *snapshotData) error {
	for i, rec := range data.Idempotency {
		if rec == nil || rec.Key == "" || rec.ObjectID == "" {
			return fmt.Errorf("read snapshot: idempotency record %d is empty", i)
		}
	}
	pods := make(map[string]bool, 2*len(data.Pods))
	for i, p := range data.Pods {
		if p == nil {
			return fmt.Errorf("read snapshot: pod %d is empty", i)
		}
		name := "name " + qualifiedName(p.Namespace, p.Name)
		if p.PodID == "" || pods[p.PodID] || pods[name] {
			return fmt.Errorf("read snapshot: pod %d is empty, has no ID, or repeats an ID or a name", i)
		}
		pods[p.PodID], pods[name] = true, true
	}
	services := make(map[string]bool, 2*len(data.Services))
	for i, s := range data.Services {
		if s == nil {
			return fmt.Errorf("read snapshot: service %d is empty", i)
		}
		name := "name " + qualifiedName(s.Namespace, s.Name)
		if s.ServiceID == "" || services[s.ServiceID] || services[name] {
			return fmt.Errorf("read snapshot: service %d is empty, has no ID, or repeats an ID or a name", i)
		}
		services[s.ServiceID], services[name] = true, true
	}
	return nil
}

// Restore implements raft.FSM. It replaces the whole state with the
// snapshot's, and leaves the state unchanged if the snapshot is unreadable.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	data, err := readSnapshot(rc)
	if err != nil {
		return err
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.resetLocked()
	for _, t := range data.Tasks {
		f.addTaskLocked(t)
	}
	for _, n := range data.Nodes {
		f.nodes[n.NodeID] = n
	}
	for _, p := range data.Pods {
		f.storePodLocked(p, p)
		f.podOrder.add(p.PodID)
		if p.Status == types.PodPending {
			f.pendingPods.add(p.PodID)
		}
		f.podNames[qualifiedName(p.Namespace, p.Name)] = p.PodID
	}
	for _, s := range data.Services {
		f.services[s.ServiceID] = s
		f.serviceOrder.add(s.ServiceID)
		f.serviceNames[qualifiedName(s.Namespace, s.Name)] = s.ServiceID
	}
	for id, addr := range data.Masters {
		f.masters[id] = addr
	}
	for _, rec := range data.Idempotency {
		f.idempotency[rec.Key] = rec
		f.idempotencyOrder = append(f.idempotencyOrder, rec)
	}
	f.leaders = data.Leaders
	f.notifyLocked(data.AppliedIndex)
	return nil
}

// CheckSnapshot reads a whole snapshot and reports whether Restore would
// accept it, without touching any state.
func CheckSnapshot(r io.Reader) error {
	_, err := readSnapshot(r)
	return err
}

// WriteSnapshot writes the whole state in the snapshot format to w, for a
// backup that Restore, or a cluster's restore endpoint, reads back.
func (f *FSM) WriteSnapshot(w io.Writer) error {
	snap, err := f.Snapshot()
	if err != nil {
		return err
	}
	defer snap.Release()
	if err := json.NewEncoder(w).Encode(snap.(*snapshotData)); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}
