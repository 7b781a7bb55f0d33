package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/api"
	"github.com/podling/podling/internal/forward"
	"github.com/podling/podling/internal/types"
)

var taskIDPattern = regexp.MustCompile(`^\d{14}-[a-z0-9]{8}$`)

func TestHealth_ReportsRaftStatus(t *testing.T) {
	m := newLeader(t, masterOptions{authEnabled: true})
	createTask(t, m, `{"name":"a","image":"busybox"}`)

	rec := do(t, m.server, http.MethodGet, "/health", "")
	wantStatus(t, rec, http.StatusOK)
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("expected Content-Type application/json, got %q", got)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("expected a JSON object, got %q: %v", rec.Body.String(), err)
	}
	want := map[string]any{
		"status":       "ok",
		"authEnabled":  true,
		"raftState":    "Leader",
		"leaderId":     leaderID,
		"term":         float64(3),
		"appliedIndex": float64(1),
	}
	for key, value := range want {
		if body[key] != value {
			t.Errorf("health %s: expected %v, got %v", key, value, body[key])
		}
	}
}

func TestHealth_AuthDisabledByDefault(t *testing.T) {
	m := newLeader(t, masterOptions{})

	rec := do(t, m.server, http.MethodGet, "/health", "")
	wantStatus(t, rec, http.StatusOK)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("expected a JSON object, got %q: %v", rec.Body.String(), err)
	}
	if body["authEnabled"] != false {
		t.Errorf("expected authEnabled false, got %v", body["authEnabled"])
	}
}

func TestHealth_AnswersOnFollowerWithoutLeader(t *testing.T) {
	m := newFollower(t, "http://127.0.0.1:1", masterOptions{})
	m.raft.set(func(r *fakeRaft) { r.leader = "" })

	rec := do(t, m.server, http.MethodGet, "/health", "")
	wantStatus(t, rec, http.StatusOK)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("expected a JSON object, got %q: %v", rec.Body.String(), err)
	}
	if body["raftState"] != "Follower" {
		t.Errorf("expected raftState Follower, got %v", body["raftState"])
	}
	if body["leaderId"] != "" {
		t.Errorf("expected an empty leaderId, got %v", body["leaderId"])
	}
}

func TestServer_NamesServerAndLeader(t *testing.T) {
	m := newLeader(t, masterOptions{})

	rec := do(t, m.server, http.MethodGet, "/health", "")
	if got := rec.Header().Get(forward.ServedByHeader); got != leaderID {
		t.Errorf("expected %s %q, got %q", forward.ServedByHeader, leaderID, got)
	}
	if got := rec.Header().Get(api.LeaderHeader); got != leaderID {
		t.Errorf("expected %s %q, got %q", api.LeaderHeader, leaderID, got)
	}
}

func TestCreateTask_ReturnsCreatedTask(t *testing.T) {
	m := newLeader(t, masterOptions{})

	rec := do(t, m.server, http.MethodPost, "/api/v1/tasks",
		`{"name":"my-nginx-task","image":"nginx:latest","env":{"PORT":"8080"}}`)
	wantStatus(t, rec, http.StatusCreated)
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("expected Content-Type application/json, got %q", got)
	}
	if got := rec.Header().Get(api.IndexHeader); got != "1" {
		t.Errorf("expected %s 1, got %q", api.IndexHeader, got)
	}

	var raw map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatalf("expected a JSON object, got %q: %v", rec.Body.String(), err)
	}
	id, _ := raw["taskId"].(string)
	if !taskIDPattern.MatchString(id) {
		t.Errorf("expected taskId to match %s, got %q", taskIDPattern, id)
	}
	if got := id[:14]; got != "20250119123456" {
		t.Errorf("expected the ID to start with the leader's clock 20250119123456, got %s", got)
	}
	wantFields := map[string]any{
		"name":   "my-nginx-task",
		"image":  "nginx:latest",
		"status": "pending",
		"env":    map[string]any{"PORT": "8080"},
	}
	for key, value := range wantFields {
		if got, _ := json.Marshal(raw[key]); string(got) != mustJSON(t, value) {
			t.Errorf("task %s: expected %s, got %s", key, mustJSON(t, value), got)
		}
	}

	task := decodeBody[types.Task](t, rec)
	if !task.CreatedAt.Equal(baseTime) {
		t.Errorf("expected createdAt %v from the leader's clock, got %v", baseTime, task.CreatedAt)
	}
	stored, ok := m.fsm.Task(id)
	if !ok {
		t.Fatalf("expected task %s in the FSM, found none", id)
	}
	if stored.Name != "my-nginx-task" || stored.Status != types.TaskPending {
		t.Errorf("expected the stored task to be pending my-nginx-task, got %+v", stored)
	}
}

