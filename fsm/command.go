package fsm

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/podling/podling/internal/types"
)

// CommandType numbers a kind of log entry. The numbers are part of the log
// format: a number is never reused for another meaning, and a retired type
// keeps its number reserved.
type CommandType uint8

// Command types. A master that meets a type it does not know rejects the
// entry with ErrUnknownCommand and leaves its state unchanged, so every
// master of a cluster must be upgraded before a new type is proposed.
const (
	CommandCreateTask        CommandType = 1
	CommandUpdateTaskStatus  CommandType = 2
	CommandRegisterNode      CommandType = 3
	CommandSetNodeStatus     CommandType = 4
	CommandNodeHeartbeats    CommandType = 5
	CommandSetMasterAddress  CommandType = 6
	CommandCreatePod         CommandType = 7
	CommandUpdatePodStatus   CommandType = 8
	CommandPlacePod          CommandType = 9
	CommandMarkUnschedulable CommandType = 10
	CommandDeletePod         CommandType = 11
	CommandCreateService     CommandType = 12
	CommandDeleteService     CommandType = 13
	CommandCordonNode        CommandType = 14
	CommandReleasePod        CommandType = 15
	CommandRecordLeader      CommandType = 16
	CommandBatch             CommandType = 17
)

// CommandVersion is the payload version this master writes. Apply accepts
// every version up to it.
const CommandVersion uint8 = 1

// headerSize is the length of the type and version bytes before the payload.
const headerSize = 2

func (t CommandType) String() string {
	switch t {
	case CommandCreateTask:
		return "create_task"
	case CommandUpdateTaskStatus:
		return "update_task_status"
	case CommandRegisterNode:
		return "register_node"
	case CommandSetNodeStatus:
		return "set_node_status"
	case CommandNodeHeartbeats:
		return "node_heartbeats"
	case CommandSetMasterAddress:
		return "set_master_address"
	case CommandCreatePod:
		return "create_pod"
	case CommandUpdatePodStatus:
		return "update_pod_status"
	case CommandPlacePod:
		return "place_pod"
	case CommandMarkUnschedulable:
		return "mark_unschedulable"
	case CommandDeletePod:
		return "delete_pod"
	case CommandCreateService:
		return "create_service"
	case CommandDeleteService:
		return "delete_service"
	case CommandCordonNode:
		return "cordon_node"
	case CommandReleasePod:
		return "release_pod"
	case CommandRecordLeader:
		return "record_leader"
	case CommandBatch:
		return "batch"
	}
	return fmt.Sprintf("command_%d", uint8(t))
}

// Command is a payload that can be written to the log.
type Command interface {
	Type() CommandType
}

// CreateTask adds a pending task. The leader fills in the ID and times.
type CreateTask struct {
	Task        types.Task   `json:"task"`
	Idempotency *Idempotency `json:"idempotency,omitempty"`
}

// UpdateTaskStatus moves a task to a new status. A move to scheduled must
// name the node in Update.NodeID. Time is the leader's clock at proposal.
type UpdateTaskStatus struct {
	TaskID string                 `json:"taskId"`
	Update types.TaskStatusUpdate `json:"update"`
	Time   time.Time              `json:"time"`
}

// RegisterNode adds a worker node or refreshes a known one, which comes back
// online.
type RegisterNode struct {
	Node types.Node `json:"node"`
}

// SetNodeStatus marks a node online or offline. Taking a node offline fails
// its unfinished tasks with the reason NodeLost in the same entry.
type SetNodeStatus struct {
	NodeID string           `json:"nodeId"`
	Status types.NodeStatus `json:"status"`
	Time   time.Time        `json:"time"`
}

// NodeHeartbeats records the last-seen times of many nodes at once, so
// heartbeats cost one log entry per batch rather than one per worker.
type NodeHeartbeats struct {
	LastSeen map[string]time.Time `json:"lastSeen"`
}

// SetMasterAddress records the API URL of a master, so that any master can
// find the API of the current leader from its Raft server ID.
type SetMasterAddress struct {
	ServerID   string `json:"serverId"`
	APIAddress string `json:"apiAddress"`
}

// CreatePod adds a pending pod. The leader fills in the ID, namespace
// default and times.
type CreatePod struct {
	Pod         types.Pod    `json:"pod"`
	Idempotency *Idempotency `json:"idempotency,omitempty"`
}

// UpdatePodStatus applies a worker's report on a pod placed on it.
type UpdatePodStatus struct {
	PodID  string                `json:"podId"`
	Report types.PodStatusReport `json:"report"`
	Time   time.Time             `json:"time"`
}

// PlacePod assigns a pending pod to a node whose free resources fit the
// pod's requests.
type PlacePod struct {
	PodID  string    `json:"podId"`
	NodeID string    `json:"nodeId"`
	Time   time.Time `json:"time"`
}

