package api_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/types"
)

// validTaskID has the ID form but names no task.
const validTaskID = "20250119123456-abc12345"

func TestCreateTask_InvalidInputIs400(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		contains []string
	}{
		{"unknown field", `{"name":"a","image":"busybox","bogus":1}`, []string{"bogus", "unknown field"}},
		{"unknown field in camel case", `{"name":"a","image":"busybox","taskId":"x"}`, []string{"taskId"}},
		{"name of wrong type", `{"name":5,"image":"busybox"}`, []string{"name", "string"}},
		{"env of wrong type", `{"name":"a","image":"busybox","env":["A=1"]}`, []string{"env", "expected a JSON object, got array"}},
		{"env value of wrong type", `{"name":"a","image":"busybox","env":{"A":1}}`, []string{"env"}},
		{"trailing object", `{"name":"a","image":"busybox"} {}`, []string{"after the JSON object"}},
		{"trailing garbage", `{"name":"a","image":"busybox"}x`, nil},
		{"empty body", ``, []string{"empty"}},
		{"blank body", " \n\t", []string{"empty"}},
		{"malformed JSON", `{"name":"a",`, nil},
		{"array instead of object", `[{"name":"a","image":"busybox"}]`, []string{"expected a JSON object, got array"}},
		{"null body", `null`, []string{"name", "required"}},
		{"missing name", `{"image":"busybox"}`, []string{"name", "required"}},
		{"empty name", `{"name":"","image":"busybox"}`, []string{"name", "required"}},
		{"name with control character", `{"name":"a\u0007b","image":"busybox"}`, []string{"name"}},
		{"name too long", `{"name":"` + strings.Repeat("n", 254) + `","image":"busybox"}`, []string{"name"}},
		{"missing image", `{"name":"a"}`, []string{"image", "required"}},
		{"image with space", `{"name":"a","image":"nginx latest"}`, []string{"image", "nginx latest"}},
		{"image with leading dash", `{"name":"a","image":"-nginx"}`, []string{"image"}},
		{"image too long", `{"name":"a","image":"` + strings.Repeat("i", 256) + `"}`, []string{"image"}},
		{"env name with dash", `{"name":"a","image":"busybox","env":{"MY-VAR":"1"}}`, []string{"env", "MY-VAR"}},
		{"env name with leading digit", `{"name":"a","image":"busybox","env":{"1VAR":"1"}}`, []string{"env", "1VAR"}},
		{"empty env name", `{"name":"a","image":"busybox","env":{"":"1"}}`, []string{"env"}},
		{"env value with NUL", `{"name":"a","image":"busybox","env":{"A":"x\u0000y"}}`, []string{"env.A"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newLeader(t, masterOptions{})
			before := takeSnapshot(m.fsm)

			rec := do(t, m.server, http.MethodPost, "/api/v1/tasks", tt.body)
			wantError(t, rec, http.StatusBadRequest, "invalid_argument", tt.contains...)
			if got := m.raft.proposalCount(); got != 0 {
				t.Errorf("expected nothing proposed for invalid input, got %d proposals", got)
			}
			wantUnchanged(t, m.fsm, before)
		})
	}
}

