// Package types defines the objects of the Podling API and their JSON form.
// Masters, workers and clients all share these definitions, so a field name
// here is part of the wire contract: JSON keys are camelCase and never renamed.
package types

import "time"

// TaskStatus is the lifecycle state of a task.
type TaskStatus string

// Task states. A task moves pending -> scheduled -> running -> completed|failed,
// and may fail from any non-terminal state.
const (
	TaskPending   TaskStatus = "pending"
	TaskScheduled TaskStatus = "scheduled"
	TaskRunning   TaskStatus = "running"
	TaskCompleted TaskStatus = "completed"
	TaskFailed    TaskStatus = "failed"
)

// Valid reports whether s is one of the defined task states.
func (s TaskStatus) Valid() bool {
	switch s {
	case TaskPending, TaskScheduled, TaskRunning, TaskCompleted, TaskFailed:
		return true
	}
	return false
}

// Terminal reports whether no further transition is possible from s.
func (s TaskStatus) Terminal() bool {
	return s == TaskCompleted || s == TaskFailed
}

// Task is a single container run to completion on one worker.
type Task struct {
	TaskID      string            `json:"taskId"`
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels,omitempty"`
	Image       string            `json:"image"`
	Env         map[string]string `json:"env,omitempty"`
	Status      TaskStatus        `json:"status"`
	NodeID      string            `json:"nodeId,omitempty"`
	ContainerID string            `json:"containerId,omitempty"`
	// ExitCode is set once the container has exited.
	ExitCode *int `json:"exitCode,omitempty"`
	// Reason is a short machine-readable cause of failure, such as NodeLost.
	Reason string `json:"reason,omitempty"`
	// Message is a human-readable explanation of the last status change.
	Message    string     `json:"message,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

// CreateTaskRequest is the body of POST /api/v1/tasks.
type CreateTaskRequest struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	Image     string            `json:"image"`
	Env       map[string]string `json:"env,omitempty"`
}

// TaskStatusUpdate is the body of PUT /api/v1/tasks/{taskId}/status, sent by
// the worker that runs the task.
type TaskStatusUpdate struct {
	Status      TaskStatus `json:"status"`
	ContainerID string     `json:"containerId,omitempty"`
	ExitCode    *int       `json:"exitCode,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	Message     string     `json:"message,omitempty"`
	// NodeID names the reporting worker. When set, a report from a node the
	// task is not placed on is rejected.
	NodeID string `json:"nodeId,omitempty"`
}

// NodeStatus is the liveness state of a worker node.
type NodeStatus string

// Node states.
const (
	NodeOnline  NodeStatus = "online"
	NodeOffline NodeStatus = "offline"
)

// Node is a worker host known to the cluster.
type Node struct {
	NodeID   string `json:"nodeId"`
	Hostname string `json:"hostname"`
	Port     int    `json:"port"`
	// Capacity is the number of tasks the node runs at once.
	Capacity int `json:"capacity"`
	// CPUMillis and MemoryBytes are the node's total resources, when known.
	CPUMillis   int64 `json:"cpuMillis,omitempty"`
	MemoryBytes int64 `json:"memoryBytes,omitempty"`
	// Allocatable is the part of the node's resources pods may request.
	Allocatable ResourceList `json:"allocatable"`
	// Used is the sum of the requests of the pods placed on the node.
	Used   ResourceList `json:"used"`
	Status NodeStatus   `json:"status"`
	// Unschedulable keeps new work off the node; CordonReason gives the cause:
	// Drained by an operator, or WorkerLeaving while its worker shuts down.
	Unschedulable bool      `json:"unschedulable,omitempty"`
	CordonReason  string    `json:"cordonReason,omitempty"`
	RunningTasks  int       `json:"runningTasks"`
	RunningPods   int       `json:"runningPods"`
	LastHeartbeat time.Time `json:"lastHeartbeat"`
	RegisteredAt  time.Time `json:"registeredAt"`
}

