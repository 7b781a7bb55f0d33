package client

import (
	"testing"
	"time"

	"github.com/podling/podling/internal/api"
	"github.com/podling/podling/internal/types"
)

// The client mirrors a few response types of the API package so that
// programs using it do not link the master. This test keeps the two in
// step: every field the master sends must decode.
func TestMirroredTypes_MatchAPI(t *testing.T) {
	at := time.Date(2026, 12, 4, 20, 15, 29, 0, time.UTC)
	roundTrip[ClusterInfo](t, api.ClusterInfo{
		LeaderID: "m1", Term: 2, CommitIndex: 14, AppliedIndex: 13,
		Members: []api.MemberInfo{{
			ID: "m1", RaftAddress: "127.0.0.1:7000", APIAddress: "http://127.0.0.1:8070", Voter: true, Leader: true,
			Healthy: true, LastContact: &at, Error: "x", AppliedIndex: 13,
		}},
	})
	roundTrip[JoinRequest](t, api.JoinRequest{ID: "m4", RaftAddress: "127.0.0.1:7003", APIAddress: "http://127.0.0.1:8073"})
	roundTrip[DrainResult](t, api.DrainResult{
		Node: types.Node{NodeID: "w1", Status: types.NodeOnline}, MovedPods: []string{"a"}, KeptPods: []string{"b"},
	})
}