func TestUpdateTaskStatus_InvalidInputIs400(t *testing.T) {
	tests := []struct {
		name     string
		path     string // empty means the task's own status path
		body     string
		contains []string
	}{
		{"unknown status", "", `{"status":"done"}`, []string{"status", "done"}},
		{"scheduled is not a worker report", "", `{"status":"scheduled","nodeId":"worker-1"}`, []string{"status"}},
		{"pending is not a worker report", "", `{"status":"pending"}`, []string{"status"}},
		{"missing status", "", `{"containerId":"abc"}`, []string{"status", "required"}},
		{"status of wrong type", "", `{"status":1}`, []string{"status"}},
		{"unknown field", "", `{"status":"running","exit":0}`, []string{"exit"}},
		{"exit code of wrong type", "", `{"status":"completed","exitCode":"0"}`, []string{"exitCode"}},
		{"bad container ID", "", `{"status":"running","containerId":"a b"}`, []string{"containerId"}},
		{"bad reason", "", `{"status":"failed","reason":"two words"}`, []string{"reason"}},
		{"message too long", "", `{"status":"failed","message":"` + strings.Repeat("m", 4097) + `"}`, []string{"message"}},
		{"bad node ID", "", `{"status":"running","nodeId":"-bad"}`, []string{"nodeId"}},
		{"empty body", "", ``, []string{"empty"}},
		{"task ID of wrong form", "/api/v1/tasks/not-a-task/status", `{"status":"running"}`, []string{"taskId", "not-a-task"}},
		{"task ID with capitals", "/api/v1/tasks/20250119123456-ABC12345/status", `{"status":"running"}`, []string{"taskId"}},
		{"task ID too short", "/api/v1/tasks/2025-abc12345/status", `{"status":"running"}`, []string{"taskId"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newLeader(t, masterOptions{})
			task := createTask(t, m, `{"name":"job","image":"busybox"}`)
			path := tt.path
			if path == "" {
				path = "/api/v1/tasks/" + task.TaskID + "/status"
			}
			before := takeSnapshot(m.fsm)
			proposals := m.raft.proposalCount()

			rec := do(t, m.server, http.MethodPut, path, tt.body)
			wantError(t, rec, http.StatusBadRequest, "invalid_argument", tt.contains...)
			if got := m.raft.proposalCount(); got != proposals {
				t.Errorf("expected nothing proposed for invalid input, got %d proposals", got-proposals)
			}
			wantUnchanged(t, m.fsm, before)
		})
	}
}

func TestRegisterNode_InvalidInputIs400(t *testing.T) {
	longHost := strings.Repeat("h", 64) // a valid host name but too long for a node ID
	tests := []struct {
		name     string
		body     string
		contains []string
	}{
		{"missing hostname", `{"port":8081,"capacity":1}`, []string{"hostname", "required"}},
		{"hostname with space", `{"hostname":"worker 1","port":8081,"capacity":1}`, []string{"hostname"}},
		{"hostname with leading dash", `{"hostname":"-worker","port":8081,"capacity":1}`, []string{"hostname"}},
		{"hostname with trailing dot", `{"hostname":"worker.","port":8081,"capacity":1}`, []string{"hostname"}},
		{"hostname without usable node ID", `{"hostname":"` + longHost + `","port":8081,"capacity":1}`, []string{"nodeId"}},
		{"bad node ID", `{"nodeId":"a/b","hostname":"worker-1","port":8081,"capacity":1}`, []string{"nodeId", "a/b"}},
		{"missing port", `{"hostname":"worker-1","capacity":1}`, []string{"port"}},
		{"port zero", `{"hostname":"worker-1","port":0,"capacity":1}`, []string{"port"}},
		{"negative port", `{"hostname":"worker-1","port":-1,"capacity":1}`, []string{"port"}},
		{"port too high", `{"hostname":"worker-1","port":65536,"capacity":1}`, []string{"port", "65536"}},
		{"port of wrong type", `{"hostname":"worker-1","port":"8081","capacity":1}`, []string{"port"}},
		{"port not an integer", `{"hostname":"worker-1","port":80.5,"capacity":1}`, []string{"port"}},
		{"missing capacity", `{"hostname":"worker-1","port":8081}`, []string{"capacity"}},
		{"capacity zero", `{"hostname":"worker-1","port":8081,"capacity":0}`, []string{"capacity"}},
		{"capacity too high", `{"hostname":"worker-1","port":8081,"capacity":10001}`, []string{"capacity"}},
		{"negative memory", `{"hostname":"worker-1","port":8081,"capacity":1,"memoryBytes":-1}`, []string{"memoryBytes"}},
		{"unknown field", `{"hostname":"worker-1","port":8081,"capacity":1,"labels":{}}`, []string{"labels"}},
		{"empty body", ``, []string{"empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newLeader(t, masterOptions{})
			before := takeSnapshot(m.fsm)

			rec := do(t, m.server, http.MethodPost, "/api/v1/nodes/register", tt.body)
			wantError(t, rec, http.StatusBadRequest, "invalid_argument", tt.contains...)
			if got := m.raft.proposalCount(); got != 0 {
				t.Errorf("expected nothing proposed for invalid input, got %d proposals", got)
			}
			wantUnchanged(t, m.fsm, before)
		})
	}
}