// RegisterNodeRequest is the body of POST /api/v1/nodes/register. NodeID
// defaults to Hostname, so registering twice with the same ID is idempotent.
type RegisterNodeRequest struct {
	NodeID      string `json:"nodeId,omitempty"`
	Hostname    string `json:"hostname"`
	Port        int    `json:"port"`
	Capacity    int    `json:"capacity"`
	CPUMillis   int64  `json:"cpuMillis,omitempty"`
	MemoryBytes int64  `json:"memoryBytes,omitempty"`
	// Allocatable defaults to the whole of CPUMillis and MemoryBytes.
	Allocatable *ResourceList `json:"allocatable,omitempty"`
	// Tasks and Pods announce the containers the worker found when it
	// started, so the leader adopts them instead of placing them again.
	Tasks []AnnouncedTask `json:"tasks,omitempty"`
	Pods  []AnnouncedPod  `json:"pods,omitempty"`
}

// AnnouncedTask is a task container a worker has.
type AnnouncedTask struct {
	TaskID      string `json:"taskId"`
	ContainerID string `json:"containerId"`
	// Status is running, completed or failed.
	Status   TaskStatus `json:"status"`
	ExitCode *int       `json:"exitCode,omitempty"`
}

// AnnouncedPod is a pod a worker runs, with its current report.
type AnnouncedPod struct {
	PodID  string          `json:"podId"`
	Report PodStatusReport `json:"report"`
}

// RegisterNodeResponse is the response to POST /api/v1/nodes/register: the
// node, and the announced work the cluster does not place on it, whose
// containers the worker should stop and remove.
type RegisterNodeResponse struct {
	Node
	Orphans Orphans `json:"orphans"`
}

// Orphans lists task and pod IDs a worker runs without the cluster placing
// them on its node.
type Orphans struct {
	Tasks []string `json:"tasks"`
	Pods  []string `json:"pods"`
}

// ExecuteRequest is the body of the worker's POST /api/v1/tasks/{id}/execute.
// Term and Index are the Raft term of the dispatching leader and the log
// index of the placement, so a worker can order dispatches.
type ExecuteRequest struct {
	Task  Task   `json:"task"`
	Term  uint64 `json:"term,omitempty"`
	Index uint64 `json:"index,omitempty"`
}

// ExecuteResponse is the worker's response to an execute request.
type ExecuteResponse struct {
	TaskID      string `json:"taskId"`
	ContainerID string `json:"containerId,omitempty"`
	// Started is false when the worker already had a container for the task.
	Started bool `json:"started"`
}

// WorkerTaskStatus is the worker's view of one task's container, returned by
// the worker's GET /api/v1/tasks/{id}/status.
type WorkerTaskStatus struct {
	TaskID      string     `json:"taskId"`
	Status      TaskStatus `json:"status"`
	ContainerID string     `json:"containerId,omitempty"`
	ExitCode    *int       `json:"exitCode,omitempty"`
	Message     string     `json:"message,omitempty"`
}

// Error is the JSON body of every error response.
type Error struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// Reasons recorded on failed tasks.
const (
	ReasonNodeLost        = "NodeLost"
	ReasonImagePullFailed = "ImagePullFailed"
	ReasonContainerError  = "ContainerError"
	ReasonNonZeroExit     = "NonZeroExit"
	ReasonDispatchFailed  = "DispatchFailed"
	ReasonDrained         = "Drained"
	ReasonWorkerLeaving   = "WorkerLeaving"
)

// LeaderChange is one entry of the failover record: a master that took
// over as leader, and how long after the previous takeover.
type LeaderChange struct {
	LeaderID         string    `json:"leaderId"`
	Term             uint64    `json:"term"`
	At               time.Time `json:"at"`
	PreviousLeaderID string    `json:"previousLeaderId,omitempty"`
	// SincePrevious is the time since the previous takeover, as a Go
	// duration; empty for the first one recorded.
	SincePrevious string `json:"sincePrevious,omitempty"`
}