func TestCreateTask_WithoutEnv(t *testing.T) {
	m := newLeader(t, masterOptions{})

	rec := do(t, m.server, http.MethodPost, "/api/v1/tasks", `{"name":"nginx-task","image":"nginx:latest"}`)
	wantStatus(t, rec, http.StatusCreated)
	var raw map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatalf("expected a JSON object, got %q: %v", rec.Body.String(), err)
	}
	if _, ok := raw["env"]; ok {
		t.Errorf("expected no env field for a task without env, got %v", raw["env"])
	}
}

func TestCreateTask_IDsAreUnique(t *testing.T) {
	m := newLeader(t, masterOptions{})

	seen := map[string]bool{}
	for i := range 20 {
		task := createTask(t, m, fmt.Sprintf(`{"name":"t%d","image":"busybox"}`, i))
		if seen[task.TaskID] {
			t.Fatalf("expected unique task IDs within one second, got %s twice", task.TaskID)
		}
		seen[task.TaskID] = true
	}
}

func TestListTasks_Filters(t *testing.T) {
	m := newLeader(t, masterOptions{})
	registerNode(t, m, `{"hostname":"node-a","port":8081,"capacity":2}`)
	registerNode(t, m, `{"hostname":"node-b","port":8081,"capacity":2}`)
	scheduled := createTask(t, m, `{"name":"scheduled","image":"busybox"}`)
	running := createTask(t, m, `{"name":"running","image":"busybox"}`)
	pending := createTask(t, m, `{"name":"pending","image":"busybox"}`)
	scheduleTask(t, m, scheduled.TaskID, "node-a")
	scheduleTask(t, m, running.TaskID, "node-b")
	rec := do(t, m.server, http.MethodPut, "/api/v1/tasks/"+running.TaskID+"/status", `{"status":"running"}`)
	wantStatus(t, rec, http.StatusOK)

	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"no filter in creation order", "", []string{scheduled.TaskID, running.TaskID, pending.TaskID}},
		{"status pending", "?status=pending", []string{pending.TaskID}},
		{"status scheduled", "?status=scheduled", []string{scheduled.TaskID}},
		{"status completed matches none", "?status=completed", []string{}},
		{"node", "?nodeId=node-a", []string{scheduled.TaskID}},
		{"status and node", "?status=running&nodeId=node-b", []string{running.TaskID}},
		{"status and other node", "?status=running&nodeId=node-a", []string{}},
		{"unknown node", "?nodeId=node-z", []string{}},
		{"explicit linearizable", "?stale=false", []string{scheduled.TaskID, running.TaskID, pending.TaskID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, m.server, http.MethodGet, "/api/v1/tasks"+tt.query, "")
			wantStatus(t, rec, http.StatusOK)
			if got := rec.Body.String(); len(tt.want) == 0 && got != "[]\n" {
				t.Errorf("expected an empty JSON array, got %q", got)
			}
			tasks := decodeBody[[]types.Task](t, rec)
			got := make([]string, 0, len(tasks))
			for _, task := range tasks {
				got = append(got, task.TaskID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("expected tasks %v, got %v", tt.want, got)
			}
			if got, want := rec.Header().Get(api.IndexHeader), strconv.FormatUint(m.fsm.AppliedIndex(), 10); got != want {
				t.Errorf("expected %s %s, got %q", api.IndexHeader, want, got)
			}
		})
	}
}

