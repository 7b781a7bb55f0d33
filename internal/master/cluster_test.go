package master

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/testutil"
	"github.com/podling/podling/internal/types"
)

// testTiming makes elections fast enough for tests on loopback.
var testTiming = cluster.Timing{
	Heartbeat: 300 * time.Millisecond, Election: 300 * time.Millisecond,
	LeaderLease: 150 * time.Millisecond, Apply: 2 * time.Second,
}

// testCluster is a set of masters in this process, on loopback ports.
type testCluster struct {
	t       *testing.T
	configs []Config
	masters []*Master // nil for a stopped master
}

func freePort(t *testing.T) string { return testutil.FreeAddr(t) }

// startCluster starts n founding masters with their own data dirs. Each
// option adjusts every master's configuration.
func startCluster(t *testing.T, n int, options ...func(*Config)) *testCluster {
	t.Helper()
	tc := &testCluster{t: t}
	var peers []cluster.Peer
	for i := range n {
		peers = append(peers, cluster.Peer{ID: fmt.Sprintf("m%d", i+1), Address: freePort(t)})
	}
	base := t.TempDir()
	for _, p := range peers {
		tc.configs = append(tc.configs, Config{
			ID: p.ID, HTTPAddr: freePort(t), RaftAddr: p.Address, DataDir: filepath.Join(base, p.ID),
			Peers: peers, HeartbeatTTL: 10 * time.Second, HeartbeatBatch: 100 * time.Millisecond,
			Timing: testTiming, Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: io.Discard}),
		})
		for _, option := range options {
			option(&tc.configs[len(tc.configs)-1])
		}
	}
	tc.masters = make([]*Master, n)
	for i := range n {
		tc.start(i)
	}
	t.Cleanup(tc.stopAll)
	return tc
}

func (tc *testCluster) start(i int) {
	tc.t.Helper()
	m, err := startRetrying(tc.configs[i])
	if err != nil {
		tc.t.Fatalf("start master %s: %v", tc.configs[i].ID, err)
	}
	tc.masters[i] = m
}

// startRetrying starts a master, trying again for a while when its ports
// are taken: a master restarted on its old ports can meet another test
// that is probing for a free port, which holds it for an instant.
func startRetrying(cfg Config) (*Master, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := Start(cfg)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return m, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (tc *testCluster) stop(i int) {
	tc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tc.masters[i].Close(ctx); err != nil {
		tc.t.Logf("stop master %s: %v", tc.configs[i].ID, err)
	}
	tc.masters[i] = nil
}

// crash stops master i without handing over leadership, as a crash would.
func (tc *testCluster) crash(i int) {
	tc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tc.masters[i].shutdown(ctx, false); err != nil {
		tc.t.Logf("crash master %s: %v", tc.configs[i].ID, err)
	}
	tc.masters[i] = nil
}

func (tc *testCluster) stopAll() {
	for i, m := range tc.masters {
		if m != nil {
			tc.stop(i)
		}
	}
}

// waitLeader polls until one running master is a ready leader and returns
// its index.
func (tc *testCluster) waitLeader() int {
	tc.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for i, m := range tc.masters {
			if m != nil && m.Cluster().LeaderReady() {
				return i
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tc.t.Fatal("no leader elected within 15s")
	return -1
}

func (tc *testCluster) follower(leader int) int {
	for i, m := range tc.masters {
		if m != nil && i != leader {
			return i
		}
	}
	tc.t.Fatal("no running follower")
	return -1
}

func (tc *testCluster) url(i int) string { return tc.masters[i].URL() }

type httpResult struct {
	status int
	header http.Header
	body   []byte
}

func call(t *testing.T, method, url string, body any) httpResult {
	t.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, reader)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer of %s %s: %v", method, url, err)
	}
	return httpResult{status: resp.StatusCode, header: resp.Header, body: data}
}

func decode[T any](t *testing.T, res httpResult) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(res.body, &v); err != nil {
		t.Fatalf("decode %s: %v", res.body, err)
	}
	return v
}

func createTask(t *testing.T, url, name string) types.Task {
	t.Helper()
	res := call(t, http.MethodPost, url+"/api/v1/tasks", types.CreateTaskRequest{Name: name, Image: "podling/echo:dev"})
	if res.status != http.StatusCreated {
		t.Fatalf("create task via %s: status %d, body %s", url, res.status, res.body)
	}
	return decode[types.Task](t, res)
}

