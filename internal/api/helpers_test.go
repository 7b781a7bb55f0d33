package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/api"
	"github.com/podling/podling/internal/auth"
	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/forward"
	"github.com/podling/podling/internal/types"
)

// baseTime is the fake clock's start. It lies far from the wall clock, so a
// time the server took from time.Now instead of Config.Now is easy to spot.
var baseTime = time.Date(2025, 1, 19, 12, 34, 56, 0, time.UTC)

// Master IDs used by the fakes.
const (
	leaderID   = "master-1"
	followerID = "master-2"
)

// fakeRaft implements api.Raft and forward.Cluster. Propose applies commands
// to a real FSM the way cluster.Node.Propose does, so handlers get the
// FSM's real results and errors.
type fakeRaft struct {
	mu         sync.Mutex
	id         string
	leader     string
	isLeader   bool
	ready      bool
	proposeErr error // returned by every Propose while set
	// rejections are returned by the next proposals, one each, as if the
	// state machine had rejected them.
	rejections []error
	// readyPolled, when set, is closed on the next LeaderReady call.
	readyPolled chan struct{}
	verifyErr   error
	term        uint64
	lastContact time.Time
	state       *fsm.FSM
	index       uint64
	proposals   int
}

func newFakeRaft(id string, state *fsm.FSM) *fakeRaft {
	return &fakeRaft{id: id, state: state, term: 3}
}

func (r *fakeRaft) ID() string { return r.id }

func (r *fakeRaft) IsLeader() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.isLeader
}

func (r *fakeRaft) LeaderReady() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.readyPolled != nil {
		close(r.readyPolled)
		r.readyPolled = nil
	}
	return r.isLeader && r.ready
}

func (r *fakeRaft) Leader() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leader
}

func (r *fakeRaft) VerifyLeader() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.isLeader {
		return fmt.Errorf("verify leadership: %w", cluster.ErrNotLeader)
	}
	return r.verifyErr
}

func (r *fakeRaft) Status() cluster.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	state := "Follower"
	if r.isLeader {
		state = "Leader"
	}
	return cluster.Status{
		ID: r.id, State: state, LeaderID: r.leader, Term: r.term,
		CommitIndex: r.index, AppliedIndex: r.state.AppliedIndex(), LastContact: r.lastContact,
	}
}

// Propose mirrors cluster.Node.Propose: the size check, the leader check,
// a replication failure wrapped with the command type, and an FSM rejection
// returned with the index the command was committed at.
func (r *fakeRaft) Propose(_ context.Context, cmd fsm.Command) (cluster.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.proposals++

	data, err := fsm.Encode(cmd)
	if err != nil {
		return cluster.Result{}, err
	}
	if len(data) > cluster.MaxCommandSize {
		return cluster.Result{}, fmt.Errorf("%s of %d bytes, limit %d: %w", cmd.Type(), len(data), cluster.MaxCommandSize, cluster.ErrTooLarge)
	}
	if !r.isLeader {
		return cluster.Result{}, cluster.ErrNotLeader
	}
	if r.proposeErr != nil {
		return cluster.Result{}, fmt.Errorf("propose %s: %w", cmd.Type(), r.proposeErr)
	}
	if len(r.rejections) > 0 {
		err := r.rejections[0]
		r.rejections = r.rejections[1:]
		r.index++
		return cluster.Result{Index: r.index}, fmt.Errorf("apply %s: %w", cmd.Type(), err)
	}
	return r.applyLocked(data, cmd.Type())
}

func (r *fakeRaft) applyLocked(data []byte, cmdType fsm.CommandType) (cluster.Result, error) {
	r.index++
	value := r.state.Apply(&raft.Log{Index: r.index, Data: data})
	if fsmErr, ok := value.(error); ok {
		return cluster.Result{Index: r.index}, fmt.Errorf("apply %s: %w", cmdType, fsmErr)
	}
	return cluster.Result{Value: value, Index: r.index}, nil
}

// commit applies cmd as test setup, bypassing the leader check and any
// configured failure, and fails the test if the FSM rejects it.
func (r *fakeRaft) commit(t *testing.T, cmd fsm.Command) cluster.Result {
	t.Helper()
	data, err := fsm.Encode(cmd)
	if err != nil {
		t.Fatalf("Encode(%s): expected no error, got %v", cmd.Type(), err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	res, err := r.applyLocked(data, cmd.Type())
	if err != nil {
		t.Fatalf("setup command %s: expected no error, got %v", cmd.Type(), err)
	}
	return res
}

func (r *fakeRaft) proposalCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proposals
}

func (r *fakeRaft) set(change func(r *fakeRaft)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	change(r)
}

// heartbeatLog implements api.HeartbeatRecorder.
type heartbeatLog struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (h *heartbeatLog) Observe(nodeID string, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = make(map[string]time.Time)
	}
	h.seen[nodeID] = at
}

