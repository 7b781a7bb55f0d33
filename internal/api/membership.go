package api

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/ids"
	"github.com/podling/podling/internal/types"
)

// Membership is the part of the Raft member that changes the cluster's
// configuration. Every method but Members needs the leader.
type Membership interface {
	Members() ([]cluster.Member, error)
	AddVoter(id, address string) error
	RemoveMember(id string) error
	TransferLeadershipTo(id string) error
}

// Addresses maps a master's Raft server ID to its API URL.
type Addresses interface {
	MasterAddress(serverID string) (string, bool)
}

// ClusterInfo is the shared API type.
type ClusterInfo = types.ClusterInfo

// MemberInfo is the shared API type.
type MemberInfo = types.MemberInfo

// JoinRequest is the shared API type.
type JoinRequest = types.JoinRequest

// TransferRequest is the shared API type.
type TransferRequest = types.TransferRequest

// memberCheckTimeout bounds the health check of one member.
const memberCheckTimeout = time.Second

func (s *Server) clusterInfo(r *http.Request) (reply, error) {
	members, err := s.membership.Members()
	if err != nil {
		return reply{}, err
	}
	st := s.raft.Status()
	info := ClusterInfo{LeaderID: st.LeaderID, Term: st.Term, CommitIndex: st.CommitIndex, AppliedIndex: st.AppliedIndex}
	info.Members = make([]MemberInfo, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		info.Members[i] = MemberInfo{ID: m.ID, RaftAddress: m.RaftAddress, Voter: m.Voter, Leader: m.ID == st.LeaderID}
		info.Members[i].APIAddress, _ = s.addresses.MasterAddress(m.ID)
		wg.Add(1)
		go func(mi *MemberInfo) {
			defer wg.Done()
			s.checkMember(r.Context(), mi)
		}(&info.Members[i])
	}
	wg.Wait()
	return reply{status: http.StatusOK, body: info}, nil
}

// checkMember fills in a member's health from its own /health.
func (s *Server) checkMember(ctx context.Context, m *MemberInfo) {
	if m.APIAddress == "" {
		m.Error = "API address not published yet"
		return
	}
	ctx, cancel := context.WithTimeout(ctx, memberCheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.APIAddress+"/health", nil)
	if err == nil {
		var resp *http.Response
		if resp, err = s.peers.Do(req); err == nil {
			defer resp.Body.Close()
			var h healthAnswer
			err = json.NewDecoder(resp.Body).Decode(&h)
			m.AppliedIndex = h.AppliedIndex
		}
	}
	if err != nil {
		m.Error = err.Error()
		return
	}
	now := s.now().UTC()
	m.Healthy, m.LastContact = true, &now
}

// joinCluster adds a master to the cluster as a voter and records its API
// address. A master that is already a member with the same address is
// accepted again, so a joining master can retry safely.
func (s *Server) joinCluster(r *http.Request, body []byte) (reply, error) {
	var req JoinRequest
	if err := decodeStrict(body, &req); err != nil {
		return reply{}, err
	}
	if err := validateJoin(req); err != nil {
		return reply{}, err
	}
	if err := s.membership.AddVoter(req.ID, req.RaftAddress); err != nil {
		return reply{}, err
	}
	res, err := s.raft.Propose(r.Context(), fsm.SetMasterAddress{ServerID: req.ID, APIAddress: req.APIAddress})
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: req, index: res.Index}, nil
}

func validateJoin(req JoinRequest) error {
	if !ids.ValidNode(req.ID) {
		return invalid("id", "%q is not a valid server ID", truncate(req.ID))
	}
	if err := validateHostPort("raftAddress", req.RaftAddress); err != nil {
		return err
	}
	return validateAPIAddress(req.APIAddress)
}

func (s *Server) removeMember(r *http.Request, _ []byte) (reply, error) {
	id := mux.Vars(r)["memberId"]
	if !ids.ValidNode(id) {
		return reply{}, invalid("memberId", "%q is not a valid server ID", truncate(id))
	}
	if err := s.membership.RemoveMember(id); err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: map[string]string{"removed": id}}, nil
}

func (s *Server) transferLeadership(r *http.Request, body []byte) (reply, error) {
	var req TransferRequest
	if len(body) > 0 {
		if err := decodeStrict(body, &req); err != nil {
			return reply{}, err
		}
	}
	if req.ID != "" && !ids.ValidNode(req.ID) {
		return reply{}, invalid("id", "%q is not a valid server ID", truncate(req.ID))
	}
	if req.ID == s.raft.ID() {
		return reply{}, invalid("id", "%s is already the leader", req.ID)
	}
	if err := s.membership.TransferLeadershipTo(req.ID); err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: types.TransferResult{PreviousLeader: s.raft.ID(), LeaderID: s.raft.Leader()}}, nil
}

func validateHostPort(field, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || port == "" {
		return invalid(field, "%q is not host:port", truncate(addr))
	}
	return nil
}

// failovers returns the failover record: every recorded takeover, oldest
// first, with the time since the one before.
func (s *Server) failovers(_ *http.Request) (reply, error) {
	return reply{status: http.StatusOK, body: s.state.LeaderChanges()}, nil
}
