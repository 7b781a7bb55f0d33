package api

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/podling/podling/internal/types"
)

// Limits on pods and services, keeping one object, and so one log entry,
// well under the body limit.
const (
	maxContainers       = 16
	maxPorts            = 32
	maxLabels           = 64
	maxLabelValueLength = 63
	maxLabelKeyLength   = 253
	maxAnnotationsBytes = 64 << 10
	maxArgs             = 256
	maxArgLength        = 4096
	maxProbeSeconds     = 3600
	maxProbeThreshold   = 100
	maxDNSLabelLength   = 63
)

var (
	dnsLabelPattern   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	labelKeyPattern   = regexp.MustCompile(`^([a-z0-9.-]+/)?[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)
	labelValuePattern = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)?$`)
)

// validateDNSLabel checks a name against the DNS label rules: lowercase
// letters, digits and '-', starting and ending with a letter or digit, at
// most 63 characters.
func validateDNSLabel(field, name string) error {
	if name == "" {
		return invalid(field, "is required")
	}
	if len(name) > maxDNSLabelLength || !dnsLabelPattern.MatchString(name) {
		return invalid(field, "%q is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", truncate(name))
	}
	return nil
}

func validateNamespace(namespace string) error {
	if namespace == "" {
		return nil
	}
	return validateDNSLabel("namespace", namespace)
}

func validateLabels(field string, labels map[string]string) error {
	if len(labels) > maxLabels {
		return invalid(field, "has %d entries, the limit is %d", len(labels), maxLabels)
	}
	for key, value := range labels {
		if len(key) > maxLabelKeyLength || !labelKeyPattern.MatchString(key) {
			return invalid(field, "%q is not a valid label key", truncate(key))
		}
		if len(value) > maxLabelValueLength || !labelValuePattern.MatchString(value) {
			return invalid(field+"."+key, "%q is not a valid label value: use at most 63 letters, digits, '-', '_' or '.'", truncate(value))
		}
	}
	return nil
}

func validateAnnotations(annotations map[string]string) error {
	size := 0
	for key, value := range annotations {
		if len(key) > maxLabelKeyLength || !labelKeyPattern.MatchString(key) {
			return invalid("annotations", "%q is not a valid annotation key", truncate(key))
		}
		size += len(key) + len(value)
	}
	if size > maxAnnotationsBytes {
		return invalid("annotations", "total %d bytes, the limit is %d", size, maxAnnotationsBytes)
	}
	return nil
}

func validatePodRequest(req types.CreatePodRequest) error {
	if err := validateDNSLabel("name", req.Name); err != nil {
		return err
	}
	if err := validateObjectMeta(req.Namespace, req.Labels); err != nil {
		return err
	}
	if err := validateAnnotations(req.Annotations); err != nil {
		return err
	}
	if req.RestartPolicy != "" && !req.RestartPolicy.Valid() {
		return invalid("restartPolicy", "must be Always, OnFailure or Never, got %q", truncate(string(req.RestartPolicy)))
	}
	return validateContainers(req.Containers)
}

func validateObjectMeta(namespace string, labels map[string]string) error {
	if err := validateNamespace(namespace); err != nil {
		return err
	}
	return validateLabels("labels", labels)
}

func validateContainers(containers []types.Container) error {
	if len(containers) == 0 {
		return invalid("containers", "a pod needs at least one container")
	}
	if len(containers) > maxContainers {
		return invalid("containers", "has %d containers, the limit is %d", len(containers), maxContainers)
	}
	names := map[string]bool{}
	hostPorts := map[int]bool{}
	for i, c := range containers {
		field := fmt.Sprintf("containers[%d]", i)
		if err := validateContainer(field, c); err != nil {
			return err
		}
		if names[c.Name] {
			return invalid(field+".name", "%q is used by another container of the pod", c.Name)
		}
		names[c.Name] = true
		for j, p := range c.Ports {
			if p.HostPort != 0 && hostPorts[p.HostPort] {
				return invalid(fmt.Sprintf("%s.ports[%d].hostPort", field, j), "%d is published twice in the pod", p.HostPort)
			}
			hostPorts[p.HostPort] = true
		}
	}
	return nil
}