func TestGetTask_ReturnsTask(t *testing.T) {
	m := newLeader(t, masterOptions{})
	created := createTask(t, m, `{"name":"web","image":"nginx:1.27","env":{"A":"1"}}`)

	rec := do(t, m.server, http.MethodGet, "/api/v1/tasks/"+created.TaskID, "")
	wantStatus(t, rec, http.StatusOK)
	got := decodeBody[types.Task](t, rec)
	if got.TaskID != created.TaskID || got.Name != "web" || got.Image != "nginx:1.27" || got.Env["A"] != "1" {
		t.Errorf("expected the created task %+v, got %+v", created, got)
	}
	if got.Status != types.TaskPending {
		t.Errorf("expected status pending, got %s", got.Status)
	}
}

func TestUpdateTaskStatus_MovesTaskForward(t *testing.T) {
	m := newLeader(t, masterOptions{})
	registerNode(t, m, `{"hostname":"worker-1","port":8081,"capacity":10}`)
	task := createTask(t, m, `{"name":"job","image":"busybox"}`)
	scheduleTask(t, m, task.TaskID, "worker-1")

	m.clock.Advance(time.Second)
	rec := do(t, m.server, http.MethodPut, "/api/v1/tasks/"+task.TaskID+"/status",
		`{"status":"running","containerId":"docker-container-id"}`)
	wantStatus(t, rec, http.StatusOK)
	if rec.Header().Get(api.IndexHeader) == "" {
		t.Errorf("expected %s on a write, got none", api.IndexHeader)
	}
	running := decodeBody[types.Task](t, rec)
	if running.Status != types.TaskRunning {
		t.Errorf("expected status running, got %s", running.Status)
	}
	if running.ContainerID != "docker-container-id" {
		t.Errorf("expected containerId docker-container-id, got %q", running.ContainerID)
	}
	if running.StartedAt == nil || !running.StartedAt.Equal(baseTime.Add(time.Second)) {
		t.Errorf("expected startedAt %v, got %v", baseTime.Add(time.Second), running.StartedAt)
	}

	rec = do(t, m.server, http.MethodPut, "/api/v1/tasks/"+task.TaskID+"/status",
		`{"status":"completed","exitCode":0,"nodeId":"worker-1"}`)
	wantStatus(t, rec, http.StatusOK)
	completed := decodeBody[types.Task](t, rec)
	if completed.Status != types.TaskCompleted {
		t.Errorf("expected status completed, got %s", completed.Status)
	}
	if completed.ExitCode == nil || *completed.ExitCode != 0 {
		t.Errorf("expected exitCode 0, got %v", completed.ExitCode)
	}
	if stored, _ := m.fsm.Task(task.TaskID); stored.Status != types.TaskCompleted {
		t.Errorf("expected the FSM to hold status completed, got %s", stored.Status)
	}
}

func TestUpdateTaskStatus_FailedFromPending(t *testing.T) {
	m := newLeader(t, masterOptions{})
	task := createTask(t, m, `{"name":"job","image":"busybox"}`)

	rec := do(t, m.server, http.MethodPut, "/api/v1/tasks/"+task.TaskID+"/status",
		`{"status":"failed","reason":"ImagePullFailed","message":"pull busybox: no registry"}`)
	wantStatus(t, rec, http.StatusOK)
	got := decodeBody[types.Task](t, rec)
	if got.Status != types.TaskFailed || got.Reason != "ImagePullFailed" {
		t.Errorf("expected failed with reason ImagePullFailed, got %s with reason %q", got.Status, got.Reason)
	}
}