func (h *heartbeatLog) lastSeen(nodeID string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	at, ok := h.seen[nodeID]
	return at, ok
}

// fakeClock is the leader's clock in tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// addressBook implements forward.Addresses.
type addressBook map[string]string

func (a addressBook) MasterAddress(serverID string) (string, bool) {
	addr, ok := a[serverID]
	return addr, ok
}

// fakeWorkers implements api.Workers. It records every call and returns
// the configured results.
type fakeWorkers struct {
	mu        sync.Mutex
	deleteErr error // returned by DeletePod while set
	deletes   []workerCall
	logsErr   error // returned by Logs while set
	// logsResponse builds the answer to a Logs call; nil means 200 with
	// a text body.
	logsResponse func(call workerCall) *http.Response
	logs         []workerCall
}

// workerCall is one call a master made to a worker.
type workerCall struct {
	NodeID string
	PodID  string     // DeletePod only
	Path   string     // Logs only
	Query  url.Values // Logs only
}

func (w *fakeWorkers) DeletePod(_ context.Context, node types.Node, podID string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deletes = append(w.deletes, workerCall{NodeID: node.NodeID, PodID: podID})
	return w.deleteErr
}

func (w *fakeWorkers) Logs(_ context.Context, node types.Node, path string, query url.Values) (*http.Response, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	call := workerCall{NodeID: node.NodeID, Path: path, Query: query}
	w.logs = append(w.logs, call)
	if w.logsErr != nil {
		return nil, w.logsErr
	}
	if w.logsResponse != nil {
		return w.logsResponse(call), nil
	}
	return textResponse(http.StatusOK, "text/plain; charset=utf-8", "log line\n"), nil
}

func (w *fakeWorkers) set(change func(w *fakeWorkers)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	change(w)
}

func (w *fakeWorkers) deleteCalls() []workerCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.deletes)
}

func (w *fakeWorkers) logCalls() []workerCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.logs)
}

// textResponse returns a worker response with the given status, content
// type and body.
func textResponse(status int, contentType, body string) *http.Response {
	return &http.Response{
		StatusCode: status,
		Header:     http.Header{"Content-Type": []string{contentType}},
		Body:       io.NopCloser(strings.NewReader(body)),
	}
}

// master is one API server under test with its fakes.
type master struct {
	raft    *fakeRaft
	fsm     *fsm.FSM
	beats   *heartbeatLog
	clock   *fakeClock
	workers *fakeWorkers
	server  *api.Server
}

// masterOptions configures newLeader and newFollower. Zero values take the
// defaults below.
type masterOptions struct {
	maxBodyBytes int64
	readyWait    time.Duration
	readTimeout  time.Duration
	electionWait time.Duration
	authEnabled  bool
	// verifier turns authentication on.
	verifier *auth.Verifier
	// state replaces the FSM as the server's State when set.
	state func(*fsm.FSM) api.State
	// restorer, when set, serves the snapshot restore endpoint.
	restorer func(*fsm.FSM) api.Restorer
}

// newLeader returns a ready leader. Its forwarder is never used while the
// fake reports leadership.
func newLeader(t *testing.T, opts masterOptions) *master {
	t.Helper()
	m := newMaster(t, leaderID, addressBook{}, opts)
	m.raft.set(func(r *fakeRaft) {
		r.isLeader, r.ready, r.leader = true, true, leaderID
	})
	return m
}

// newFollower returns a follower whose Raft reports leaderID as the leader,
// with the leader's API at leaderURL.
func newFollower(t *testing.T, leaderURL string, opts masterOptions) *master {
	t.Helper()
	m := newMaster(t, followerID, addressBook{leaderID: leaderURL}, opts)
	m.raft.set(func(r *fakeRaft) { r.leader = leaderID })
	return m
}

func newMaster(t *testing.T, id string, addresses addressBook, opts masterOptions) *master {
	t.Helper()
	if opts.electionWait == 0 {
		opts.electionWait = 2 * time.Second
	}
	state := fsm.New(nil)
	m := &master{
		raft:    newFakeRaft(id, state),
		fsm:     state,
		beats:   &heartbeatLog{},
		clock:   &fakeClock{now: baseTime},
		workers: &fakeWorkers{},
	}
	var apiState api.State = state
	if opts.state != nil {
		apiState = opts.state(state)
	}
	var restorer api.Restorer
	if opts.restorer != nil {
		restorer = opts.restorer(state)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	fwd := forward.New(m.raft, addresses, client, opts.electionWait, hclog.NewNullLogger())
	m.server = api.New(api.Config{
		Raft: m.raft, State: apiState, Forwarder: fwd, Heartbeats: m.beats, Workers: m.workers, Logger: hclog.NewNullLogger(),
		MaxBodyBytes: opts.maxBodyBytes, ReadTimeout: opts.readTimeout, ReadyWait: opts.readyWait,
		AuthEnabled: opts.authEnabled, Verifier: opts.verifier, Now: m.clock.Now, Backup: state, Restorer: restorer,
	})
	return m
}

// do sends one request to h in process and returns the recorded response.
func do(t *testing.T, h http.Handler, method, target, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if len(header)%2 != 0 {
		t.Fatalf("do: header list must hold name/value pairs, got %d items", len(header))
	}
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// doAsync sends one request to h from another goroutine and delivers the
// recorded response on the returned channel.
func doAsync(h http.Handler, method, target, body string, header ...string) <-chan *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		done <- rec
	}()
	return done
}