// MarkUnschedulable records on a pending pod why no node can take it.
type MarkUnschedulable struct {
	PodID   string    `json:"podId"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

// DeletePod removes a pod. The leader stops its containers first.
type DeletePod struct {
	PodID string `json:"podId"`
}

// CreateService adds a service. The leader fills in the ID and time.
type CreateService struct {
	Service     types.Service `json:"service"`
	Idempotency *Idempotency  `json:"idempotency,omitempty"`
}

// DeleteService removes a service.
type DeleteService struct {
	ServiceID string `json:"serviceId"`
}

// CordonNode keeps new work off a node, or lets it back on when
// Unschedulable is false.
type CordonNode struct {
	NodeID        string    `json:"nodeId"`
	Unschedulable bool      `json:"unschedulable"`
	Reason        string    `json:"reason,omitempty"`
	Time          time.Time `json:"time"`
}

// ReleasePod takes a placed pod off its node and makes it pending again,
// to be placed elsewhere. The leader stops its containers first.
type ReleasePod struct {
	PodID   string    `json:"podId"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

// RecordLeader notes that a master took over as leader, for the failover
// record. Time is the new leader's clock when it took over.
type RecordLeader struct {
	ServerID string    `json:"serverId"`
	Term     uint64    `json:"term"`
	Time     time.Time `json:"time"`
}

// Type implements Command.
func (RecordLeader) Type() CommandType { return CommandRecordLeader }

// Type implements Command.
func (CordonNode) Type() CommandType { return CommandCordonNode }

// Type implements Command.
func (ReleasePod) Type() CommandType { return CommandReleasePod }

// Type implements Command.
func (CreatePod) Type() CommandType { return CommandCreatePod }

// Type implements Command.
func (UpdatePodStatus) Type() CommandType { return CommandUpdatePodStatus }

// Type implements Command.
func (PlacePod) Type() CommandType { return CommandPlacePod }

// Type implements Command.
func (MarkUnschedulable) Type() CommandType { return CommandMarkUnschedulable }

// Type implements Command.
func (DeletePod) Type() CommandType { return CommandDeletePod }

// Type implements Command.
func (CreateService) Type() CommandType { return CommandCreateService }

// Type implements Command.
func (DeleteService) Type() CommandType { return CommandDeleteService }

// Type implements Command.
func (CreateTask) Type() CommandType { return CommandCreateTask }

// Type implements Command.
func (UpdateTaskStatus) Type() CommandType { return CommandUpdateTaskStatus }

// Type implements Command.
func (RegisterNode) Type() CommandType { return CommandRegisterNode }

// Type implements Command.
func (SetNodeStatus) Type() CommandType { return CommandSetNodeStatus }

// Type implements Command.
func (NodeHeartbeats) Type() CommandType { return CommandNodeHeartbeats }

// Type implements Command.
func (SetMasterAddress) Type() CommandType { return CommandSetMasterAddress }

// Encode serializes a command as one type byte, one version byte and a JSON
// payload. A Batch's payload is its entries instead, each after its length.
func Encode(cmd Command) ([]byte, error) {
	if b, ok := cmd.(Batch); ok {
		return encodeBatch(b), nil
	}
	payload, err := json.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("encode %s command: %w", cmd.Type(), err)
	}
	out := make([]byte, 0, headerSize+len(payload))
	out = append(out, byte(cmd.Type()), CommandVersion)
	return append(out, payload...), nil
}

// Decode parses an entry written by Encode. It returns ErrUnknownCommand
// for a type or version this master does not know.
func Decode(data []byte) (Command, error) {
	if len(data) < headerSize {
		return nil, fmt.Errorf("%w: entry of %d bytes has no header", ErrInvalidCommand, len(data))
	}
	cmdType, version := CommandType(data[0]), data[1]
	if version == 0 || version > CommandVersion {
		return nil, fmt.Errorf("%w: %s version %d", ErrUnknownCommand, cmdType, version)
	}
	if cmdType == CommandBatch {
		return decodeBatch(data[headerSize:])
	}
	cmd, err := newCommand(cmdType)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data[headerSize:], cmd); err != nil {
		return nil, fmt.Errorf("%w: %s payload: %w", ErrInvalidCommand, cmdType, err)
	}
	return derefCommand(cmd), nil
}

func newCommand(t CommandType) (Command, error) {
	switch t {
	case CommandCreateTask:
		return &CreateTask{}, nil
	case CommandUpdateTaskStatus:
		return &UpdateTaskStatus{}, nil
	case CommandRegisterNode:
		return &RegisterNode{}, nil
	case CommandSetNodeStatus:
		return &SetNodeStatus{}, nil
	case CommandNodeHeartbeats:
		return &NodeHeartbeats{}, nil
	case CommandSetMasterAddress:
		return &SetMasterAddress{}, nil
	case CommandCreatePod:
		return &CreatePod{}, nil
	case CommandUpdatePodStatus:
		return &UpdatePodStatus{}, nil
	case CommandPlacePod:
		return &PlacePod{}, nil
	case CommandMarkUnschedulable:
		return &MarkUnschedulable{}, nil
	case CommandDeletePod:
		return &DeletePod{}, nil
	case CommandCreateService:
		return &CreateService{}, nil
	case CommandDeleteService:
		return &DeleteService{}, nil
	case CommandCordonNode:
		return &CordonNode{}, nil
	case CommandReleasePod:
		return &ReleasePod{}, nil
	case CommandRecordLeader:
		return &RecordLeader{}, nil
	}
	return nil, fmt.Errorf("%w: type %d", ErrUnknownCommand, uint8(t))
}

// derefCommand turns the pointer filled by json.Unmarshal back into the
// value type that Encode accepts, so commands compare equal after a round trip.
func derefCommand(cmd Command) Command {
	switch c := cmd.(type) {
	case *CreateTask:
		return *c
	case *UpdateTaskStatus:
		return *c
	case *RegisterNode:
		return *c
	case *SetNodeStatus:
		return *c
	case *NodeHeartbeats:
		return *c
	case *SetMasterAddress:
		return *c
	case *CreatePod:
		return *c
	case *UpdatePodStatus:
		return *c
	case *PlacePod:
		return *c
	case *MarkUnschedulable:
		return *c
	case *DeletePod:
		return *c
	case *CreateService:
		return *c
	case *DeleteService:
		return *c
	case *CordonNode:
		return *c
	case *ReleasePod:
		return *c
	case *RecordLeader:
		return *c
	}
	return cmd
}