func TestUpdateTaskStatus_LateReportIsNoOp(t *testing.T) {
	m := newLeader(t, masterOptions{})
	registerNode(t, m, `{"hostname":"worker-1","port":8081,"capacity":10}`)
	task := createTask(t, m, `{"name":"job","image":"busybox"}`)
	scheduleTask(t, m, task.TaskID, "worker-1")
	path := "/api/v1/tasks/" + task.TaskID + "/status"
	wantStatus(t, do(t, m.server, http.MethodPut, path, `{"status":"running"}`), http.StatusOK)
	wantStatus(t, do(t, m.server, http.MethodPut, path, `{"status":"completed","exitCode":0}`), http.StatusOK)
	before := takeSnapshot(m.fsm)

	tests := []struct {
		name string
		body string
	}{
		{"repeated completed", `{"status":"completed","exitCode":0}`},
		{"late running", `{"status":"running","containerId":"other"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, m.server, http.MethodPut, path, tt.body)
			wantStatus(t, rec, http.StatusOK)
			if got := decodeBody[types.Task](t, rec); got.Status != types.TaskCompleted {
				t.Errorf("expected the task to stay completed, got %s", got.Status)
			}
			wantUnchanged(t, m.fsm, before)
		})
	}
}

func TestRegisterNode_DefaultsNodeIDToHostname(t *testing.T) {
	m := newLeader(t, masterOptions{})

	node := registerNode(t, m, `{"hostname":"worker-1","port":8081,"capacity":10}`)
	if node.NodeID != "worker-1" {
		t.Errorf("expected nodeId worker-1 from the hostname, got %q", node.NodeID)
	}
	if node.Status != types.NodeOnline {
		t.Errorf("expected status online, got %s", node.Status)
	}
	if node.Port != 8081 || node.Capacity != 10 {
		t.Errorf("expected port 8081 and capacity 10, got %d and %d", node.Port, node.Capacity)
	}
	if !node.RegisteredAt.Equal(baseTime) {
		t.Errorf("expected registeredAt %v, got %v", baseTime, node.RegisteredAt)
	}
	if _, ok := m.fsm.Node("worker-1"); !ok {
		t.Errorf("expected node worker-1 in the FSM, found none")
	}
	if at, ok := m.beats.lastSeen("worker-1"); !ok || !at.Equal(baseTime) {
		t.Errorf("expected the heartbeat recorder to see worker-1 at %v, got %v (found %t)", baseTime, at, ok)
	}
}

func TestRegisterNode_ExplicitNodeID(t *testing.T) {
	m := newLeader(t, masterOptions{})

	node := registerNode(t, m, `{"nodeId":"w1","hostname":"worker-1.example.internal","port":9000,"capacity":3}`)
	if node.NodeID != "w1" || node.Hostname != "worker-1.example.internal" {
		t.Errorf("expected nodeId w1 on worker-1.example.internal, got %q on %q", node.NodeID, node.Hostname)
	}
}

func TestRegisterNode_ReRegisterIsIdempotent(t *testing.T) {
	m := newLeader(t, masterOptions{})
	first := registerNode(t, m, `{"hostname":"worker-1","port":8081,"capacity":10}`)

	m.clock.Advance(time.Minute)
	second := registerNode(t, m, `{"hostname":"worker-1","port":8082,"capacity":4}`)
	if second.NodeID != first.NodeID {
		t.Errorf("expected the same nodeId %q, got %q", first.NodeID, second.NodeID)
	}
	if !second.RegisteredAt.Equal(first.RegisteredAt) {
		t.Errorf("expected registeredAt to stay %v, got %v", first.RegisteredAt, second.RegisteredAt)
	}
	if second.Port != 8082 || second.Capacity != 4 {
		t.Errorf("expected the new port 8082 and capacity 4, got %d and %d", second.Port, second.Capacity)
	}

	rec := do(t, m.server, http.MethodGet, "/api/v1/nodes", "")
	wantStatus(t, rec, http.StatusOK)
	if nodes := decodeBody[[]types.Node](t, rec); len(nodes) != 1 {
		t.Errorf("expected one node after registering twice, got %d: %+v", len(nodes), nodes)
	}
}

func TestHeartbeat_RecordsLastSeen(t *testing.T) {
	m := newLeader(t, masterOptions{})
	registerNode(t, m, `{"hostname":"worker-1","port":8081,"capacity":10}`)
	proposals := m.raft.proposalCount()
	m.clock.Advance(5 * time.Second)

	rec := do(t, m.server, http.MethodPost, "/api/v1/nodes/worker-1/heartbeat", "")
	wantStatus(t, rec, http.StatusOK)
	node := decodeBody[types.Node](t, rec)
	want := baseTime.Add(5 * time.Second)
	if !node.LastHeartbeat.Equal(want) {
		t.Errorf("expected lastHeartbeat %v, got %v", want, node.LastHeartbeat)
	}
	if at, ok := m.beats.lastSeen("worker-1"); !ok || !at.Equal(want) {
		t.Errorf("expected the heartbeat recorder to see worker-1 at %v, got %v (found %t)", want, at, ok)
	}
	if got := m.raft.proposalCount(); got != proposals {
		t.Errorf("expected a heartbeat from an online node to propose nothing, got %d proposals", got-proposals)
	}
}

func TestHeartbeat_UnknownNodeIs404(t *testing.T) {
	m := newLeader(t, masterOptions{})
	before := takeSnapshot(m.fsm)

	rec := do(t, m.server, http.MethodPost, "/api/v1/nodes/worker-9/heartbeat", "")
	wantError(t, rec, http.StatusNotFound, "not_found", "worker-9")
	if _, ok := m.beats.lastSeen("worker-9"); ok {
		t.Errorf("expected no heartbeat recorded for an unknown node, found one")
	}
	wantUnchanged(t, m.fsm, before)
}

func TestHeartbeat_OfflineNodeComesBackOnline(t *testing.T) {
	m := newLeader(t, masterOptions{})
	registerNode(t, m, `{"hostname":"worker-1","port":8081,"capacity":10}`)
	m.raft.commit(t, fsm.SetNodeStatus{NodeID: "worker-1", Status: types.NodeOffline, Time: baseTime})
	m.clock.Advance(time.Minute)

	rec := do(t, m.server, http.MethodPost, "/api/v1/nodes/worker-1/heartbeat", "")
	wantStatus(t, rec, http.StatusOK)
	if rec.Header().Get(api.IndexHeader) == "" {
		t.Errorf("expected %s on a heartbeat that wrote to the log, got none", api.IndexHeader)
	}
	if got := decodeBody[types.Node](t, rec).Status; got != types.NodeOnline {
		t.Errorf("expected the response to show status online, got %s", got)
	}
	if stored, _ := m.fsm.Node("worker-1"); stored.Status != types.NodeOnline {
		t.Errorf("expected the FSM to hold status online, got %s", stored.Status)
	}
	if at, ok := m.beats.lastSeen("worker-1"); !ok || !at.Equal(baseTime.Add(time.Minute)) {
		t.Errorf("expected the heartbeat recorder to see worker-1 at %v, got %v (found %t)", baseTime.Add(time.Minute), at, ok)
	}
}

func TestListNodes_OrderedByID(t *testing.T) {
	m := newLeader(t, masterOptions{})
	registerNode(t, m, `{"hostname":"worker-b","port":8081,"capacity":1}`)
	registerNode(t, m, `{"hostname":"worker-a","port":8082,"capacity":2}`)

	rec := do(t, m.server, http.MethodGet, "/api/v1/nodes", "")
	wantStatus(t, rec, http.StatusOK)
	nodes := decodeBody[[]types.Node](t, rec)
	var got []string
	for _, n := range nodes {
		got = append(got, n.NodeID)
	}
	if want := []string{"worker-a", "worker-b"}; !slices.Equal(got, want) {
		t.Errorf("expected nodes %v, got %v", want, got)
	}
}

func TestListNodes_EmptyIsArray(t *testing.T) {
	m := newLeader(t, masterOptions{})

	rec := do(t, m.server, http.MethodGet, "/api/v1/nodes", "")
	wantStatus(t, rec, http.StatusOK)
	if got := rec.Body.String(); got != "[]\n" {
		t.Errorf("expected an empty JSON array, got %q", got)
	}
}

func TestReadIndex_LeaderReturnsAppliedIndex(t *testing.T) {
	m := newLeader(t, masterOptions{})
	createTask(t, m, `{"name":"a","image":"busybox"}`)
	createTask(t, m, `{"name":"b","image":"busybox"}`)

	rec := do(t, m.server, http.MethodGet, forward.ReadIndexPath, "")
	wantStatus(t, rec, http.StatusOK)
	if got := decodeBody[map[string]uint64](t, rec)["index"]; got != 2 {
		t.Errorf("expected read index 2, got %d", got)
	}
	if got := rec.Header().Get(api.IndexHeader); got != "2" {
		t.Errorf("expected %s 2, got %q", api.IndexHeader, got)
	}
}

func TestReadIndex_FollowerIs503(t *testing.T) {
	m := newFollower(t, "http://127.0.0.1:1", masterOptions{})

	rec := do(t, m.server, http.MethodGet, forward.ReadIndexPath, "")
	wantError(t, rec, http.StatusServiceUnavailable, "no_leader")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	return string(data)
}
