package api

import (
	"fmt"
	"regexp"
	"unicode"

	"github.com/podling/podling/internal/ids"
	"github.com/podling/podling/internal/types"
)

// Input limits. They keep one object, and so one log entry, small.
const (
	maxNameLength     = 253
	maxImageLength    = 255
	maxEnvVars        = 128
	maxEnvKeyLength   = 256
	maxEnvValueLength = 32 << 10
	maxMessageLength  = 4096
	maxCapacity       = 10000
)

var (
	imagePattern       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:@-]*$`)
	envKeyPattern      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	hostnamePattern    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
	containerIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	reasonPattern      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,63}$`)
)

func validateTaskRequest(req types.CreateTaskRequest) error {
	if err := validateDNSLabel("name", req.Name); err != nil {
		return err
	}
	if err := validateObjectMeta(req.Namespace, req.Labels); err != nil {
		return err
	}
	if err := validateImage("image", req.Image); err != nil {
		return err
	}
	return validateEnv("env", req.Env)
}

func validateEnv(field string, env map[string]string) error {
	if len(env) > maxEnvVars {
		return invalid(field, "has %d variables, the limit is %d", len(env), maxEnvVars)
	}
	for key, value := range env {
		if len(key) > maxEnvKeyLength || !envKeyPattern.MatchString(key) {
			return invalid(field, "%q is not a valid variable name", truncate(key))
		}
		if len(value) > maxEnvValueLength {
			return invalid(field+"."+key, "value is %d bytes long, the limit is %d", len(value), maxEnvValueLength)
		}
		for _, r := range value {
			if r == 0 {
				return invalid(field+"."+key, "value must not contain NUL bytes")
			}
		}
	}
	return nil
}

// validateStatusUpdate checks a worker's report. Workers report running,
// completed and failed; only the scheduler places tasks.
func validateStatusUpdate(u types.TaskStatusUpdate) error {
	switch u.Status {
	case types.TaskRunning, types.TaskCompleted, types.TaskFailed:
	case "":
		return invalid("status", "is required")
	default:
		return invalid("status", "must be running, completed or failed, got %q", truncate(string(u.Status)))
	}
	if u.ContainerID != "" && !containerIDPattern.MatchString(u.ContainerID) {
		return invalid("containerId", "%q is not a valid container ID", truncate(u.ContainerID))
	}
	return validateReportText(u.Reason, u.Message, u.NodeID)
}

// validateReportText checks the fields every worker report shares.
func validateReportText(reason, message, nodeID string) error {
	if reason != "" && !reasonPattern.MatchString(reason) {
		return invalid("reason", "must be a single word of letters and digits, got %q", truncate(reason))
	}
	if len(message) > maxMessageLength {
		return invalid("message", "is %d bytes long, the limit is %d", len(message), maxMessageLength)
	}
	if nodeID != "" && !ids.ValidNode(nodeID) {
		return invalid("nodeId", "%q is not a valid node ID", truncate(nodeID))
	}
	return nil
}

func validateRegisterRequest(req types.RegisterNodeRequest) error {
	if req.Hostname == "" {
		return invalid("hostname", "is required")
	}
	if len(req.Hostname) > maxNameLength || !hostnamePattern.MatchString(req.Hostname) {
		return invalid("hostname", "%q is not a valid host name", truncate(req.Hostname))
	}
	if req.NodeID != "" && !ids.ValidNode(req.NodeID) {
		return invalid("nodeId", "%q is not a valid node ID: use 1 to 63 letters, digits, '.', '-' or '_'", truncate(req.NodeID))
	}
	if req.NodeID == "" && !ids.ValidNode(req.Hostname) {
		return invalid("nodeId", "is required when the host name %q is not a valid node ID", truncate(req.Hostname))
	}
	if req.Port < 1 || req.Port > 65535 {
		return invalid("port", "must be between 1 and 65535, got %d", req.Port)
	}
	if req.Capacity < 1 || req.Capacity > maxCapacity {
		return invalid("capacity", "must be between 1 and %d, got %d", maxCapacity, req.Capacity)
	}
	if req.CPUMillis < 0 || req.MemoryBytes < 0 {
		return invalid("cpuMillis", "cpuMillis and memoryBytes must not be negative")
	}
	if a := req.Allocatable; a != nil && (a.CPUMillis < 0 || a.MemoryBytes < 0 || a.CPUMillis > req.CPUMillis || a.MemoryBytes > req.MemoryBytes) {
		return invalid("allocatable", "must lie between zero and the node's cpuMillis and memoryBytes")
	}
	return validateAnnouncements(req)
}

// maxAnnounced bounds the containers one registration may announce.
const maxAnnounced = 10000

func validateAnnouncements(req types.RegisterNodeRequest) error {
	if len(req.Tasks) > maxAnnounced || len(req.Pods) > maxAnnounced {
		return invalid("tasks", "a registration announces at most %d tasks and %d pods", maxAnnounced, maxAnnounced)
	}
	for i, t := range req.Tasks {
		field := fmt.Sprintf("tasks[%d]", i)
		if !ids.ValidObject(t.TaskID) {
			return invalid(field+".taskId", "%q is not a valid task ID", truncate(t.TaskID))
		}
		update := types.TaskStatusUpdate{Status: t.Status, ContainerID: t.ContainerID}
		if err := validateStatusUpdate(update); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
	}
	for i, p := range req.Pods {
		field := fmt.Sprintf("pods[%d]", i)
		if !ids.ValidObject(p.PodID) {
			return invalid(field+".podId", "%q is not a valid pod ID", truncate(p.PodID))
		}
		if err := validatePodReport(p.Report); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// truncate shortens a rejected value before it is echoed in an error.
func truncate(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