func validateContainer(field string, c types.Container) error {
	if err := validateDNSLabel(field+".name", c.Name); err != nil {
		return err
	}
	if err := validateImage(field+".image", c.Image); err != nil {
		return err
	}
	if err := validateArgs(field+".command", c.Command); err != nil {
		return err
	}
	if err := validateArgs(field+".args", c.Args); err != nil {
		return err
	}
	if err := validateEnv(field+".env", c.Env); err != nil {
		return err
	}
	if err := validateContainerPorts(field+".ports", c.Ports); err != nil {
		return err
	}
	if err := validateResources(field+".resources", c.Resources); err != nil {
		return err
	}
	if err := validateProbe(field+".livenessProbe", c.LivenessProbe); err != nil {
		return err
	}
	return validateProbe(field+".readinessProbe", c.ReadinessProbe)
}

func validateImage(field, image string) error {
	if image == "" {
		return invalid(field, "is required")
	}
	if len(image) > maxImageLength {
		return invalid(field, "is %d bytes long, the limit is %d", len(image), maxImageLength)
	}
	if !imagePattern.MatchString(image) {
		return invalid(field, "%q is not a valid image reference", truncate(image))
	}
	return nil
}

func validateArgs(field string, args []string) error {
	if len(args) > maxArgs {
		return invalid(field, "has %d entries, the limit is %d", len(args), maxArgs)
	}
	for i, arg := range args {
		if len(arg) > maxArgLength || strings.ContainsRune(arg, 0) {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "must be at most %d bytes without NUL bytes", maxArgLength)
		}
	}
	return nil
}