func TestRead_InvalidQueryIs400(t *testing.T) {
	tests := []struct {
		name     string
		target   string
		contains []string
	}{
		{"unknown status", "/api/v1/tasks?status=bogus", []string{"status", "bogus"}},
		{"status in capitals", "/api/v1/tasks?status=Pending", []string{"status"}},
		{"bad node ID", "/api/v1/tasks?nodeId=-bad", []string{"nodeId"}},
		{"bad stale on tasks", "/api/v1/tasks?stale=maybe", []string{"stale", "maybe"}},
		{"bad stale on nodes", "/api/v1/nodes?stale=2", []string{"stale"}},
		{"bad stale on one task", "/api/v1/tasks/" + validTaskID + "?stale=yes", []string{"stale"}},
		{"task ID of wrong form", "/api/v1/tasks/abc", []string{"taskId", "abc"}},
		{"task ID with extra characters", "/api/v1/tasks/" + validTaskID + "0", []string{"taskId"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newLeader(t, masterOptions{})

			rec := do(t, m.server, http.MethodGet, tt.target, "")
			wantError(t, rec, http.StatusBadRequest, "invalid_argument", tt.contains...)
		})
	}
}

func TestHeartbeat_InvalidNodeIDIs400(t *testing.T) {
	m := newLeader(t, masterOptions{})

	rec := do(t, m.server, http.MethodPost, "/api/v1/nodes/-bad/heartbeat", "")
	wantError(t, rec, http.StatusBadRequest, "invalid_argument", "nodeId")
	if _, ok := m.beats.lastSeen("-bad"); ok {
		t.Errorf("expected no heartbeat recorded for an invalid node ID, found one")
	}
}

func TestNotFound_Is404(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		target   string
		body     string
		contains []string
	}{
		{"unknown task", http.MethodGet, "/api/v1/tasks/" + validTaskID, "", []string{validTaskID}},
		{"status of unknown task", http.MethodPut, "/api/v1/tasks/" + validTaskID + "/status", `{"status":"running"}`, []string{validTaskID}},
		{"unknown route", http.MethodGet, "/api/v1/widgets", "", []string{"/api/v1/widgets"}},
		{"unknown version", http.MethodGet, "/api/v2/tasks", "", nil},
		{"trailing slash", http.MethodGet, "/api/v1/tasks/", "", nil},
		{"root", http.MethodGet, "/", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newLeader(t, masterOptions{})
			before := takeSnapshot(m.fsm)

			rec := do(t, m.server, tt.method, tt.target, tt.body)
			wantError(t, rec, http.StatusNotFound, "not_found", tt.contains...)
			wantUnchanged(t, m.fsm, before)
		})
	}
}

func TestWrongMethod_Is405(t *testing.T) {
	tests := []struct {
		method string
		target string
	}{
		{http.MethodDelete, "/api/v1/tasks"},
		{http.MethodPut, "/api/v1/tasks"},
		{http.MethodPost, "/api/v1/tasks/" + validTaskID},
		{http.MethodDelete, "/api/v1/tasks/" + validTaskID},
		{http.MethodPost, "/api/v1/tasks/" + validTaskID + "/status"},
		{http.MethodGet, "/api/v1/nodes/register"},
		{http.MethodGet, "/api/v1/nodes/worker-1/heartbeat"},
		{http.MethodPost, "/api/v1/nodes"},
		{http.MethodPost, "/health"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			m := newLeader(t, masterOptions{})
			before := takeSnapshot(m.fsm)

			rec := do(t, m.server, tt.method, tt.target, `{}`)
			wantError(t, rec, http.StatusMethodNotAllowed, "method_not_allowed", tt.method)
			if got := m.raft.proposalCount(); got != 0 {
				t.Errorf("expected nothing proposed, got %d proposals", got)
			}
			wantUnchanged(t, m.fsm, before)
		})
	}
}

