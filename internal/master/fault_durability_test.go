package master

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/podling/podling/internal/types"
)

// createTaskVia sends one create through url and returns the new task's
// ID when the cluster acknowledged it with a 2xx.
func createTaskVia(client *http.Client, url, name string, header http.Header) (string, response, error) {
	res, err := send(context.Background(), client, http.MethodPost, url+"/api/v1/tasks",
		types.CreateTaskRequest{Name: name, Image: "podling/echo:dev"}, header)
	if err != nil || res.status/100 != 2 {
		return "", res, err
	}
	var task types.Task
	if err := json.Unmarshal(res.body, &task); err != nil {
		return "", res, fmt.Errorf("decode created task %s: %w", res.body, err)
	}
	return task.TaskID, res, nil
}

// createTaskRetrying creates a task through url, sending the request again
// while the cluster has no leader, and fails the test unless a 2xx comes
// within leaderWait. It returns the task's ID and the status.
func createTaskRetrying(t *testing.T, client *http.Client, url, name string, header http.Header) (string, int) {
	t.Helper()
	deadline := time.Now().Add(leaderWait)
	for {
		id, res, err := createTaskVia(client, url, name, header)
		if id != "" {
			return id, res.status
		}
		retryable := (err != nil && notSent(err)) || (res.status == http.StatusServiceUnavailable && res.code() == "no_leader")
		if !retryable || time.Now().After(deadline) {
			t.Fatalf("create %s via %s: status %d, error %v, body %s", name, url, res.status, err, res.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readEverywhere fails the test unless a linearizable list on every master
// contains every task in want. A master that returns 503, because it has
// just restarted or has not heard from the new leader yet, is asked again.
func (fc *faultCluster) readEverywhere(t *testing.T, client *http.Client, want map[string]bool) {
	t.Helper()
	for i := range fc.masters {
		listed := fc.listTaskIDs(t, client, i)
		for id := range want {
			if !listed[id] {
				t.Errorf("acknowledged task %s is missing on %s", id, fc.ids[i])
			}
		}
	}
}

func (fc *faultCluster) listTaskIDs(t *testing.T, client *http.Client, i int) map[string]bool {
	t.Helper()
	deadline := time.Now().Add(leaderWait)
	for {
		res, err := send(context.Background(), client, http.MethodGet, fc.urls[i]+"/api/v1/tasks", nil, nil)
		if err == nil && res.status == http.StatusOK {
			var tasks []types.Task
			if err := json.Unmarshal(res.body, &tasks); err != nil {
				t.Fatalf("decode task list of %s: %v", fc.ids[i], err)
			}
			ids := map[string]bool{}
			for _, task := range tasks {
				ids[task.TaskID] = true
			}
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("list tasks on %s: status %d, error %v, body %s", fc.ids[i], res.status, err, res.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkSameState fails the test unless every master, at the same applied
// index, lists the same tasks byte for byte.
func (fc *faultCluster) checkSameState(t *testing.T, client *http.Client) uint64 {
	t.Helper()
	hashes, index, err := fc.stateHashes(client)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hashes {
		if h != hashes[0] {
			t.Errorf("at applied index %d, the tasks on %s hash to %s but on %s to %s", index, fc.ids[i], h, fc.ids[0], hashes[0])
		}
	}
	return index
}

// createDuringKill creates tasks from two clients through random masters
// while the leader is killed, and returns the IDs of those acknowledged.
func (fc *faultCluster) createDuringKill(client *http.Client, leader, round int) ([]string, error) {
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for writer := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 3 {
				url := fc.urls[rand.IntN(len(fc.urls))]
				if id, _, _ := createTaskVia(client, url, fmt.Sprintf("r%d-kill-w%d-%d", round, writer, k), nil); id != "" {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
	err := fc.kill(leader)
	wg.Wait()
	return acked, err
}

// mustKill kills master i, and skips the test when its shutdown hangs.
func (fc *faultCluster) mustKill(t *testing.T, i int) {
	t.Helper()
	if err := fc.kill(i); err != nil {
		fc.skipIfStuck(t)
		t.Fatal(err)
	}
}

func TestFault_NoAcknowledgedWriteLostAcrossLeaderKills(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 20 s")
	}
	const rounds = 20
	fc := startFaultCluster(t, 3)
	client := newTestClient(t, 10*time.Second)
	acked := map[string]bool{}
	started := time.Now()
	var duringKill int

	for round := 1; round <= rounds; round++ {
		leader, err := fc.leader(leaderWait)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for k := range 3 {
			id, _ := createTaskRetrying(t, client, fc.urls[rand.IntN(len(fc.urls))], fmt.Sprintf("r%d-before-%d", round, k), nil)
			acked[id] = true
		}
		ids, err := fc.createDuringKill(client, leader, round)
		if err != nil {
			fc.skipIfStuck(t)
			t.Fatalf("round %d: %v", round, err)
		}
		for _, id := range ids {
			acked[id] = true
			duringKill++
		}
		if err := fc.restart(leader); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, err := fc.leader(leaderWait); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}

		fc.readEverywhere(t, client, acked)
		index := fc.checkSameState(t, client)
		if t.Failed() {
			t.Fatalf("round %d of %d failed, after killing %s at applied index %d", round, rounds, fc.ids[leader], index)
		}
	}

	if err := fc.restartAll(); err != nil {
		fc.skipIfStuck(t)
		t.Fatal(err)
	}
	fc.readEverywhere(t, client, acked)
	fc.checkSameState(t, client)
	t.Logf("%d leader kills in %s: %d acknowledged tasks (%d of them sent while the leader was killed) readable on every master, also after restarting all",
		rounds, time.Since(started).Round(time.Millisecond), len(acked), duringKill)
}

func idempotencyKey(key string) http.Header {
	return http.Header{"Idempotency-Key": {key}}
}

// countTasksNamed fails the test unless a linearizable list on every
// master has exactly want tasks with the given name.
func (fc *faultCluster) countTasksNamed(t *testing.T, client *http.Client, name string, want int) {
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
		got := 0
		for _, task := range tasks {
			if task.Name == name {
				got++
			}
		}
		if got != want {
			t.Errorf("%s lists %d tasks named %s, want %d", fc.ids[i], got, name, want)
		}
	}
}

func TestFault_IdempotentCreateThroughEveryMaster(t *testing.T) {
	fc := startFaultCluster(t, 3)
	client := newTestClient(t, 10*time.Second)
	leader, err := fc.leader(leaderWait)
	if err != nil {
		t.Fatal(err)
	}
	followers := fc.others(leader)
	key := idempotencyKey("create-once-1")

	first, status := createTaskRetrying(t, client, fc.urls[followers[0]], "once", key)
	if status != http.StatusCreated {
		t.Errorf("first create via %s: status %d, want 201", fc.ids[followers[0]], status)
	}
	fc.mustKill(t, leader)

	second, status := createTaskRetrying(t, client, fc.urls[followers[1]], "once", key)
	if second != first || status != http.StatusOK {
		t.Errorf("retry via %s after killing the leader: task %s with status %d, want %s with 200", fc.ids[followers[1]], second, status, first)
	}
	if err := fc.restart(leader); err != nil {
		t.Fatal(err)
	}
	if _, err := fc.leader(leaderWait); err != nil {
		t.Fatal(err)
	}

	third, status := createTaskRetrying(t, client, fc.urls[leader], "once", key)
	if third != first || status != http.StatusOK {
		t.Errorf("retry via the restarted %s: task %s with status %d, want %s with 200", fc.ids[leader], third, status, first)
	}
	fc.countTasksNamed(t, client, "once", 1)
}

func TestFault_IdempotentRetryAfterKilledLeader(t *testing.T) {
	fc := startFaultCluster(t, 3)
	client := newTestClient(t, 10*time.Second)
	leader, err := fc.leader(leaderWait)
	if err != nil {
		t.Fatal(err)
	}
	key := idempotencyKey("create-once-2")

	// The first attempt reaches the leader as it is killed, so its
	// outcome is unknown to the client, which therefore retries.
	done := make(chan string)
	go func() {
		id, _, _ := createTaskVia(client, fc.urls[leader], "once-more", key)
		done <- id
	}()
	time.Sleep(time.Millisecond)
	fc.mustKill(t, leader)
	firstID := <-done

	ids := map[string]bool{}
	if firstID != "" {
		ids[firstID] = true
	}
	for _, i := range fc.others(leader) {
		id, _ := createTaskRetrying(t, client, fc.urls[i], "once-more", key)
		ids[id] = true
	}
	if err := fc.restart(leader); err != nil {
		t.Fatal(err)
	}
	if _, err := fc.leader(leaderWait); err != nil {
		t.Fatal(err)
	}
	id, _ := createTaskRetrying(t, client, fc.urls[leader], "once-more", key)
	ids[id] = true

	if len(ids) != 1 {
		t.Errorf("creates with one Idempotency-Key returned %d task IDs %v, want one", len(ids), ids)
	}
	t.Logf("first attempt through the killed leader acknowledged: %v", firstID != "")
	fc.countTasksNamed(t, client, "once-more", 1)
}