func validateContainerPorts(field string, ports []types.ContainerPort) error {
	if len(ports) > maxPorts {
		return invalid(field, "has %d ports, the limit is %d", len(ports), maxPorts)
	}
	for i, p := range ports {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := validatePort(f+".containerPort", p.ContainerPort); err != nil {
			return err
		}
		if p.HostPort != 0 {
			if err := validatePort(f+".hostPort", p.HostPort); err != nil {
				return err
			}
		}
		if p.Name != "" {
			if err := validateDNSLabel(f+".name", p.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func validatePort(field string, port int) error {
	if port < 1 || port > 65535 {
		return invalid(field, "must be between 1 and 65535, got %d", port)
	}
	return nil
}

func validateResources(field string, r types.Resources) error {
	for name, v := range map[string]int64{
		"requests.cpuMillis": r.Requests.CPUMillis, "requests.memoryBytes": r.Requests.MemoryBytes,
		"limits.cpuMillis": r.Limits.CPUMillis, "limits.memoryBytes": r.Limits.MemoryBytes,
	} {
		if v < 0 {
			return invalid(field+"."+name, "must not be negative, got %d", v)
		}
	}
	if r.Limits.CPUMillis > 0 && r.Requests.CPUMillis > r.Limits.CPUMillis {
		return invalid(field+".requests.cpuMillis", "%d is above the limit %d", r.Requests.CPUMillis, r.Limits.CPUMillis)
	}
	if r.Limits.MemoryBytes > 0 && r.Requests.MemoryBytes > r.Limits.MemoryBytes {
		return invalid(field+".requests.memoryBytes", "%d is above the limit %d", r.Requests.MemoryBytes, r.Limits.MemoryBytes)
	}
	return nil
}

// validateProbe checks a probe. Probes only target the pod's own IP, so a
// host other than localhost is rejected.
func validateProbe(field string, p *types.Probe) error {
	if p == nil {
		return nil
	}
	if err := validateProbeAction(field, p); err != nil {
		return err
	}
	for name, v := range map[string]int{
		"initialDelaySeconds": p.InitialDelaySeconds, "periodSeconds": p.PeriodSeconds, "timeoutSeconds": p.TimeoutSeconds,
	} {
		if v < 0 || v > maxProbeSeconds {
			return invalid(field+"."+name, "must be between 0 and %d, got %d", maxProbeSeconds, v)
		}
	}
	for name, v := range map[string]int{"successThreshold": p.SuccessThreshold, "failureThreshold": p.FailureThreshold} {
		if v < 0 || v > maxProbeThreshold {
			return invalid(field+"."+name, "must be between 0 and %d, got %d", maxProbeThreshold, v)
		}
	}
	return nil
}

func validateProbeAction(field string, p *types.Probe) error {
	actions := 0
	switch {
	case p.HTTPGet != nil:
		actions++
		if err := validateProbeTarget(field+".httpGet", p.HTTPGet.Host, p.HTTPGet.Port); err != nil {
			return err
		}
		if p.HTTPGet.Path != "" && (!strings.HasPrefix(p.HTTPGet.Path, "/") || !printable(p.HTTPGet.Path) || len(p.HTTPGet.Path) > maxArgLength) {
			return invalid(field+".httpGet.path", "must start with '/' and contain no control characters")
		}
	}
	if p.TCPSocket != nil {
		actions++
		if err := validateProbeTarget(field+".tcpSocket", p.TCPSocket.Host, p.TCPSocket.Port); err != nil {
			return err
		}
	}
	if p.Exec != nil {
		actions++
		if len(p.Exec.Command) == 0 {
			return invalid(field+".exec.command", "is required")
		}
		if err := validateArgs(field+".exec.command", p.Exec.Command); err != nil {
			return err
		}
	}
	if actions != 1 {
		return invalid(field, "needs exactly one of httpGet, tcpSocket and exec, got %d", actions)
	}
	return nil
}

func validateProbeTarget(field, host string, port int) error {
	if host != "" && host != "localhost" {
		return invalid(field+".host", "probes only target the pod's own IP; remove the host %q", truncate(host))
	}
	return validatePort(field+".port", port)
}

func validateServiceRequest(req types.CreateServiceRequest) error {
	if err := validateDNSLabel("name", req.Name); err != nil {
		return err
	}
	if err := validateObjectMeta(req.Namespace, req.Labels); err != nil {
		return err
	}
	if err := validateLabels("selector", req.Selector); err != nil {
		return err
	}
	return validateServicePorts(req.Ports)
}

func validateServicePorts(ports []types.ServicePort) error {
	if len(ports) == 0 {
		return invalid("ports", "a service needs at least one port")
	}
	if len(ports) > maxPorts {
		return invalid("ports", "has %d ports, the limit is %d", len(ports), maxPorts)
	}
	names := map[string]bool{}
	for i, p := range ports {
		field := fmt.Sprintf("ports[%d]", i)
		if err := validatePort(field+".port", p.Port); err != nil {
			return err
		}
		if err := validatePort(field+".targetPort", p.TargetPort); err != nil {
			return err
		}
		if len(ports) > 1 && p.Name == "" {
			return invalid(field+".name", "is required when a service has several ports")
		}
		if p.Name != "" {
			if err := validateDNSLabel(field+".name", p.Name); err != nil {
				return err
			}
			if names[p.Name] {
				return invalid(field+".name", "%q is used by another port", p.Name)
			}
			names[p.Name] = true
		}
	}
	return nil
}

// parseLabelSelector parses key=value,key2=value2. Only equality is
// supported.
func parseLabelSelector(raw string) (map[string]string, error) {
	if raw == "" {
		return nil, nil
	}
	selector := map[string]string{}
	for _, pair := range strings.Split(raw, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || strings.HasPrefix(value, "=") || strings.HasSuffix(key, "!") {
			return nil, invalid("labelSelector", "%q is not key=value; only equality is supported", truncate(pair))
		}
		selector[key] = value
	}
	if err := validateLabels("labelSelector", selector); err != nil {
		return nil, err
	}
	return selector, nil
}
