package fsm

import (
	"fmt"
	"net"
	"strconv"

	"github.com/podling/podling/internal/types"
)

func (f *FSM) createServiceLocked(c CreateService) (any, error) {
	s := c.Service
	if s.ServiceID == "" || s.Name == "" || s.Namespace == "" {
		return types.Service{}, fmt.Errorf("%w: service needs an ID, a name and a namespace", ErrInvalidCommand)
	}
	replay, err := f.replayLocked("service", c.Idempotency, func(id string) (any, bool) {
		svc, ok := f.services[id]
		if !ok {
			return nil, false
		}
		return *svc, true
	})
	if replay != nil || err != nil {
		return replay, err
	}
	if _, ok := f.services[s.ServiceID]; ok {
		return types.Service{}, fmt.Errorf("service %s: %w", s.ServiceID, ErrIDTaken)
	}
	if id, ok := f.serviceNames[qualifiedName(s.Namespace, s.Name)]; ok {
		return types.Service{}, fmt.Errorf("service %q in namespace %q exists as %s: %w", s.Name, s.Namespace, id, ErrAlreadyExists)
	}
	f.services[s.ServiceID] = &s
	f.serviceOrder.add(s.ServiceID)
	f.serviceNames[qualifiedName(s.Namespace, s.Name)] = s.ServiceID
	f.rememberLocked("service", c.Idempotency, s.ServiceID)
	return s, nil
}

func (f *FSM) deleteServiceLocked(c DeleteService) (types.Service, error) {
	s, ok := f.services[c.ServiceID]
	if !ok {
		return types.Service{}, fmt.Errorf("service %s: %w", c.ServiceID, ErrNotFound)
	}
	delete(f.services, c.ServiceID)
	f.serviceOrder.remove(c.ServiceID)
	delete(f.serviceNames, qualifiedName(s.Namespace, s.Name))
	return *s, nil
}

// Service returns the service with the given ID.
func (f *FSM) Service(id string) (types.Service, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s, ok := f.services[id]
	if !ok {
		return types.Service{}, false
	}
	return *s, true
}

// ServiceFilter narrows a service listing. Zero fields match everything.
type ServiceFilter struct {
	Namespace string
	Labels    map[string]string // every pair must match
}

// Services returns the services matching filter in creation order.
func (f *FSM) Services(filter ServiceFilter) []types.Service {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]types.Service, 0)
	f.serviceOrder.each(func(id string) {
		s := f.services[id]
		if (filter.Namespace == "" || s.Namespace == filter.Namespace) &&
			(len(filter.Labels) == 0 || types.SelectorMatches(filter.Labels, s.Labels)) {
			out = append(out, *s)
		}
	})
	return out
}

// Endpoints returns the addresses of the running pods the service selects:
// each pod IP with each target port, split by pod readiness. It is computed
// from the current state on every call, so it follows pod changes at once.
func (f *FSM) Endpoints(serviceID string) (types.Endpoints, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s, ok := f.services[serviceID]
	if !ok {
		return types.Endpoints{}, false
	}
	out := types.Endpoints{
		ServiceID: s.ServiceID, Name: s.Name, Namespace: s.Namespace,
		Addresses: []types.EndpointAddress{}, NotReadyAddresses: []types.EndpointAddress{},
	}
	f.podOrder.each(func(id string) {
		p := f.pods[id]
		if p.Namespace != s.Namespace || p.Status != types.PodRunning || p.PodIP == "" || !types.SelectorMatches(s.Selector, p.Labels) {
			return
		}
		for _, port := range s.Ports {
			addr := endpointAddress(p, port)
			if p.Ready() {
				out.Addresses = append(out.Addresses, addr)
			} else {
				out.NotReadyAddresses = append(out.NotReadyAddresses, addr)
			}
		}
	})
	return out, true
}

func endpointAddress(p *types.Pod, port types.ServicePort) types.EndpointAddress {
	return types.EndpointAddress{
		Address: net.JoinHostPort(p.PodIP, strconv.Itoa(port.TargetPort)),
		IP:      p.PodIP, Port: port.TargetPort, PortName: port.Name,
		PodID: p.PodID, PodName: p.Name, NodeID: p.NodeID,
	}
}
