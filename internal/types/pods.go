package types

import "time"

// PodStatus is the lifecycle phase of a pod.
type PodStatus string

// Pod phases. A pod moves pending -> scheduled -> running ->
// succeeded|failed, may fail from any non-final phase, and may finish
// without being seen running when its containers exit at once.
const (
	PodPending   PodStatus = "pending"
	PodScheduled PodStatus = "scheduled"
	PodRunning   PodStatus = "running"
	PodSucceeded PodStatus = "succeeded"
	PodFailed    PodStatus = "failed"
)

// Valid reports whether s is one of the defined pod phases.
func (s PodStatus) Valid() bool {
	switch s {
	case PodPending, PodScheduled, PodRunning, PodSucceeded, PodFailed:
		return true
	}
	return false
}

// Terminal reports whether no further transition is possible from s.
func (s PodStatus) Terminal() bool { return s == PodSucceeded || s == PodFailed }

// RestartPolicy says what a worker does with a pod container that exited.
type RestartPolicy string

// Restart policies, as in Kubernetes.
const (
	RestartAlways    RestartPolicy = "Always"
	RestartOnFailure RestartPolicy = "OnFailure"
	RestartNever     RestartPolicy = "Never"
)

// Valid reports whether p is one of the defined restart policies.
func (p RestartPolicy) Valid() bool {
	return p == RestartAlways || p == RestartOnFailure || p == RestartNever
}

// DefaultNamespace is the namespace of objects created without one.
const DefaultNamespace = "default"

// ResourceList is an amount of CPU and memory.
type ResourceList struct {
	CPUMillis   int64 `json:"cpuMillis,omitempty"`
	MemoryBytes int64 `json:"memoryBytes,omitempty"`
}

// Add returns the sum of r and o.
func (r ResourceList) Add(o ResourceList) ResourceList {
	return ResourceList{CPUMillis: r.CPUMillis + o.CPUMillis, MemoryBytes: r.MemoryBytes + o.MemoryBytes}
}

// Fits reports whether r is no larger than free in both CPU and memory.
func (r ResourceList) Fits(free ResourceList) bool {
	return r.CPUMillis <= free.CPUMillis && r.MemoryBytes <= free.MemoryBytes
}

// Resources are a container's requests, which the scheduler reserves on
// a node, and limits, which the runtime enforces.
type Resources struct {
	Requests ResourceList `json:"requests,omitempty"`
	Limits   ResourceList `json:"limits,omitempty"`
}

// ContainerPort is a port a container listens on. HostPort, when set, is
// published on the node.
type ContainerPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort,omitempty"`
}

// HTTPGetAction probes with an HTTP GET to the pod's IP; a status from 200
// to 399 passes.
type HTTPGetAction struct {
	Path string `json:"path,omitempty"`
	Port int    `json:"port"`
	// Host must be empty or the literal "localhost": probes only target
	// the pod's own IP.
	Host string `json:"host,omitempty"`
}

// TCPSocketAction probes by opening a TCP connection to the pod's IP.
type TCPSocketAction struct {
	Port int    `json:"port"`
	Host string `json:"host,omitempty"`
}

// ExecAction probes by running a command in the container; exit code 0
// passes.
type ExecAction struct {
	Command []string `json:"command"`
}

// Probe is a periodic health check of one container. Exactly one of
// HTTPGet, TCPSocket and Exec is set.
type Probe struct {
	HTTPGet             *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket           *TCPSocketAction `json:"tcpSocket,omitempty"`
	Exec                *ExecAction      `json:"exec,omitempty"`
	InitialDelaySeconds int              `json:"initialDelaySeconds,omitempty"`
	// PeriodSeconds defaults to 10, TimeoutSeconds to 1, SuccessThreshold
	// to 1 and FailureThreshold to 3.
	PeriodSeconds    int `json:"periodSeconds,omitempty"`
	TimeoutSeconds   int `json:"timeoutSeconds,omitempty"`
	SuccessThreshold int `json:"successThreshold,omitempty"`
	FailureThreshold int `json:"failureThreshold,omitempty"`
}

