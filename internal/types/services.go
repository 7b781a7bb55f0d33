package types

import "time"

// ServicePort maps a service port to a port of the selected pods.
type ServicePort struct {
	Name       string `json:"name,omitempty"`
	Port       int    `json:"port"`
	TargetPort int    `json:"targetPort"`
}

// Service is a stable name for the pods in its namespace whose labels
// match every pair of its selector.
type Service struct {
	ServiceID string            `json:"serviceId"`
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
	Selector  map[string]string `json:"selector"`
	Ports     []ServicePort     `json:"ports"`
	CreatedAt time.Time         `json:"createdAt"`
}

// CreateServiceRequest is the body of POST /api/v1/services.
type CreateServiceRequest struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	Selector  map[string]string `json:"selector"`
	Ports     []ServicePort     `json:"ports"`
}

// EndpointAddress is one pod address behind a service port.
type EndpointAddress struct {
	// Address is IP:targetPort, ready to dial.
	Address  string `json:"address"`
	IP       string `json:"ip"`
	Port     int    `json:"port"`
	PortName string `json:"portName,omitempty"`
	PodID    string `json:"podId"`
	PodName  string `json:"podName"`
	NodeID   string `json:"nodeId"`
}

// Endpoints are the current addresses of a service: ready ones receive
// traffic, not-ready ones belong to running pods that fail readiness.
type Endpoints struct {
	ServiceID         string            `json:"serviceId"`
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace"`
	Addresses         []EndpointAddress `json:"addresses"`
	NotReadyAddresses []EndpointAddress `json:"notReadyAddresses"`
}

// SelectorMatches reports whether labels contain every pair of selector.
// An empty selector matches nothing, so a service never selects every pod
// by accident.
func SelectorMatches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for key, value := range selector {
		if got, ok := labels[key]; !ok || got != value {
			return false
		}
	}
	return true
}
