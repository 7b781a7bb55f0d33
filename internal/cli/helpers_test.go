package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/client"
	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/master"
	"github.com/podling/podling/internal/testutil"
	"github.com/podling/podling/internal/types"
)

// syncBuffer is a buffer that a command may write while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// result is the outcome of one run of the command line.
type result struct {
	code   int
	stdout string
	stderr string
}

// noEnv keeps the test process's environment out of the command line.
func noEnv(string) (string, bool) { return "", false }

// runCLI runs the command line in this process with args.
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	return runWith(t, context.Background(), Streams{In: strings.NewReader("")}, args...)
}

// runWith runs the command line with ctx and streams; Out and Err are
// replaced by buffers.
func runWith(t *testing.T, ctx context.Context, streams Streams, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	streams.Out, streams.Err = &stdout, &stderr
	code := Run(ctx, args, streams, noEnv)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func (r result) wantCode(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// testTiming makes elections fast enough for tests on loopback.
var testTiming = cluster.Timing{
	Heartbeat: 300 * time.Millisecond, Election: 300 * time.Millisecond,
	LeaderLease: 150 * time.Millisecond, Apply: 2 * time.Second,
}

// testCluster is a set of masters in this process on loopback ports.
type testCluster struct {
	t       *testing.T
	masters []*master.Master
}

// startCluster starts n founding masters, each with its own data
// directory, and waits for a leader.
func startCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	tc := &testCluster{t: t}
	var peers []cluster.Peer
	for i := range n {
		peers = append(peers, cluster.Peer{ID: fmt.Sprintf("m%d", i+1), Address: testutil.FreeAddr(t)})
	}
	base := t.TempDir()
	for _, p := range peers {
		m, err := master.Start(master.Config{
			ID: p.ID, HTTPAddr: testutil.FreeAddr(t), RaftAddr: p.Address, DataDir: filepath.Join(base, p.ID),
			Peers: peers, HeartbeatTTL: 5 * time.Minute, HeartbeatBatch: 100 * time.Millisecond, Timing: testTiming,
			Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: io.Discard}),
		})
		if err != nil {
			t.Fatalf("start master %s: %v", p.ID, err)
		}
		tc.masters = append(tc.masters, m)
		t.Cleanup(func() { tc.stop(m) })
	}
	tc.waitLeader()
	return tc
}

func (tc *testCluster) stop(m *master.Master) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		tc.t.Logf("stop master: %v", err)
	}
}

func (tc *testCluster) waitLeader() {
	tc.t.Helper()
	waitFor(tc.t, 15*time.Second, "a ready leader", func() bool {
		for _, m := range tc.masters {
			if m.Cluster().LeaderReady() {
				return true
			}
		}
		return false
	})
}

// urls returns the masters' API URLs as --masters takes them.
func (tc *testCluster) urls() string {
	var urls []string
	for _, m := range tc.masters {
		urls = append(urls, m.URL())
	}
	return strings.Join(urls, ",")
}

// client returns an API client for the cluster.
func (tc *testCluster) client() *client.Client {
	tc.t.Helper()
	c, err := client.New(client.Options{Masters: strings.Split(tc.urls(), ",")})
	if err != nil {
		tc.t.Fatal(err)
	}
	return c
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stubWorker is a worker API that runs nothing: it accepts tasks and
// pods, reports tasks running and then completed to the masters, and
// serves two lines of logs.
type stubWorker struct {
	t       *testing.T
	server  *httptest.Server
	api     *client.Client
	nodeID  string
	mu      sync.Mutex
	tasks   map[string]bool
	pods    map[string]bool
	reports sync.WaitGroup
}

// stubExitCode is the task variable that sets the exit code the stub
// reports; without it a task completes.
const stubExitCode = "STUB_EXIT_CODE"

// startStubWorker starts a stub worker and registers it as nodeID.
func startStubWorker(t *testing.T, tc *testCluster, nodeID string) *stubWorker {
	t.Helper()
	w := &stubWorker{t: t, api: tc.client(), nodeID: nodeID, tasks: map[string]bool{}, pods: map[string]bool{}}
	w.server = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(func() {
		w.server.Close()
		w.reports.Wait()
	})
	host, port, _ := net.SplitHostPort(w.server.Listener.Addr().String())
	portNumber, _ := strconv.Atoi(port)
	_, _, err := w.api.RegisterNode(context.Background(), types.RegisterNodeRequest{
		NodeID: nodeID, Hostname: host, Port: portNumber, Capacity: 8, CPUMillis: 2000, MemoryBytes: 1 << 30,
	})
	if err != nil {
		t.Fatalf("register stub worker: %v", err)
	}
	return w
}

func (w *stubWorker) serve(rw http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // api v1 KIND ID [ACTION]
	if len(parts) < 4 {
		http.NotFound(rw, r)
		return
	}
	kind, id, action := parts[2], parts[3], ""
	if len(parts) > 4 {
		action = parts[4]
	}
	switch {
	case r.Method == http.MethodPost && action == "execute":
		w.execute(rw, r, kind, id)
	case r.Method == http.MethodGet && action == "logs":
		fmt.Fprintf(rw, "%s %s: line 1\n%s %s: line 2\n", kind, id, kind, id)
	case r.Method == http.MethodGet && action == "status":
		if !w.has(kind, id) {
			http.Error(rw, `{"error":"unknown","code":"not_found"}`, http.StatusNotFound)
			return
		}
		rw.Write([]byte(`{}`))
	case r.Method == http.MethodDelete:
		rw.Write([]byte(`{"podId":"` + id + `","removed":1}`))
	default:
		http.NotFound(rw, r)
	}
}

func (w *stubWorker) has(kind, id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if kind == "tasks" {
		return w.tasks[id]
	}
	return w.pods[id]
}

func (w *stubWorker) execute(rw http.ResponseWriter, r *http.Request, kind, id string) {
	if kind == "pods" {
		w.mu.Lock()
		w.pods[id] = true
		w.mu.Unlock()
		rw.WriteHeader(http.StatusAccepted)
		return
	}
	var req types.ExecuteRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	known := w.tasks[id]
	w.tasks[id] = true
	w.mu.Unlock()
	rw.WriteHeader(http.StatusAccepted)
	json.NewEncoder(rw).Encode(types.ExecuteResponse{TaskID: id, ContainerID: "c-" + id, Started: !known})
	if !known {
		w.reports.Add(1)
		go w.report(req.Task)
	}
}

// report sends running, then completed, or failed with the exit code
// set in the task's environment.
func (w *stubWorker) report(task types.Task) {
	defer w.reports.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	running := types.TaskStatusUpdate{Status: types.TaskRunning, ContainerID: "c-" + task.TaskID, NodeID: w.nodeID}
	if _, _, err := w.api.UpdateTaskStatus(ctx, task.TaskID, running); err != nil {
		w.t.Errorf("report task %s running: %v", task.TaskID, err)
		return
	}
	code, _ := strconv.Atoi(task.Env[stubExitCode])
	final := types.TaskStatusUpdate{Status: types.TaskCompleted, ExitCode: &code, NodeID: w.nodeID}
	if code != 0 {
		final.Status, final.Reason, final.Message = types.TaskFailed, types.ReasonNonZeroExit, fmt.Sprintf("exited with code %d", code)
	}
	if _, _, err := w.api.UpdateTaskStatus(ctx, task.TaskID, final); err != nil {
		w.t.Errorf("report task %s %s: %v", task.TaskID, final.Status, err)
	}
}