// Container is one container of a pod.
type Container struct {
	Name           string            `json:"name"`
	Image          string            `json:"image"`
	Command        []string          `json:"command,omitempty"`
	Args           []string          `json:"args,omitempty"`
	Env            map[string]string `json:"env,omitempty"`
	Ports          []ContainerPort   `json:"ports,omitempty"`
	Resources      Resources         `json:"resources,omitempty"`
	LivenessProbe  *Probe            `json:"livenessProbe,omitempty"`
	ReadinessProbe *Probe            `json:"readinessProbe,omitempty"`
}

// Container states reported in ContainerStatus.State.
const (
	ContainerWaiting    = "waiting"
	ContainerRunning    = "running"
	ContainerTerminated = "terminated"
)

// ContainerStatus is a worker's report on one container of a pod.
type ContainerStatus struct {
	Name        string `json:"name"`
	ContainerID string `json:"containerId,omitempty"`
	// State is waiting, running or terminated.
	State string `json:"state"`
	// Ready is true while the container runs and its readiness probe, if
	// any, passes.
	Ready        bool       `json:"ready"`
	ExitCode     *int       `json:"exitCode,omitempty"`
	RestartCount int        `json:"restartCount"`
	Reason       string     `json:"reason,omitempty"`
	Message      string     `json:"message,omitempty"`
	StartedAt    *time.Time `json:"startedAt,omitempty"`
	FinishedAt   *time.Time `json:"finishedAt,omitempty"`
}

// Pod is a group of containers placed on one node as a unit, sharing one
// network namespace and one IP.
type Pod struct {
	PodID         string            `json:"podId"`
	Name          string            `json:"name"`
	Namespace     string            `json:"namespace"`
	Labels        map[string]string `json:"labels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
	RestartPolicy RestartPolicy     `json:"restartPolicy"`
	Containers    []Container       `json:"containers"`

	Status            PodStatus         `json:"status"`
	NodeID            string            `json:"nodeId,omitempty"`
	PodIP             string            `json:"podIP,omitempty"`
	ContainerStatuses []ContainerStatus `json:"containerStatuses,omitempty"`
	// Reason is a short machine-readable cause, such as Unschedulable or
	// NodeLost; Message explains it.
	Reason     string     `json:"reason,omitempty"`
	Message    string     `json:"message,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

// Requests returns the sum of the resource requests of the pod's containers.
func (p Pod) Requests() ResourceList {
	var total ResourceList
	for _, c := range p.Containers {
		total = total.Add(c.Resources.Requests)
	}
	return total
}

// Ready reports whether the pod runs and every container is ready.
func (p Pod) Ready() bool {
	if p.Status != PodRunning || len(p.ContainerStatuses) != len(p.Containers) {
		return false
	}
	for _, c := range p.ContainerStatuses {
		if !c.Ready {
			return false
		}
	}
	return true
}

// CreatePodRequest is the body of POST /api/v1/pods.
type CreatePodRequest struct {
	Name          string            `json:"name"`
	Namespace     string            `json:"namespace,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
	RestartPolicy RestartPolicy     `json:"restartPolicy,omitempty"`
	Containers    []Container       `json:"containers"`
}

// PodStatusReport is the body of PUT /api/v1/pods/{podId}/status, sent by
// the worker that runs the pod, and of the worker's pod status endpoint.
type PodStatusReport struct {
	Status            PodStatus         `json:"status"`
	PodIP             string            `json:"podIP,omitempty"`
	ContainerStatuses []ContainerStatus `json:"containerStatuses,omitempty"`
	Reason            string            `json:"reason,omitempty"`
	Message           string            `json:"message,omitempty"`
	// NodeID names the reporting worker. A report from a node the pod is
	// not placed on is rejected.
	NodeID string `json:"nodeId,omitempty"`
}

// PodExecuteRequest is the body of the worker's POST
// /api/v1/pods/{podId}/execute. Term and Index order dispatches as in
// ExecuteRequest.
type PodExecuteRequest struct {
	Pod   Pod    `json:"pod"`
	Term  uint64 `json:"term,omitempty"`
	Index uint64 `json:"index,omitempty"`
}

// Reasons recorded on pods.
const (
	ReasonUnschedulable = "Unschedulable"
)
