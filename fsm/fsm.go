// Package fsm is Podling's replicated state machine: the commands written to
// the Raft log, their deterministic application, snapshots, and indexed
// read views of tasks, pods, services, nodes and masters.
//
// Apply never reads the clock, random numbers, the network or the disk. IDs
// and times travel inside the commands, chosen by the leader before it
// proposes them, so every master that applies the same log holds the same state.
package fsm

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/podling/podling/internal/types"
)

// FSM implements raft.FSM. Its read methods are safe for concurrent use with
// Apply. They return copies of the stored structs, which callers may keep
// but must treat as read-only: maps such as Env and pointer fields such as
// ExitCode are shared with the stored state.
type FSM struct {
	logger hclog.Logger

	// Stored objects are never changed in place: an update stores a new
	// copy, so a snapshot or a reader can share the old pointer safely.
	tasks         map[string]*types.Task
	taskOrder     []string       // task IDs in the order they were created
	taskPosition  map[string]int // index of each task ID in taskOrder
	pendingTasks  *orderedIDs    // pending task IDs in creation order
	tasksByStatus map[types.TaskStatus]map[string]struct{}
	activeByNode  map[string]map[string]struct{} // scheduled or running task IDs per node
	nodes         map[string]*types.Node
	pods          map[string]*types.Pod
	podOrder      *orderedIDs
	podsByNode    map[string]map[string]struct{} // scheduled or running pod IDs per node
	pendingPods   *orderedIDs                    // pending pod IDs in creation order
	podNames      map[string]string              // namespace/name -> pod ID
	services      map[string]*types.Service
	serviceOrder  *orderedIDs
	serviceNames  map[string]string // namespace/name -> service ID
	masters       map[string]string // Raft server ID -> API URL
	// idempotency maps kind/key to what a keyed create made;
	// idempotencyOrder keeps the records oldest first for expiry.
	leaders          []types.LeaderChange // newest last, at most maxLeaderChanges
	idempotency      map[string]*idempotencyRecord
	idempotencyOrder []*idempotencyRecord
	appliedIndex     uint64
	appliedByType    map[CommandType]uint64 // entries applied since start, for metrics; not replicated state
	changed          chan struct{}          // closed and replaced after every applied entry
	mu               sync.RWMutex

	// prepared is the snapshot PrepareRestore decoded for the next Restore.
	// preparedMu guards it instead of mu, so preparing does not wait for Apply.
	prepared   *preparedRestore
	preparedMu sync.Mutex
}

// New returns an empty state machine.
func New(logger hclog.Logger) *FSM {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	f := &FSM{logger: logger.Named("fsm"), appliedByType: make(map[CommandType]uint64)}
	f.resetLocked()
	return f
}

func (f *FSM) resetLocked() {
	f.tasks = make(map[string]*types.Task)
	f.taskOrder = nil
	f.taskPosition = make(map[string]int)
	f.pendingTasks = newOrderedIDs()
	f.tasksByStatus = make(map[types.TaskStatus]map[string]struct{})
	f.activeByNode = make(map[string]map[string]struct{})
	f.nodes = make(map[string]*types.Node)
	f.pods = make(map[string]*types.Pod)
	f.podOrder = newOrderedIDs()
	f.podsByNode = make(map[string]map[string]struct{})
	f.pendingPods = newOrderedIDs()
	f.podNames = make(map[string]string)
	f.services = make(map[string]*types.Service)
	f.serviceOrder = newOrderedIDs()
	f.serviceNames = make(map[string]string)
	f.masters = make(map[string]string)
	f.idempotency = make(map[string]*idempotencyRecord)
	f.idempotencyOrder = nil
	f.leaders = nil
	f.appliedIndex = 0
	if f.changed == nil {
		f.changed = make(chan struct{})
	}
}

