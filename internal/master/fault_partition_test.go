package master

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/podling/podling/internal/types"
)

// minorityBound is the maximum time a cut-off master may take to return
// 503: the forwarder's 2 s election wait plus slack for a loaded machine.
const minorityBound = 5 * time.Second

// timedSend sends one request and returns the response and how long it
// took, failing the test when the request itself fails.
func timedSend(t *testing.T, client *http.Client, method, url string, body any) (response, time.Duration) {
	t.Helper()
	started := time.Now()
	res, err := send(context.Background(), client, method, url, body, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return res, time.Since(started)
}

// expect503 fails the test unless the cut-off master i returned 503 with
// Retry-After within minorityBound.
func (fc *faultCluster) expect503(t *testing.T, what string, i int, res response, took time.Duration) {
	t.Helper()
	if res.status != http.StatusServiceUnavailable {
		t.Errorf("%s on cut-off %s: status %d, want 503; body %s", what, fc.ids[i], res.status, res.body)
	}
	if res.status == http.StatusServiceUnavailable && res.header.Get("Retry-After") == "" {
		t.Errorf("%s on cut-off %s: 503 without Retry-After", what, fc.ids[i])
	}
	if took > minorityBound {
		t.Errorf("%s on cut-off %s took %s, want at most %s", what, fc.ids[i], took.Round(time.Millisecond), minorityBound)
	}
}

// probeCutOff sends a write, a linearizable read of a task the majority
// created and a /ready check to the cut-off master i, and fails the test
// unless each returns 503 in time. A 404 for the task would be a stale
// read served as current. It returns the slowest of the three.
func (fc *faultCluster) probeCutOff(t *testing.T, client *http.Client, i int, majorityTask string) time.Duration {
	t.Helper()
	write, wrote := timedSend(t, client, http.MethodPost, fc.urls[i]+"/api/v1/tasks", types.CreateTaskRequest{Name: "minority-write", Image: "podling/echo:dev"})
	fc.expect503(t, "write", i, write, wrote)
	read, readTook := timedSend(t, client, http.MethodGet, fc.urls[i]+"/api/v1/tasks/"+majorityTask, nil)
	fc.expect503(t, "linearizable read", i, read, readTook)
	ready, readyTook := timedSend(t, client, http.MethodGet, fc.urls[i]+"/ready", nil)
	fc.expect503(t, "/ready", i, ready, readyTook)
	return max(wrote, readTook, readyTook)
}

// waitFollowing polls until master i follows the leader at index leader
// and serves a linearizable read of taskID.
func (fc *faultCluster) waitFollowing(t *testing.T, client *http.Client, i, leader int, taskID string) {
	t.Helper()
	deadline := time.Now().Add(leaderWait)
	for {
		node := fc.masters[i].Cluster()
		if !node.IsLeader() && node.Leader() == fc.ids[leader] {
			res, err := send(context.Background(), client, http.MethodGet, fc.urls[i]+"/api/v1/tasks/"+taskID, nil, nil)
			if err == nil && res.status == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not follow %s and serve task %s within %s after healing (it follows %q)",
				fc.ids[i], fc.ids[leader], taskID, leaderWait, node.Leader())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkNoMinorityWrite fails the test if any master lists a task that a
// cut-off master was asked to create.
func (fc *faultCluster) checkNoMinorityWrite(t *testing.T, client *http.Client) {
	t.Helper()
	for i := range fc.masters {
		res, err := send(context.Background(), client, http.MethodGet, fc.urls[i]+"/api/v1/tasks", nil, nil)
		if err != nil || res.status != http.StatusOK {
			t.Fatalf("list tasks on %s: status %d, error %v", fc.ids[i], res.status, err)
		}
		var tasks []types.Task
		if err := json.Unmarshal(res.body, &tasks); err != nil {
			t.Fatalf("decode task list of %s: %v", fc.ids[i], err)
		}
		for _, task := range tasks {
			if task.Name == "minority-write" {
				t.Errorf("%s lists task %s, which only a cut-off master was asked to create", fc.ids[i], task.TaskID)
			}
		}
	}
}

func TestFault_CutOffLeaderAnswers503(t *testing.T) {
	fc := startFaultCluster(t, 3)
	client := newTestClient(t, 2*minorityBound)
	old, err := fc.leader(leaderWait)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := createTaskRetrying(t, client, fc.urls[old], "before-cut", nil)
	fc.cutOff(old)

	// The first requests reach a master that still believes it leads.
	slowest := fc.probeCutOff(t, client, old, before)
	next, err := fc.leaderAmong(fc.others(old), leaderWait)
	if err != nil {
		t.Fatalf("majority after cutting off leader %s: %v", fc.ids[old], err)
	}
	var latest string
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		latest, _ = createTaskRetrying(t, client, fc.urls[fc.others(old)[0]], "during-cut", nil)
		slowest = max(slowest, fc.probeCutOff(t, client, old, latest))
	}
	stale, _ := timedSend(t, client, http.MethodGet, fc.urls[old]+"/api/v1/tasks/"+before+"?stale=true", nil)
	if stale.status != http.StatusOK {
		t.Errorf("stale read on the cut-off %s: status %d, want 200 from its own copy", fc.ids[old], stale.status)
	}
	t.Logf("cut-off leader %s returned 503 to every write and linearizable read, slowest in %s; %s took over",
		fc.ids[old], slowest.Round(time.Millisecond), fc.ids[next])

	fc.heal()
	fc.waitFollowing(t, client, old, next, latest)
	fc.checkNoMinorityWrite(t, client)
}

func TestFault_CutOffFollowerAnswers503(t *testing.T) {
	fc := startFaultCluster(t, 3)
	client := newTestClient(t, 2*minorityBound)
	leader, err := fc.leader(leaderWait)
	if err != nil {
		t.Fatal(err)
	}
	term := fc.masters[leader].Cluster().Term()
	cut, err := fc.cutFollowerOff()
	if err != nil {
		t.Fatal(err)
	}

	var latest string
	var slowest time.Duration
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		res, _ := timedSend(t, client, http.MethodPost, fc.urls[leader]+"/api/v1/tasks", types.CreateTaskRequest{Name: "during-cut", Image: "podling/echo:dev"})
		if res.status != http.StatusCreated {
			t.Fatalf("write on the leader while a follower is cut off: status %d, body %s", res.status, res.body)
		}
		var task types.Task
		if err := json.Unmarshal(res.body, &task); err != nil {
			t.Fatalf("decode created task: %v", err)
		}
		latest = task.TaskID
		slowest = max(slowest, fc.probeCutOff(t, client, cut, latest))
	}
	t.Logf("cut-off follower %s returned 503 to every write and linearizable read, slowest in %s", fc.ids[cut], slowest.Round(time.Millisecond))

	fc.heal()
	fc.waitFollowing(t, client, cut, leader, latest)
	if got := fc.masters[leader].Cluster().Term(); got != term || !fc.masters[leader].Cluster().IsLeader() {
		t.Errorf("after the follower rejoined, %s is at term %d (leader: %v), want still leader at term %d",
			fc.ids[leader], got, fc.masters[leader].Cluster().IsLeader(), term)
	}
	fc.checkNoMinorityWrite(t, client)
}