func TestCluster_WriteViaFollowerReadableEverywhere(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	follower := tc.follower(leader)

	res := call(t, http.MethodPost, tc.url(follower)+"/api/v1/tasks", types.CreateTaskRequest{Name: "via-follower", Image: "podling/echo:dev"})
	if res.status != http.StatusCreated {
		t.Fatalf("create via follower: status %d, body %s", res.status, res.body)
	}
	if got, want := res.header.Get("X-Podling-Served-By"), tc.configs[leader].ID; got != want {
		t.Errorf("X-Podling-Served-By = %q, want the leader %q", got, want)
	}
	if res.header.Get("X-Podling-Index") == "" {
		t.Error("write answer has no X-Podling-Index")
	}
	task := decode[types.Task](t, res)

	for i := range tc.masters {
		if ready := call(t, http.MethodGet, tc.url(i)+"/ready", nil); ready.status != http.StatusOK {
			t.Errorf("/ready on %s: status %d, body %s", tc.configs[i].ID, ready.status, ready.body)
		}
		got := call(t, http.MethodGet, tc.url(i)+"/api/v1/tasks/"+task.TaskID, nil)
		if got.status != http.StatusOK {
			t.Fatalf("read on %s right after the write: status %d, body %s", tc.configs[i].ID, got.status, got.body)
		}
		if read := decode[types.Task](t, got); read.TaskID != task.TaskID || read.Name != "via-follower" {
			t.Errorf("read on %s = %+v, want task %s", tc.configs[i].ID, read, task.TaskID)
		}
	}
}

func TestCluster_StaleReadAnswersLocally(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	follower := tc.follower(leader)

	res := call(t, http.MethodGet, tc.url(follower)+"/api/v1/tasks?stale=true", nil)
	if res.status != http.StatusOK {
		t.Fatalf("stale read: status %d, body %s", res.status, res.body)
	}
	if res.header.Get("X-Podling-Last-Contact") == "" {
		t.Error("stale read has no X-Podling-Last-Contact header")
	}
	if got := res.header.Get("X-Podling-Served-By"); got != tc.configs[follower].ID {
		t.Errorf("stale read served by %q, want the follower %q", got, tc.configs[follower].ID)
	}
}

func TestCluster_LeaderStoppedWritesResume(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	before := createTask(t, tc.url(leader), "before")

	tc.stop(leader)
	next := tc.waitLeader()
	if next == leader {
		t.Fatalf("stopped master %d is still reported as leader", leader)
	}
	survivor := tc.follower(next)
	after := createTask(t, tc.url(survivor), "after")

	for _, id := range []string{before.TaskID, after.TaskID} {
		if res := call(t, http.MethodGet, tc.url(survivor)+"/api/v1/tasks/"+id, nil); res.status != http.StatusOK {
			t.Errorf("task %s after the leader change: status %d, body %s", id, res.status, res.body)
		}
	}
}

func TestCluster_RestartAllKeepsState(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	var created []types.Task
	for i := range 5 {
		created = append(created, createTask(t, tc.url(leader), fmt.Sprintf("task-%d", i)))
	}
	want := call(t, http.MethodGet, tc.url(leader)+"/api/v1/tasks", nil)

	tc.stopAll()
	for i := range tc.masters {
		tc.start(i)
	}
	leader = tc.waitLeader()

	for i := range tc.masters {
		got := call(t, http.MethodGet, tc.url(i)+"/api/v1/tasks", nil)
		if got.status != http.StatusOK {
			t.Fatalf("list on %s after restart: status %d, body %s", tc.configs[i].ID, got.status, got.body)
		}
		if !bytes.Equal(got.body, want.body) {
			t.Errorf("tasks on %s after restart differ:\n got %s\nwant %s", tc.configs[i].ID, got.body, want.body)
		}
	}
	if n := len(decode[[]types.Task](t, want)); n != len(created) {
		t.Errorf("listed %d tasks before restart, want %d", n, len(created))
	}
}

