package api

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/ids"
	"github.com/podling/podling/internal/types"
)

func (s *Server) createService(r *http.Request, body []byte) (reply, error) {
	var req types.CreateServiceRequest
	if err := decodeStrict(body, &req); err != nil {
		return reply{}, err
	}
	if err := validateServiceRequest(req); err != nil {
		return reply{}, err
	}
	now := s.now().UTC()
	svc := types.Service{
		Name: req.Name, Namespace: orDefault(req.Namespace, types.DefaultNamespace),
		Labels: req.Labels, Selector: req.Selector, Ports: req.Ports, CreatedAt: now,
	}
	if svc.Selector == nil {
		svc.Selector = map[string]string{}
	}
	idem, err := idempotencyFrom(r, body, now)
	if err != nil {
		return reply{}, err
	}
	res, err := s.proposeCreate(r.Context(), now, func(id string) fsm.Command {
		svc.ServiceID = id
		return fsm.CreateService{Service: svc, Idempotency: idem}
	})
	if err != nil {
		return reply{}, err
	}
	return createdReply(res), nil
}

func (s *Server) listServices(r *http.Request) (reply, error) {
	namespace, labels, err := listFilter(r)
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: s.state.Services(fsm.ServiceFilter{Namespace: namespace, Labels: labels})}, nil
}

func (s *Server) getService(r *http.Request) (reply, error) {
	id, err := serviceIDFrom(r)
	if err != nil {
		return reply{}, err
	}
	svc, ok := s.state.Service(id)
	if !ok {
		return reply{}, fmt.Errorf("service %s: %w", id, fsm.ErrNotFound)
	}
	return reply{status: http.StatusOK, body: svc}, nil
}

func (s *Server) deleteService(r *http.Request, _ []byte) (reply, error) {
	id, err := serviceIDFrom(r)
	if err != nil {
		return reply{}, err
	}
	res, err := s.raft.Propose(r.Context(), fsm.DeleteService{ServiceID: id})
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: res.Value, index: res.Index}, nil
}

func (s *Server) getEndpoints(r *http.Request) (reply, error) {
	id, err := serviceIDFrom(r)
	if err != nil {
		return reply{}, err
	}
	endpoints, ok := s.state.Endpoints(id)
	if !ok {
		return reply{}, fmt.Errorf("service %s: %w", id, fsm.ErrNotFound)
	}
	return reply{status: http.StatusOK, body: endpoints}, nil
}

func serviceIDFrom(r *http.Request) (string, error) {
	id := mux.Vars(r)["serviceId"]
	if !ids.ValidObject(id) {
		return "", invalid("serviceId", "%q is not a valid service ID, expected the form 20250119123456-abc12345", truncate(id))
	}
	return id, nil
}
