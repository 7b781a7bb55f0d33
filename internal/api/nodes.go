package api

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/ids"
	"github.com/podling/podling/internal/types"
)

// registerNode adds a worker or refreshes it; registering again with the
// same node ID is idempotent.
func (s *Server) registerNode(r *http.Request, body []byte) (reply, error) {
	var req types.RegisterNodeRequest
	if err := decodeStrict(body, &req); err != nil {
		return reply{}, err
	}
	if err := validateRegisterRequest(req); err != nil {
		return reply{}, err
	}
	now := s.now().UTC()
	node := types.Node{
		NodeID: req.NodeID, Hostname: req.Hostname, Port: req.Port, Capacity: req.Capacity,
		CPUMillis: req.CPUMillis, MemoryBytes: req.MemoryBytes, LastHeartbeat: now, RegisteredAt: now,
	}
	if node.NodeID == "" {
		node.NodeID = req.Hostname
	}
	if req.Allocatable != nil {
		node.Allocatable = *req.Allocatable
	}
	res, err := s.raft.Propose(r.Context(), fsm.RegisterNode{Node: node})
	if err != nil {
		return reply{}, err
	}
	s.heartbeats.Observe(node.NodeID, now)
	orphans, err := s.adopt(r.Context(), node.NodeID, req)
	if err != nil {
		return reply{}, err
	}
	s.registered(node.NodeID)
	answer := types.RegisterNodeResponse{Node: res.Value.(types.Node), Orphans: orphans}
	return reply{status: http.StatusOK, body: answer, index: res.Index}, nil
}

// heartbeat records that a node is alive. Only the leader's memory is
// updated; the last-seen times reach the log in batches. An offline node
// that heartbeats comes back online through the log.
func (s *Server) heartbeat(r *http.Request, _ []byte) (reply, error) {
	id := mux.Vars(r)["nodeId"]
	if !ids.ValidNode(id) {
		return reply{}, invalid("nodeId", "%q is not a valid node ID", truncate(id))
	}
	node, ok := s.state.Node(id)
	if !ok {
		return reply{}, fmt.Errorf("node %s is not registered: %w", id, fsm.ErrNotFound)
	}
	now := s.now().UTC()
	s.heartbeats.Observe(id, now)
	s.metrics.Heartbeat()
	node.LastHeartbeat = now
	if node.Status == types.NodeOnline {
		return reply{status: http.StatusOK, body: node}, nil
	}
	res, err := s.raft.Propose(r.Context(), fsm.SetNodeStatus{NodeID: id, Status: types.NodeOnline, Time: now})
	if err != nil {
		return reply{}, err
	}
	s.registered(id)
	return reply{status: http.StatusOK, body: res.Value, index: res.Index}, nil
}

func (s *Server) listNodes(_ *http.Request) (reply, error) {
	return reply{status: http.StatusOK, body: s.state.Nodes()}, nil
}