// decodeBody decodes a JSON response body into T, failing on unknown fields so a
// renamed wire field is noticed.
func decodeBody[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(rec.Body.String()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T from body %q: %v", v, rec.Body.String(), err)
	}
	return v
}

// wantStatus fails the test unless the response has the given status.
func wantStatus(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("expected status %d, got %d with body %s", status, rec.Code, rec.Body.String())
	}
}

// wantError checks that a response is a JSON error with the given status and
// code whose message contains every one of contains.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string, contains ...string) {
	t.Helper()
	wantStatus(t, rec, status)
	wantErrorBody(t, rec.Header(), rec.Body.String(), code, contains...)
	if status == http.StatusServiceUnavailable {
		if got := rec.Header().Get("Retry-After"); got == "" {
			t.Errorf("expected a Retry-After header on 503, got none")
		}
	}
}

func wantErrorBody(t *testing.T, header http.Header, body, code string, contains ...string) {
	t.Helper()
	if got := header.Get("Content-Type"); got != "application/json" {
		t.Errorf("expected Content-Type application/json, got %q", got)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(body), &fields); err != nil {
		t.Fatalf("expected a JSON error body, got %q: %v", body, err)
	}
	if len(fields) != 2 {
		t.Errorf("expected exactly the keys error and code, got %v", fields)
	}
	msg, ok := fields["error"].(string)
	if !ok || msg == "" {
		t.Errorf("expected a non-empty string in error, got %v", fields["error"])
	}
	if got := fields["code"]; got != code {
		t.Errorf("expected code %q, got %v", code, got)
	}
	for _, part := range contains {
		if !strings.Contains(msg, part) {
			t.Errorf("expected the error message to contain %q, got %q", part, msg)
		}
	}
}

// snapshot is the part of the replicated state a request may change.
type snapshot struct {
	Tasks    []types.Task
	Nodes    []types.Node
	Pods     []types.Pod
	Services []types.Service
}

func takeSnapshot(f *fsm.FSM) snapshot {
	return snapshot{
		Tasks: f.Tasks(fsm.TaskFilter{}), Nodes: f.Nodes(),
		Pods: f.Pods(fsm.PodFilter{}), Services: f.Services(fsm.ServiceFilter{}),
	}
}

// wantUnchanged fails the test if the tasks, nodes, pods or services differ
// from before.
func wantUnchanged(t *testing.T, f *fsm.FSM, before snapshot) {
	t.Helper()
	if after := takeSnapshot(f); !reflect.DeepEqual(before, after) {
		t.Errorf("expected the state to be unchanged\nbefore: %+v\nafter:  %+v", before, after)
	}
}

// createTask creates a task through the API and returns it.
func createTask(t *testing.T, m *master, body string) types.Task {
	t.Helper()
	rec := do(t, m.server, http.MethodPost, "/api/v1/tasks", body)
	wantStatus(t, rec, http.StatusCreated)
	return decodeBody[types.Task](t, rec)
}

// registerNode registers a node through the API and returns it.
func registerNode(t *testing.T, m *master, body string) types.Node {
	t.Helper()
	rec := do(t, m.server, http.MethodPost, "/api/v1/nodes/register", body)
	wantStatus(t, rec, http.StatusOK)
	return decodeBody[types.RegisterNodeResponse](t, rec).Node
}

// scheduleTask places a task on a node, as the scheduler would.
func scheduleTask(t *testing.T, m *master, taskID, nodeID string) {
	t.Helper()
	m.raft.commit(t, fsm.UpdateTaskStatus{
		TaskID: taskID,
		Update: types.TaskStatusUpdate{Status: types.TaskScheduled, NodeID: nodeID},
		Time:   m.clock.Now(),
	})
}

// readAll reads and closes a response body.
func readAll(t *testing.T, r io.ReadCloser) string {
	t.Helper()
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(data)
}

// receive waits up to five seconds for a value on ch.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out after 5s waiting for %s", what)
	}
	var zero T
	return zero
}
