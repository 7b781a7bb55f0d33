package master

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"
)

func getBytes(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, error %v, body %s", url, resp.StatusCode, err, data)
	}
	return data
}

func postBytes(t *testing.T, url string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// waitSameTasks polls until every master lists tasks equal to want.
func waitSameTasks(t *testing.T, tc *testCluster, want []byte) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for i := range tc.masters {
		for {
			got := call(t, http.MethodGet, tc.url(i)+"/api/v1/tasks?stale=true", nil)
			if bytes.Equal(got.body, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("tasks on %s differ from the backup:\n got %s\nwant %s", tc.configs[i].ID, got.body, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func TestBackup_RestoreIntoFreshCluster(t *testing.T) {
	source := startCluster(t, 3)
	leader := source.waitLeader()
	for _, name := range []string{"one", "two", "three"} {
		createTask(t, source.url(leader), name)
	}
	backup := getBytes(t, source.url(source.follower(leader))+"/api/v1/cluster/snapshot")
	want := call(t, http.MethodGet, source.url(leader)+"/api/v1/tasks", nil).body

	target := startCluster(t, 3)
	targetLeader := target.waitLeader()
	status, body := postBytes(t, target.url(target.follower(targetLeader))+"/api/v1/cluster/snapshot/restore", backup)
	if status != http.StatusOK {
		t.Fatalf("restore: status %d, body %s", status, body)
	}

	waitSameTasks(t, target, want)
	createTask(t, target.url(targetLeader), "after-restore")
}

func TestBackup_DamagedSnapshotRefused(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	createTask(t, tc.url(leader), "kept")
	backup := getBytes(t, tc.url(leader)+"/api/v1/cluster/snapshot")
	before := call(t, http.MethodGet, tc.url(leader)+"/api/v1/tasks", nil).body

	for name, damaged := range map[string][]byte{
		"truncated": backup[:len(backup)/2],
		"corrupted": bytes.Replace(backup, []byte(`"version":1`), []byte(`"version":9`), 1),
		"empty":     nil,
	} {
		status, body := postBytes(t, tc.url(leader)+"/api/v1/cluster/snapshot/restore", damaged)
		if status != http.StatusBadRequest {
			t.Errorf("%s snapshot: status %d, want 400; body %s", name, status, body)
		}
	}
	if after := call(t, http.MethodGet, tc.url(leader)+"/api/v1/tasks", nil).body; !bytes.Equal(after, before) {
		t.Errorf("state changed after refused restores:\n got %s\nwant %s", after, before)
	}
}