func TestUpdateTaskStatus_IllegalTransitionIs409(t *testing.T) {
	tests := []struct {
		name  string
		setup []string // reports sent before the rejected one; nil leaves the task pending
		body  string
		from  types.TaskStatus
	}{
		{"pending to completed", nil, `{"status":"completed","exitCode":0}`, types.TaskPending},
		{"pending to running", nil, `{"status":"running"}`, types.TaskPending},
		{"completed to failed", []string{`{"status":"running"}`, `{"status":"completed","exitCode":0}`}, `{"status":"failed"}`, types.TaskCompleted},
		{"failed to completed", []string{`{"status":"failed"}`}, `{"status":"completed","exitCode":0}`, types.TaskFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newLeader(t, masterOptions{})
			registerNode(t, m, `{"hostname":"worker-1","port":8081,"capacity":10}`)
			task := createTask(t, m, `{"name":"job","image":"busybox"}`)
			path := "/api/v1/tasks/" + task.TaskID + "/status"
			if tt.setup != nil {
				scheduleTask(t, m, task.TaskID, "worker-1")
			}
			for _, body := range tt.setup {
				wantStatus(t, do(t, m.server, http.MethodPut, path, body), http.StatusOK)
			}
			before := takeSnapshot(m.fsm)

			rec := do(t, m.server, http.MethodPut, path, tt.body)
			wantError(t, rec, http.StatusConflict, "illegal_transition", task.TaskID, string(tt.from))
			wantUnchanged(t, m.fsm, before)
			if stored, _ := m.fsm.Task(task.TaskID); stored.Status != tt.from {
				t.Errorf("expected the task to stay %s, got %s", tt.from, stored.Status)
			}
		})
	}
}

func TestUpdateTaskStatus_ReportFromOtherNodeIs409(t *testing.T) {
	m := newLeader(t, masterOptions{})
	registerNode(t, m, `{"hostname":"worker-1","port":8081,"capacity":10}`)
	task := createTask(t, m, `{"name":"job","image":"busybox"}`)
	scheduleTask(t, m, task.TaskID, "worker-1")
	before := takeSnapshot(m.fsm)

	rec := do(t, m.server, http.MethodPut, "/api/v1/tasks/"+task.TaskID+"/status", `{"status":"running","nodeId":"worker-2"}`)
	wantError(t, rec, http.StatusConflict, "conflict", "worker-2")
	wantUnchanged(t, m.fsm, before)
}

// lengthHidden hides the size of a body, so the HTTP client sends it chunked
// without a Content-Length.
type lengthHidden struct{ io.Reader }

func TestBodyTooLarge_Is413(t *testing.T) {
	const limit = 64
	big := `{"name":"` + strings.Repeat("x", 100) + `","image":"busybox"}`
	tests := []struct {
		name    string
		method  string
		path    string
		chunked bool
	}{
		{"create task with length", http.MethodPost, "/api/v1/tasks", false},
		{"create task chunked", http.MethodPost, "/api/v1/tasks", true},
		{"register with length", http.MethodPost, "/api/v1/nodes/register", false},
		{"register chunked", http.MethodPost, "/api/v1/nodes/register", true},
		{"status update chunked", http.MethodPut, "/api/v1/tasks/" + validTaskID + "/status", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newLeader(t, masterOptions{maxBodyBytes: limit})
			var mu sync.Mutex
			var seenLength int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seenLength = r.ContentLength
				mu.Unlock()
				m.server.ServeHTTP(w, r)
			}))
			defer srv.Close()
			before := takeSnapshot(m.fsm)

			var body io.Reader = strings.NewReader(big)
			if tt.chunked {
				body = lengthHidden{body}
			}
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, body)
			if err != nil {
				t.Fatalf("build request: %v", err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("send request: %v", err)
			}
			text := readAll(t, resp.Body)

			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("expected status 413, got %d with body %s", resp.StatusCode, text)
			}
			wantErrorBody(t, resp.Header, text, "too_large", strconv.Itoa(limit))
			mu.Lock()
			gotLength := seenLength
			mu.Unlock()
			if tt.chunked && gotLength != -1 {
				t.Errorf("expected the request to arrive without a Content-Length, got length %d", gotLength)
			}
			if !tt.chunked && gotLength != int64(len(big)) {
				t.Errorf("expected Content-Length %d, got %d", len(big), gotLength)
			}
			if got := m.raft.proposalCount(); got != 0 {
				t.Errorf("expected nothing proposed for an oversized body, got %d proposals", got)
			}
			wantUnchanged(t, m.fsm, before)
		})
	}
}

