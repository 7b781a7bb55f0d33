package master

import (
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/api"
)

// addJoiner configures and starts one more master that joins through url.
func (tc *testCluster) addJoiner(id, url string) int {
	tc.t.Helper()
	cfg := tc.configs[0]
	cfg.ID, cfg.HTTPAddr, cfg.RaftAddr = id, freePort(tc.t), freePort(tc.t)
	cfg.DataDir = filepath.Join(tc.t.TempDir(), id)
	cfg.Peers, cfg.Join = nil, url
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: io.Discard})
	tc.configs = append(tc.configs, cfg)
	tc.masters = append(tc.masters, nil)
	tc.start(len(tc.masters) - 1)
	return len(tc.masters) - 1
}

func clusterInfo(t *testing.T, url string) api.ClusterInfo {
	t.Helper()
	res := call(t, http.MethodGet, url+"/api/v1/cluster", nil)
	if res.status != http.StatusOK {
		t.Fatalf("GET /api/v1/cluster: status %d, body %s", res.status, res.body)
	}
	return decode[api.ClusterInfo](t, res)
}

// waitMembers polls until the cluster lists want voters, all healthy.
func waitMembers(t *testing.T, url string, want int) api.ClusterInfo {
	t.Helper()
	return waitMembersHealthy(t, url, want, want)
}

// waitMembersHealthy polls until the cluster lists want voters of which
// healthy answer their health check.
func waitMembersHealthy(t *testing.T, url string, want, wantHealthy int) api.ClusterInfo {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var info api.ClusterInfo
	for time.Now().Before(deadline) {
		info = clusterInfo(t, url)
		healthy := 0
		for _, m := range info.Members {
			if m.Healthy && m.Voter {
				healthy++
			}
		}
		if len(info.Members) == want && healthy == wantHealthy {
			return info
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("cluster has %d members, want %d voters of which %d healthy: %+v", len(info.Members), want, wantHealthy, info.Members)
	return info
}

func TestMembership_JoinThroughFollower(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	joiner := tc.addJoiner("m4", tc.url(tc.follower(leader)))

	info := waitMembers(t, tc.url(leader), 4)
	if info.LeaderID != tc.configs[leader].ID || info.Term == 0 {
		t.Errorf("cluster info leader %q term %d, want %s and a term", info.LeaderID, info.Term, tc.configs[leader].ID)
	}
	task := createTask(t, tc.url(joiner), "via-joiner")
	if res := call(t, http.MethodGet, tc.url(joiner)+"/api/v1/tasks/"+task.TaskID, nil); res.status != http.StatusOK {
		t.Errorf("read on the joined master: status %d, body %s", res.status, res.body)
	}
}

func TestMembership_JoinDuringElectionRetries(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	survivor := tc.follower(leader)
	tc.crash(leader)

	tc.addJoiner("m4", tc.url(survivor))

	// The crashed master stays a member, unhealthy, until it is removed.
	waitMembersHealthy(t, tc.url(survivor), 4, 3)
}

func TestMembership_RemovedMasterComingBackDoesNotDisturb(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	victim := tc.follower(leader)
	victimID := tc.configs[victim].ID

	res := call(t, http.MethodDelete, tc.url(leader)+"/api/v1/cluster/members/"+victimID, nil)
	if res.status != http.StatusOK {
		t.Fatalf("remove %s: status %d, body %s", victimID, res.status, res.body)
	}
	waitMembers(t, tc.url(leader), 2)
	termBefore := tc.masters[leader].Cluster().Term()

	// The removed master restarts with its old state, which still lists
	// it as a member, and tries to take part.
	tc.crash(victim)
	tc.start(victim)
	time.Sleep(5 * testTiming.Election)

	if term := tc.masters[leader].Cluster().Term(); term != termBefore || !tc.masters[leader].Cluster().IsLeader() {
		t.Errorf("after the removed master came back: term %d (was %d), leader %v; want both unchanged", term, termBefore, tc.masters[leader].Cluster().IsLeader())
	}
	createTask(t, tc.url(leader), "after-removal")
}

func TestMembership_TransferToChosenMember(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	target := tc.follower(leader)

	res := call(t, http.MethodPost, tc.url(tc.follower(target))+"/api/v1/cluster/leadership/transfer",
		api.TransferRequest{ID: tc.configs[target].ID})
	if res.status != http.StatusOK {
		t.Fatalf("transfer: status %d, body %s", res.status, res.body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !tc.masters[target].Cluster().LeaderReady() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not become leader after the transfer", tc.configs[target].ID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMembership_BadRequests(t *testing.T) {
	tc := startCluster(t, 3)
	url := tc.url(tc.waitLeader())
	tests := []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"unknown member", http.MethodDelete, "/api/v1/cluster/members/nobody", nil, http.StatusNotFound},
		{"bad member id", http.MethodDelete, "/api/v1/cluster/members/-x", nil, http.StatusBadRequest},
		{"join without raft address", http.MethodPost, "/api/v1/cluster/join", api.JoinRequest{ID: "m9", APIAddress: "http://a:1"}, http.StatusBadRequest},
		{"join with bad api address", http.MethodPost, "/api/v1/cluster/join", api.JoinRequest{ID: "m9", RaftAddress: "a:1", APIAddress: "a:1"}, http.StatusBadRequest},
		{"transfer to unknown", http.MethodPost, "/api/v1/cluster/leadership/transfer", api.TransferRequest{ID: "nobody"}, http.StatusNotFound},
	}
	for _, tt := range tests {
		res := call(t, tt.method, url+tt.path, tt.body)
		if res.status != tt.status {
			t.Errorf("%s: status %d, want %d; body %s", tt.name, res.status, tt.status, res.body)
		}
	}
	if n := len(clusterInfo(t, url).Members); n != 3 {
		t.Errorf("members after rejected changes: %d, want 3", n)
	}
}