func TestCluster_MinorityAnswers503(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	survivor := tc.follower(leader)
	for i := range tc.masters {
		if i != survivor {
			tc.stop(i)
		}
	}

	write := call(t, http.MethodPost, tc.url(survivor)+"/api/v1/tasks", types.CreateTaskRequest{Name: "lost", Image: "podling/echo:dev"})
	if write.status != http.StatusServiceUnavailable {
		t.Errorf("write on a 1-of-3 minority: status %d, want 503; body %s", write.status, write.body)
	}
	if write.header.Get("Retry-After") == "" {
		t.Error("503 answer has no Retry-After header")
	}
	read := call(t, http.MethodGet, tc.url(survivor)+"/api/v1/tasks", nil)
	if read.status != http.StatusServiceUnavailable {
		t.Errorf("linearizable read on a minority: status %d, want 503; body %s", read.status, read.body)
	}
	var body types.Error
	if err := json.Unmarshal(write.body, &body); err != nil || body.Code == "" {
		t.Errorf("503 body %s is not a JSON error with a code", write.body)
	}
	if ready := call(t, http.MethodGet, tc.url(survivor)+"/ready", nil); ready.status != http.StatusServiceUnavailable {
		t.Errorf("/ready on a minority: status %d, want 503; body %s", ready.status, ready.body)
	}
}

func TestCluster_EveryMasterPublishesItsAddress(t *testing.T) {
	tc := startCluster(t, 3)
	tc.waitLeader()

	deadline := time.Now().Add(10 * time.Second)
	for i := range tc.masters {
		for {
			addr, ok := tc.masters[0].FSM().MasterAddress(tc.configs[i].ID)
			if ok && addr == tc.url(i) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("address of %s = %q (found %v), want %s", tc.configs[i].ID, addr, ok, tc.url(i))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestCluster_FailoverRecordListsTakeovers(t *testing.T) {
	tc := startCluster(t, 3)
	first := tc.waitLeader()
	tc.crash(first)
	second := tc.waitLeader()

	var record []types.LeaderChange
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		record = decode[[]types.LeaderChange](t, call(t, http.MethodGet, tc.url(second)+"/api/v1/cluster/failovers", nil))
		if len(record) == 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(record) != 2 {
		t.Fatalf("failover record has %d entries, want 2: %+v", len(record), record)
	}
	if record[0].LeaderID != tc.configs[first].ID || record[1].LeaderID != tc.configs[second].ID || record[1].PreviousLeaderID != tc.configs[first].ID {
		t.Errorf("failover record %+v, want %s then %s", record, tc.configs[first].ID, tc.configs[second].ID)
	}
}

func TestCluster_HugeBodyIs413AndLogDoesNotGrow(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	node := tc.masters[leader].Cluster()
	// A new leader writes its address and takeover record; let those
	// settle so only the requests below could move the index.
	settleDeadline := time.Now().Add(10 * time.Second)
	for len(tc.masters[leader].FSM().LeaderChanges()) == 0 || !allAddressesPublished(tc, leader) {
		if time.Now().After(settleDeadline) {
			t.Fatal("the new leader did not record its takeover and addresses within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := node.Status().CommitIndex

	huge := bytes.Repeat([]byte("a"), 10<<20)
	for _, i := range []int{leader, tc.follower(leader)} {
		resp, err := http.Post(tc.url(i)+"/api/v1/tasks", "application/json", bytes.NewReader(huge))
		if err != nil {
			t.Fatalf("post 10 MiB to %s: %v", tc.configs[i].ID, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("10 MiB body to %s: status %d, want 413", tc.configs[i].ID, resp.StatusCode)
		}
	}
	if after := node.Status().CommitIndex; after != before {
		t.Errorf("commit index moved from %d to %d after rejected bodies", before, after)
	}
}

func allAddressesPublished(tc *testCluster, leader int) bool {
	for i := range tc.masters {
		if _, ok := tc.masters[leader].FSM().MasterAddress(tc.configs[i].ID); !ok {
			return false
		}
	}
	return true
}

func TestCluster_RestartedFollowerNotReadyUntilCaughtUp(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	follower := tc.follower(leader)
	tc.stop(follower)
	for i := range 30 {
		createTask(t, tc.url(leader), fmt.Sprintf("while-down-%d", i))
	}
	target := tc.masters[leader].fsm.AppliedIndex()

	tc.start(follower)

	deadline := time.Now().Add(15 * time.Second)
	for {
		res := call(t, http.MethodGet, tc.url(follower)+"/ready", nil)
		if res.status == http.StatusOK {
			body := decode[struct {
				AppliedIndex uint64 `json:"appliedIndex"`
			}](t, res)
			if body.AppliedIndex < target {
				t.Fatalf("/ready: expected 200 only at applied index %d or later, got 200 at %d", target, body.AppliedIndex)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/ready: expected 200 within 15s, last got %d %s", res.status, res.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