func TestBodyAtLimit_IsAccepted(t *testing.T) {
	body := `{"name":"a","image":"busybox"}`
	m := newLeader(t, masterOptions{maxBodyBytes: int64(len(body))})

	rec := do(t, m.server, http.MethodPost, "/api/v1/tasks", body)
	wantStatus(t, rec, http.StatusCreated)
}

func TestWrite_ClusterErrorsMapToStatus(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"not leader", cluster.ErrNotLeader, http.StatusServiceUnavailable, "no_leader"},
		{"not leader from raft", fmt.Errorf("%w: %w", cluster.ErrNotLeader, raft.ErrNotLeader), http.StatusServiceUnavailable, "no_leader"},
		{"timeout", fmt.Errorf("%w: %w", cluster.ErrTimeout, raft.ErrEnqueueTimeout), http.StatusServiceUnavailable, "timeout"},
		{"leadership lost", fmt.Errorf("%w: %w", cluster.ErrLeadershipLost, raft.ErrLeadershipLost), http.StatusServiceUnavailable, "outcome_unknown"},
		{"shutdown", fmt.Errorf("%w: %w", cluster.ErrShutdown, raft.ErrRaftShutdown), http.StatusServiceUnavailable, "shutting_down"},
		{"too large", cluster.ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
		{"unexpected", errors.New("disk on fire"), http.StatusInternalServerError, "internal"},
	}
	requests := []struct {
		name   string
		method string
		path   string // %s is replaced by the ID of a scheduled task
		body   string
	}{
		{"create task", http.MethodPost, "/api/v1/tasks", `{"name":"a","image":"busybox"}`},
		{"status update", http.MethodPut, "/api/v1/tasks/%s/status", `{"status":"running"}`},
		{"register", http.MethodPost, "/api/v1/nodes/register", `{"hostname":"worker-2","port":8081,"capacity":1}`},
	}
	for _, tt := range tests {
		for _, req := range requests {
			t.Run(tt.name+"/"+req.name, func(t *testing.T) {
				m := newLeader(t, masterOptions{})
				registerNode(t, m, `{"hostname":"worker-1","port":8081,"capacity":10}`)
				task := createTask(t, m, `{"name":"job","image":"busybox"}`)
				scheduleTask(t, m, task.TaskID, "worker-1")
				path := req.path
				if strings.Contains(path, "%s") {
					path = fmt.Sprintf(path, task.TaskID)
				}
				m.raft.set(func(r *fakeRaft) { r.proposeErr = tt.err })
				before := takeSnapshot(m.fsm)

				rec := do(t, m.server, req.method, path, req.body)
				wantError(t, rec, tt.status, tt.code)
				wantUnchanged(t, m.fsm, before)
				if tt.status == http.StatusServiceUnavailable {
					wantRetryAfter(t, rec.Header())
				}
			})
		}
	}
}

func TestHeartbeat_ClusterErrorOnOfflineNodeIs503(t *testing.T) {
	m := newLeader(t, masterOptions{})
	registerNode(t, m, `{"hostname":"worker-1","port":8081,"capacity":10}`)
	m.raft.commit(t, fsm.SetNodeStatus{NodeID: "worker-1", Status: types.NodeOffline, Time: baseTime})
	m.raft.set(func(r *fakeRaft) {
		r.proposeErr = fmt.Errorf("%w: %w", cluster.ErrLeadershipLost, raft.ErrLeadershipLost)
	})
	before := takeSnapshot(m.fsm)

	rec := do(t, m.server, http.MethodPost, "/api/v1/nodes/worker-1/heartbeat", "")
	wantError(t, rec, http.StatusServiceUnavailable, "outcome_unknown")
	wantUnchanged(t, m.fsm, before)
}

