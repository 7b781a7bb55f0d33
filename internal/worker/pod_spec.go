package worker

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/types"
)

// validatePod checks a pod sent to the execute endpoint. Every error is a
// 400 naming the field.
func validatePod(pathID string, pod types.Pod) error {
	if pod.PodID != pathID {
		return invalidPod("pod.podId %q does not match pod id %q in path", pod.PodID, pathID)
	}
	if pod.RestartPolicy != "" && !pod.RestartPolicy.Valid() {
		return invalidPod("pod.restartPolicy %q must be Always, OnFailure or Never", pod.RestartPolicy)
	}
	if len(pod.Containers) == 0 {
		return invalidPod("pod.containers must list at least one container")
	}
	names := make(map[string]bool, len(pod.Containers))
	hostPorts := make(map[int]bool)
	for i, c := range pod.Containers {
		field := fmt.Sprintf("pod.containers[%d]", i)
		if err := validateContainer(field, c, hostPorts); err != nil {
			return err
		}
		if names[c.Name] {
			return invalidPod("%s.name %q is used by another container of the pod", field, c.Name)
		}
		names[c.Name] = true
	}
	return nil
}

func validateContainer(field string, c types.Container, hostPorts map[int]bool) error {
	if err := runtime.ValidateContainerName(c.Name); err != nil {
		return invalidPod("%s.name: %v", field, err)
	}
	if c.Image == "" {
		return invalidPod("%s.image is required", field)
	}
	if c.Resources.Limits.CPUMillis < 0 || c.Resources.Limits.MemoryBytes < 0 {
		return invalidPod("%s.resources.limits must not be negative", field)
	}
	for j, p := range c.Ports {
		if err := validatePort(fmt.Sprintf("%s.ports[%d]", field, j), p, hostPorts); err != nil {
			return err
		}
	}
	if err := validateProbe(field+".livenessProbe", c.LivenessProbe); err != nil {
		return err
	}
	return validateProbe(field+".readinessProbe", c.ReadinessProbe)
}

func validatePort(field string, p types.ContainerPort, hostPorts map[int]bool) error {
	if !validPortNumber(p.ContainerPort) {
		return invalidPod("%s.containerPort %d is outside 1-65535", field, p.ContainerPort)
	}
	if p.HostPort == 0 {
		return nil
	}
	if !validPortNumber(p.HostPort) {
		return invalidPod("%s.hostPort %d is outside 1-65535", field, p.HostPort)
	}
	if hostPorts[p.HostPort] {
		return invalidPod("%s.hostPort %d is published twice in the pod", field, p.HostPort)
	}
	hostPorts[p.HostPort] = true
	return nil
}

// validateProbe checks that a probe has exactly one action and sane
// timings. The host of an action is not checked, because probes always
// target the pod's own IP.
func validateProbe(field string, p *types.Probe) error {
	if p == nil {
		return nil
	}
	actions := 0
	switch {
	case p.HTTPGet != nil && !validPortNumber(p.HTTPGet.Port):
		return invalidPod("%s.httpGet.port %d is outside 1-65535", field, p.HTTPGet.Port)
	case p.TCPSocket != nil && !validPortNumber(p.TCPSocket.Port):
		return invalidPod("%s.tcpSocket.port %d is outside 1-65535", field, p.TCPSocket.Port)
	case p.Exec != nil && len(p.Exec.Command) == 0:
		return invalidPod("%s.exec.command must not be empty", field)
	}
	for _, set := range []bool{p.HTTPGet != nil, p.TCPSocket != nil, p.Exec != nil} {
		if set {
			actions++
		}
	}
	if actions != 1 {
		return invalidPod("%s must set exactly one of httpGet, tcpSocket and exec", field)
	}
	if p.InitialDelaySeconds < 0 || p.PeriodSeconds < 0 || p.TimeoutSeconds < 0 || p.SuccessThreshold < 0 || p.FailureThreshold < 0 {
		return invalidPod("%s timings and thresholds must not be negative", field)
	}
	return nil
}

func validPortNumber(port int) bool { return port >= 1 && port <= 65535 }

func invalidPod(format string, args ...any) error {
	return newAPIError(http.StatusBadRequest, codeInvalidRequest, format, args...)
}

// restartPolicy returns the pod's restart policy; empty means Always.
func restartPolicy(pod types.Pod) types.RestartPolicy {
	if pod.RestartPolicy == "" {
		return types.RestartAlways
	}
	return pod.RestartPolicy
}

// podSpecOf returns the fields of pod that describe what to run, without
// any status, as stored with the sandbox for adoption.
func podSpecOf(pod types.Pod) types.Pod {
	return types.Pod{
		PodID:         pod.PodID,
		Name:          pod.Name,
		Namespace:     pod.Namespace,
		Labels:        pod.Labels,
		Annotations:   pod.Annotations,
		RestartPolicy: restartPolicy(pod),
		Containers:    pod.Containers,
	}
}

// encodePodSpec returns the JSON stored in the sandbox's pod spec label.
func encodePodSpec(pod types.Pod) (string, error) {
	data, err := json.Marshal(podSpecOf(pod))
	if err != nil {
		return "", fmt.Errorf("encode spec of pod %s: %w", pod.PodID, err)
	}
	return string(data), nil
}

// decodePodSpec reads the pod spec label of an adopted sandbox.
func decodePodSpec(sandbox runtime.Container) (types.Pod, error) {
	var pod types.Pod
	if err := json.Unmarshal([]byte(sandbox.PodSpec), &pod); err != nil {
		return types.Pod{}, fmt.Errorf("decode spec of pod %s from sandbox %s: %w", sandbox.PodID, sandbox.ID, err)
	}
	if pod.PodID != sandbox.PodID || len(pod.Containers) == 0 {
		return types.Pod{}, fmt.Errorf("pod spec label of sandbox %s does not describe pod %s", sandbox.ID, sandbox.PodID)
	}
	return pod, nil
}

// sandboxSpec returns the runtime spec of the pod's sandbox, which
// publishes the host ports of all its containers.
func sandboxSpec(pod types.Pod, pauseImage, encodedSpec string) runtime.SandboxSpec {
	spec := runtime.SandboxSpec{PodID: pod.PodID, Image: pauseImage, PodSpec: encodedSpec}
	for _, c := range pod.Containers {
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				spec.Ports = append(spec.Ports, runtime.PortBinding{ContainerPort: p.ContainerPort, HostPort: p.HostPort})
			}
		}
	}
	return spec
}

// containerSpec returns the runtime spec of a pod container's restartCount-th
// replacement.
func containerSpec(podID, sandboxID string, c types.Container, restartCount int) runtime.PodContainerSpec {
	return runtime.PodContainerSpec{
		PodID:        podID,
		Name:         c.Name,
		SandboxID:    sandboxID,
		Image:        c.Image,
		Command:      c.Command,
		Args:         c.Args,
		Env:          c.Env,
		CPUMillis:    c.Resources.Limits.CPUMillis,
		MemoryBytes:  c.Resources.Limits.MemoryBytes,
		RestartCount: restartCount,
	}
}