// Apply implements raft.FSM. It returns the changed object (a types.Task or
// types.Node value) on success, nil for commands without one, and an error
// wrapping one of this package's sentinels when the command was rejected.
// For a Batch it returns BatchResults, one of those per entry.
func (f *FSM) Apply(entry *raft.Log) interface{} {
	cmd, err := Decode(entry.Data)

	f.mu.Lock()
	defer f.mu.Unlock()
	defer f.notifyLocked(entry.Index)

	if err != nil {
		// A master that cannot decode an entry keeps its state and reports
		// the entry, because skipping it silently would hide a version skew.
		f.logger.Error("cannot decode log entry", "index", entry.Index, "error", err)
		return err
	}
	f.appliedByType[cmd.Type()]++
	if b, ok := cmd.(Batch); ok {
		return f.applyBatchLocked(b, entry.Index)
	}
	result, err := f.applyLocked(cmd)
	if err != nil {
		return err
	}
	return result
}

func (f *FSM) applyLocked(cmd Command) (any, error) {
	switch c := cmd.(type) {
	case CreateTask:
		return f.createTaskLocked(c)
	case UpdateTaskStatus:
		return f.updateTaskStatusLocked(c)
	case RegisterNode:
		return f.registerNodeLocked(c)
	case SetNodeStatus:
		return f.setNodeStatusLocked(c)
	case NodeHeartbeats:
		return nil, f.recordHeartbeatsLocked(c)
	case SetMasterAddress:
		return nil, f.setMasterAddressLocked(c)
	case CreatePod:
		return f.createPodLocked(c)
	case UpdatePodStatus:
		return f.updatePodStatusLocked(c)
	case PlacePod:
		return f.placePodLocked(c)
	case MarkUnschedulable:
		return f.markUnschedulableLocked(c)
	case DeletePod:
		return f.deletePodLocked(c)
	case CreateService:
		return f.createServiceLocked(c)
	case DeleteService:
		return f.deleteServiceLocked(c)
	case CordonNode:
		return f.cordonNodeLocked(c)
	case ReleasePod:
		return f.releasePodLocked(c)
	case RecordLeader:
		return nil, f.recordLeaderLocked(c)
	}
	return nil, fmt.Errorf("%w: %T", ErrUnknownCommand, cmd)
}

func (f *FSM) notifyLocked(index uint64) {
	if index > f.appliedIndex {
		f.appliedIndex = index
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

// AppliedCount returns how many entries of the given type this master has
// applied since it started, including replays of the log after a restart.
func (f *FSM) AppliedCount(t CommandType) uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.appliedByType[t]
}

// AppliedIndex returns the log index of the last command applied.
func (f *FSM) AppliedIndex() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.appliedIndex
}

// Changed returns a channel that is closed the next time a command is
// applied or a snapshot restored.
func (f *FSM) Changed() <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.changed
}

// WaitForIndex blocks until a command at index or later has been applied, or
// ctx ends, in which case it returns ctx's error.
func (f *FSM) WaitForIndex(ctx context.Context, index uint64) error {
	for {
		f.mu.RLock()
		applied, changed := f.appliedIndex, f.changed
		f.mu.RUnlock()
		if applied >= index {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for index %d (applied %d): %w", index, applied, ctx.Err())
		}
	}
}

func (f *FSM) setMasterAddressLocked(c SetMasterAddress) error {
	if c.ServerID == "" || c.APIAddress == "" {
		return fmt.Errorf("%w: master address needs a server ID and a URL", ErrInvalidCommand)
	}
	f.masters[c.ServerID] = c.APIAddress
	return nil
}

// MasterAddress returns the API URL recorded for a Raft server ID.
func (f *FSM) MasterAddress(serverID string) (string, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	addr, ok := f.masters[serverID]
	return addr, ok
}

// Counts returns the number of objects of each kind by status: tasks,
// pods and nodes by status, services under "".
func (f *FSM) Counts() map[string]map[string]int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	counts := map[string]map[string]int{"task": {}, "pod": {}, "node": {}, "service": {"": len(f.services)}}
	for status, set := range f.tasksByStatus {
		counts["task"][string(status)] = len(set)
	}
	for _, p := range f.pods {
		counts["pod"][string(p.Status)]++
	}
	for _, n := range f.nodes {
		counts["node"][string(n.Status)]++
	}
	return counts
}
