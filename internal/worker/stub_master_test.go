package worker

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/podling/podling/internal/types"
)

// stubMaster is a master that records what workers send it. Its status
// functions choose the HTTP status of each response, and nil means success.
type stubMaster struct {
	server *httptest.Server

	mu sync.Mutex
	// heartbeatStatus gets the 1-based number of the heartbeat.
	heartbeatStatus func(n int) int
	// reportStatus gets the 1-based number of the report attempt for the
	// task and the report.
	reportStatus   func(n int, u types.TaskStatusUpdate) int
	registrations  []types.RegisterNodeRequest
	heartbeats     int
	reportAttempts map[string]int
	reports        map[string][]types.TaskStatusUpdate // acknowledged ones, by task ID
	authHeaders    []string
	// podReportStatus gets the 1-based number of the report attempt for
	// the pod and the report.
	podReportStatus func(n int, r types.PodStatusReport) int
	podAttempts     map[string]int
	podReports      map[string][]types.PodStatusReport // acknowledged ones, by pod ID
	// registerStatus chooses the status of a registration response.
	registerStatus func(req types.RegisterNodeRequest) int
	// orphans chooses the orphans returned to a registration.
	orphans func(req types.RegisterNodeRequest) types.Orphans
	// events lists registrations, heartbeats, leaves and drains in
	// arrival order, as "register", "heartbeat <status>", "leave",
	// "drain" and, when their response is sent, "leave done" and "drain done".
	events []string
	// nodeCalls counts the requests per node action: leave and drain.
	nodeCalls map[string]int
	// onDrain runs while a drain request is being served.
	onDrain func()
}

func newStubMaster(t *testing.T) *stubMaster {
	m := &stubMaster{
		reportAttempts: make(map[string]int), reports: make(map[string][]types.TaskStatusUpdate),
		podAttempts: make(map[string]int), podReports: make(map[string][]types.PodStatusReport),
		nodeCalls: make(map[string]int),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/nodes/register", m.handleRegister)
	mux.HandleFunc("POST /api/v1/nodes/{id}/heartbeat", m.handleHeartbeat)
	mux.HandleFunc("PUT /api/v1/tasks/{id}/status", m.handleReport)
	mux.HandleFunc("PUT /api/v1/pods/{id}/status", m.handlePodReport)
	mux.HandleFunc("POST /api/v1/nodes/{id}/{action}", m.handleNodeAction)
	m.server = httptest.NewServer(mux)
	t.Cleanup(m.server.Close)
	return m
}

func (m *stubMaster) URL() string { return m.server.URL }

func (m *stubMaster) handleRegister(w http.ResponseWriter, r *http.Request) {
	var req types.RegisterNodeRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m.mu.Lock()
	m.registrations = append(m.registrations, req)
	m.authHeaders = append(m.authHeaders, r.Header.Get("Authorization"))
	m.events = append(m.events, "register")
	status, orphans := http.StatusOK, types.Orphans{Tasks: []string{}, Pods: []string{}}
	if m.registerStatus != nil {
		status = m.registerStatus(req)
	}
	if m.orphans != nil {
		orphans = m.orphans(req)
	}
	m.mu.Unlock()

	if status != http.StatusOK {
		w.WriteHeader(status)
		return
	}
	node := types.Node{NodeID: req.NodeID, Hostname: req.Hostname, Port: req.Port, Status: types.NodeOnline}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(types.RegisterNodeResponse{Node: node, Orphans: orphans})
}

// handleNodeAction serves leave and drain: it counts them and responds 200.
func (m *stubMaster) handleNodeAction(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	if action != "leave" && action != "drain" {
		http.NotFound(w, r)
		return
	}
	m.mu.Lock()
	m.nodeCalls[action+" "+r.PathValue("id")]++
	m.events = append(m.events, action)
	onDrain := m.onDrain
	m.mu.Unlock()
	if action == "drain" && onDrain != nil {
		onDrain()
	}
	m.mu.Lock()
	m.events = append(m.events, action+" done")
	m.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if action == "drain" {
		_, _ = w.Write([]byte(`{"node":{},"movedPods":[],"keptPods":[]}`))
		return
	}
	_, _ = w.Write([]byte(`{}`))
}

func (m *stubMaster) setOnDrain(fn func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onDrain = fn
}

func (m *stubMaster) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	m.heartbeats++
	status := http.StatusOK
	if m.heartbeatStatus != nil {
		status = m.heartbeatStatus(m.heartbeats)
	}
	m.events = append(m.events, fmt.Sprintf("heartbeat %d", status))
	m.mu.Unlock()
	w.WriteHeader(status)
}

func (m *stubMaster) handleReport(w http.ResponseWriter, r *http.Request) {
	var u types.TaskStatusUpdate
	if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := r.PathValue("id")
	m.mu.Lock()
	m.reportAttempts[id]++
	status := http.StatusOK
	if m.reportStatus != nil {
		status = m.reportStatus(m.reportAttempts[id], u)
	}
	if status >= 200 && status < 300 {
		m.reports[id] = append(m.reports[id], u)
	}
	m.mu.Unlock()

	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(status)
}

func (m *stubMaster) handlePodReport(w http.ResponseWriter, r *http.Request) {
	var report types.PodStatusReport
	if err := json.NewDecoder(r.Body).Decode(&report); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := r.PathValue("id")
	m.mu.Lock()
	m.podAttempts[id]++
	status := http.StatusOK
	if m.podReportStatus != nil {
		status = m.podReportStatus(m.podAttempts[id], report)
	}
	if status >= 200 && status < 300 {
		m.podReports[id] = append(m.podReports[id], report)
	}
	m.mu.Unlock()

	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(status)
}

func (m *stubMaster) setPodReportStatus(fn func(n int, r types.PodStatusReport) int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.podReportStatus = fn
}

// podReportsOf returns the acknowledged reports for a pod, in arrival order.
func (m *stubMaster) podReportsOf(podID string) []types.PodStatusReport {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]types.PodStatusReport(nil), m.podReports[podID]...)
}

func (m *stubMaster) podAttemptsOf(podID string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.podAttempts[podID]
}

func (m *stubMaster) setHeartbeatStatus(fn func(n int) int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.heartbeatStatus = fn
}

func (m *stubMaster) setReportStatus(fn func(n int, u types.TaskStatusUpdate) int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reportStatus = fn
}

// registration returns the registration with the 0-based number n.
func (m *stubMaster) registration(n int) types.RegisterNodeRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.registrations[n]
}

func (m *stubMaster) eventLog() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.events...)
}

// nodeCallCount returns how many leave or drain requests the node sent.
func (m *stubMaster) nodeCallCount(action, nodeID string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nodeCalls[action+" "+nodeID]
}

func (m *stubMaster) registrationCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.registrations)
}

func (m *stubMaster) heartbeatCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.heartbeats
}

func (m *stubMaster) attempts(taskID string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reportAttempts[taskID]
}

// acknowledged returns the statuses of the acknowledged reports for a task,
// in arrival order.
func (m *stubMaster) acknowledged(taskID string) []types.TaskStatusUpdate {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]types.TaskStatusUpdate(nil), m.reports[taskID]...)
}

func statuses(updates []types.TaskStatusUpdate) []types.TaskStatus {
	list := make([]types.TaskStatus, len(updates))
	for i, u := range updates {
		list[i] = u.Status
	}
	return list
}

// waitFor polls cond every 5 ms until it holds, and fails the test if it
// does not within 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitForWithin(t, what, 5*time.Second, cond)
}

// waitForWithin is waitFor with the deadline d.
func waitForWithin(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