func TestWrite_LeaderNotReadyIs503(t *testing.T) {
	m := newLeader(t, masterOptions{readyWait: 50 * time.Millisecond})
	m.raft.set(func(r *fakeRaft) { r.ready = false })
	before := takeSnapshot(m.fsm)

	start := time.Now()
	rec := do(t, m.server, http.MethodPost, "/api/v1/tasks", `{"name":"a","image":"busybox"}`)
	elapsed := time.Since(start)

	wantError(t, rec, http.StatusServiceUnavailable, "no_leader", "catching up")
	wantRetryAfter(t, rec.Header())
	if elapsed < 50*time.Millisecond {
		t.Errorf("expected the request to wait the ready wait of 50ms, it returned after %v", elapsed)
	}
	if got := m.raft.proposalCount(); got != 0 {
		t.Errorf("expected nothing proposed before the leader is ready, got %d proposals", got)
	}
	wantUnchanged(t, m.fsm, before)
}

func TestWrite_WaitsForLeaderReady(t *testing.T) {
	m := newLeader(t, masterOptions{readyWait: 10 * time.Second})
	polled := make(chan struct{})
	m.raft.set(func(r *fakeRaft) { r.ready, r.readyPolled = false, polled })

	done := doAsync(m.server, http.MethodPost, "/api/v1/tasks", `{"name":"a","image":"busybox"}`)
	receive(t, polled, "the handler to check leader readiness")
	m.raft.set(func(r *fakeRaft) { r.ready = true })

	rec := receive(t, done, "the create request")
	wantStatus(t, rec, http.StatusCreated)
}

func TestWrite_LeadershipLostWhileWaitingIs503(t *testing.T) {
	m := newLeader(t, masterOptions{readyWait: 10 * time.Second})
	polled := make(chan struct{})
	m.raft.set(func(r *fakeRaft) { r.ready, r.readyPolled = false, polled })

	done := doAsync(m.server, http.MethodPost, "/api/v1/tasks", `{"name":"a","image":"busybox"}`)
	receive(t, polled, "the handler to check leader readiness")
	m.raft.set(func(r *fakeRaft) { r.isLeader, r.leader = false, "" })

	rec := receive(t, done, "the create request")
	wantError(t, rec, http.StatusServiceUnavailable, "no_leader")
	if got := m.raft.proposalCount(); got != 0 {
		t.Errorf("expected nothing proposed, got %d proposals", got)
	}
}

func TestRead_LeaderNotReadyIs503(t *testing.T) {
	m := newLeader(t, masterOptions{readyWait: 20 * time.Millisecond})
	m.raft.set(func(r *fakeRaft) { r.ready = false })

	for _, target := range []string{"/api/v1/tasks", "/api/v1/nodes", "/api/v1/tasks/" + validTaskID, "/internal/v1/read-index"} {
		t.Run(target, func(t *testing.T) {
			rec := do(t, m.server, http.MethodGet, target, "")
			wantError(t, rec, http.StatusServiceUnavailable, "no_leader")
		})
	}
}

func TestRead_LeaderNotReadyServesStale(t *testing.T) {
	m := newLeader(t, masterOptions{readyWait: 20 * time.Millisecond})
	createTask(t, m, `{"name":"a","image":"busybox"}`)
	m.raft.set(func(r *fakeRaft) { r.ready = false })

	rec := do(t, m.server, http.MethodGet, "/api/v1/tasks?stale=true", "")
	wantStatus(t, rec, http.StatusOK)
	if got := len(decodeBody[[]types.Task](t, rec)); got != 1 {
		t.Errorf("expected the one local task, got %d", got)
	}
}

func TestRead_LeadershipNotConfirmedIs503(t *testing.T) {
	m := newLeader(t, masterOptions{})
	m.raft.set(func(r *fakeRaft) {
		r.verifyErr = fmt.Errorf("verify leadership: %w: %w", cluster.ErrNotLeader, raft.ErrNotLeader)
	})

	rec := do(t, m.server, http.MethodGet, "/api/v1/tasks", "")
	wantError(t, rec, http.StatusServiceUnavailable, "no_leader")
}

func wantRetryAfter(t *testing.T, header http.Header) {
	t.Helper()
	value := header.Get("Retry-After")
	seconds, err := strconv.Atoi(value)
	if err != nil || seconds < 1 {
		t.Errorf("expected Retry-After to be a whole number of seconds of at least 1, got %q", value)
	}
}
