package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/runtime/fake"
	"github.com/podling/podling/internal/types"
)

const (
	testNodeID = "node-1"
	testImage  = "podling/echo:dev"
)

// testWorker is a worker serving on a loopback port.
type testWorker struct {
	url    string
	client *http.Client
	stop   func()
}

// startWorker serves a worker on a random loopback port until stop is
// called or the test ends, and fails the test if Serve returns an error.
func startWorker(t *testing.T, rt runtime.Runtime, masters ...string) *testWorker {
	t.Helper()
	return startWorkerWith(t, testConfig(t, rt, masters...))
}

// testConfig returns the configuration of a test worker: short intervals
// and debug logs to the test's output.
func testConfig(t *testing.T, rt runtime.Runtime, masters ...string) Config {
	return Config{
		NodeID:            testNodeID,
		Hostname:          "localhost",
		Masters:           masters,
		Token:             "test-token",
		HeartbeatInterval: 20 * time.Millisecond,
		RequestTimeout:    2 * time.Second,
		MinBackoff:        5 * time.Millisecond,
		MaxBackoff:        50 * time.Millisecond,
		MinRestartBackoff: 5 * time.Millisecond,
		MaxRestartBackoff: 20 * time.Millisecond,
		StopGrace:         time.Second,
		Logger:            hclog.New(&hclog.LoggerOptions{Name: "worker", Level: hclog.Debug, Output: t.Output()}),
		Runtime:           rt,
	}
}

// startWorkerWith is startWorker with the configuration cfg.
func startWorkerWith(t *testing.T, cfg Config) *testWorker {
	t.Helper()
	w, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Serve(ctx, ln) }()
	// Each worker gets its own client, so that its idle connections can be
	// closed before shutdown instead of holding the server open.
	client := &http.Client{Transport: &http.Transport{}}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			client.CloseIdleConnections()
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &testWorker{url: "http://" + ln.Addr().String(), client: client, stop: stop}
}

// do sends a request to the worker and returns the status and body.
func (tw *testWorker) do(t *testing.T, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, tw.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	resp, err := tw.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response of %s %s: %v", method, path, err)
	}
	return resp.StatusCode, data
}

// execute dispatches a task and decodes the response.
func (tw *testWorker) execute(t *testing.T, taskID, image string) (int, types.ExecuteResponse) {
	t.Helper()
	body, _ := json.Marshal(types.ExecuteRequest{Task: types.Task{TaskID: taskID, Name: "test", Image: image}})
	status, data := tw.do(t, http.MethodPost, "/api/v1/tasks/"+taskID+"/execute", body)
	var resp types.ExecuteResponse
	if status == http.StatusOK || status == http.StatusAccepted {
		if err := json.Unmarshal(data, &resp); err != nil {
			t.Fatalf("decode execute response %q: %v", data, err)
		}
	}
	return status, resp
}

func (tw *testWorker) status(t *testing.T, taskID string) types.WorkerTaskStatus {
	t.Helper()
	code, data := tw.do(t, http.MethodGet, "/api/v1/tasks/"+taskID+"/status", nil)
	if code != http.StatusOK {
		t.Fatalf("status of %s: HTTP %d: %s", taskID, code, data)
	}
	var st types.WorkerTaskStatus
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("decode status %q: %v", data, err)
	}
	return st
}

// waitForStatuses waits until the master has acknowledged exactly want for
// the task, in order.
func waitForStatuses(t *testing.T, m *stubMaster, taskID string, want ...types.TaskStatus) []types.TaskStatusUpdate {
	t.Helper()
	waitFor(t, fmt.Sprintf("reports %v for %s", want, taskID), func() bool {
		return len(m.acknowledged(taskID)) >= len(want)
	})
	got := m.acknowledged(taskID)
	if !slices.Equal(statuses(got), want) {
		t.Fatalf("reports for %s = %v, want %v", taskID, statuses(got), want)
	}
	return got
}

func TestExecute_TwiceStartsOneContainer(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	const taskID = "20250119123456-abc12345"

	status, first := tw.execute(t, taskID, testImage)
	if status != http.StatusAccepted || !first.Started || first.ContainerID == "" {
		t.Fatalf("first execute = %d %+v, want 202, started, with a container", status, first)
	}
	status, second := tw.execute(t, taskID, testImage)
	if status != http.StatusOK || second.Started || second.ContainerID != first.ContainerID {
		t.Errorf("second execute = %d %+v, want 200, not started, container %s", status, second, first.ContainerID)
	}
	if n := rt.Created(); n != 1 {
		t.Errorf("containers created = %d, want 1", n)
	}
}

func TestExecute_ConcurrentStartsOneContainer(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	const taskID = "20250119123456-abc12345"

	var wg sync.WaitGroup
	accepted := make(chan bool, 8)
	for range 8 {
		wg.Go(func() {
			status, _ := tw.execute(t, taskID, testImage)
			accepted <- status == http.StatusAccepted
		})
	}
	wg.Wait()
	close(accepted)

	count := 0
	for a := range accepted {
		if a {
			count++
		}
	}
	if count != 1 {
		t.Errorf("responses with 202 = %d, want 1", count)
	}
	if n := rt.Created(); n != 1 {
		t.Errorf("containers created = %d, want 1", n)
	}
}

func TestExecute_ReportsRunningThenCompleted(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	const taskID = "20250119123456-abc12345"

	_, resp := tw.execute(t, taskID, testImage)
	waitForStatuses(t, master, taskID, types.TaskRunning)
	if err := rt.ExitTask(taskID, 0); err != nil {
		t.Fatal(err)
	}
	reports := waitForStatuses(t, master, taskID, types.TaskRunning, types.TaskCompleted)

	for _, r := range reports {
		if r.ContainerID != resp.ContainerID || r.NodeID != testNodeID {
			t.Errorf("report %+v: want container %s and node %s", r, resp.ContainerID, testNodeID)
		}
	}
	if code := reports[1].ExitCode; code == nil || *code != 0 {
		t.Errorf("completed report exit code = %v, want 0", code)
	}
	if st := tw.status(t, taskID); st.Status != types.TaskCompleted {
		t.Errorf("worker status = %s, want completed", st.Status)
	}
}

func TestExecute_ReportsNonZeroExit(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	const taskID = "20250119123456-abc12345"

	tw.execute(t, taskID, testImage)
	waitForStatuses(t, master, taskID, types.TaskRunning)
	if err := rt.ExitTask(taskID, 3); err != nil {
		t.Fatal(err)
	}
	reports := waitForStatuses(t, master, taskID, types.TaskRunning, types.TaskFailed)

	failed := reports[1]
	if failed.ExitCode == nil || *failed.ExitCode != 3 {
		t.Errorf("failed report exit code = %v, want 3", failed.ExitCode)
	}
	if failed.Reason != types.ReasonNonZeroExit {
		t.Errorf("failed report reason = %q, want %q", failed.Reason, types.ReasonNonZeroExit)
	}
	if !strings.Contains(failed.Message, "3") {
		t.Errorf("failed report message %q does not give the exit code", failed.Message)
	}
	st := tw.status(t, taskID)
	if st.Status != types.TaskFailed || st.ExitCode == nil || *st.ExitCode != 3 {
		t.Errorf("worker status = %+v, want failed with exit code 3", st)
	}
}

func TestExecute_ReportsImagePullFailure(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	const image = "podling/does-not-exist:never"
	rt.FailPull(image, errors.New("registry unreachable"))
	tw := startWorker(t, rt, master.URL())
	const taskID = "20250119123456-abc12345"

	status, _ := tw.execute(t, taskID, image)
	if status != http.StatusAccepted {
		t.Errorf("execute = %d, want 202", status)
	}
	reports := waitForStatuses(t, master, taskID, types.TaskFailed)

	if reports[0].Reason != types.ReasonImagePullFailed {
		t.Errorf("reason = %q, want %q", reports[0].Reason, types.ReasonImagePullFailed)
	}
	if !strings.Contains(reports[0].Message, image) || !strings.Contains(reports[0].Message, "registry unreachable") {
		t.Errorf("message %q does not name the image and the pull error", reports[0].Message)
	}
	if st := tw.status(t, taskID); st.Status != types.TaskFailed {
		t.Errorf("worker status = %s, want failed", st.Status)
	}
	if n := rt.Created(); n != 0 {
		t.Errorf("containers created = %d, want 0", n)
	}
}

func TestRegister_SendsNodeAndResources(t *testing.T) {
	master := newStubMaster(t)
	startWorker(t, fake.New(testNodeID), master.URL())

	waitFor(t, "registration", func() bool { return master.registrationCount() > 0 })
	master.mu.Lock()
	req, auth := master.registrations[0], master.authHeaders[0]
	master.mu.Unlock()

	if req.NodeID != testNodeID || req.Hostname != "localhost" || req.Port == 0 || req.Capacity != DefaultCapacity {
		t.Errorf("registration = %+v, want node %s on localhost with a port and capacity %d", req, testNodeID, DefaultCapacity)
	}
	if req.CPUMillis != 4000 || req.MemoryBytes != 8<<30 {
		t.Errorf("registration resources = %d millis, %d bytes; want the fake's 4000 and 8 GiB", req.CPUMillis, req.MemoryBytes)
	}
	if auth != "Bearer test-token" {
		t.Errorf("Authorization header = %q, want the bearer token", auth)
	}
}

func TestHeartbeat_NotFoundRegistersAgain(t *testing.T) {
	master := newStubMaster(t)
	master.setHeartbeatStatus(func(n int) int {
		if n == 2 {
			return http.StatusNotFound
		}
		return http.StatusOK
	})
	startWorker(t, fake.New(testNodeID), master.URL())

	waitFor(t, "a second registration", func() bool { return master.registrationCount() >= 2 })
	waitFor(t, "heartbeats after registering again", func() bool { return master.heartbeatCount() >= 4 })
}

func TestRegister_RetriesUntilAccepted(t *testing.T) {
	// The first master refuses connections; the second accepts.
	master := newStubMaster(t)
	startWorker(t, fake.New(testNodeID), closedURL(t), master.URL())

	waitFor(t, "registration with the second master", func() bool { return master.registrationCount() > 0 })
	waitFor(t, "heartbeats", func() bool { return master.heartbeatCount() > 0 })
}

func TestReport_MovesToNextMasterAfter503(t *testing.T) {
	electing := newStubMaster(t)
	electing.setReportStatus(func(int, types.TaskStatusUpdate) int { return http.StatusServiceUnavailable })
	leader := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, electing.URL(), leader.URL())
	const taskID = "20250119123456-abc12345"

	// Registration succeeds with the first master, so it is tried first.
	waitFor(t, "registration", func() bool { return electing.registrationCount() > 0 })
	tw.execute(t, taskID, testImage)
	waitForStatuses(t, leader, taskID, types.TaskRunning)
	if electing.attempts(taskID) == 0 {
		t.Errorf("the first master got no report, want it tried before the second")
	}
}

func TestReport_MovesToNextMasterAfterConnectionRefused(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, closedURL(t), master.URL())
	const taskID = "20250119123456-abc12345"

	tw.execute(t, taskID, testImage)
	if err := waitThenExit(t, master, rt, taskID); err != nil {
		t.Fatal(err)
	}
	waitForStatuses(t, master, taskID, types.TaskRunning, types.TaskCompleted)
}

func TestReport_RetriedUntilAcknowledged(t *testing.T) {
	master := newStubMaster(t)
	master.setReportStatus(func(n int, _ types.TaskStatusUpdate) int {
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	const taskID = "20250119123456-abc12345"

	tw.execute(t, taskID, testImage)
	if err := waitThenExit(t, master, rt, taskID); err != nil {
		t.Fatal(err)
	}
	waitForStatuses(t, master, taskID, types.TaskRunning, types.TaskCompleted)
	if n := master.attempts(taskID); n != 5 {
		t.Errorf("report attempts = %d, want 3 rejected and 2 acknowledged", n)
	}
}

func TestReport_ConflictIsFinal(t *testing.T) {
	master := newStubMaster(t)
	master.setReportStatus(func(_ int, u types.TaskStatusUpdate) int {
		if u.Status == types.TaskRunning {
			return http.StatusConflict
		}
		return http.StatusOK
	})
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	const taskID = "20250119123456-abc12345"

	tw.execute(t, taskID, testImage)
	waitFor(t, "the running report", func() bool { return master.attempts(taskID) == 1 })
	if err := rt.ExitTask(taskID, 0); err != nil {
		t.Fatal(err)
	}
	waitForStatuses(t, master, taskID, types.TaskCompleted)
	if n := master.attempts(taskID); n != 2 {
		t.Errorf("report attempts = %d, want one running and one completed", n)
	}
}

// waitThenExit waits for the running report and then lets the container exit.
func waitThenExit(t *testing.T, m *stubMaster, rt *fake.Runtime, taskID string) error {
	t.Helper()
	waitForStatuses(t, m, taskID, types.TaskRunning)
	return rt.ExitTask(taskID, 0)
}

// closedURL returns the URL of a loopback port that nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestRestart_AdoptsContainers(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	const running = "20250119123456-running1"
	first := startWorker(t, rt, master.URL())
	_, resp := first.execute(t, running, testImage)
	waitForStatuses(t, master, running, types.TaskRunning)
	first.stop()

	// Containers that exited while no worker ran, and one of another node.
	rt.Add(runtime.Container{ID: "c-done", TaskID: "20250119123456-done0001", NodeID: testNodeID, Image: testImage, State: runtime.StateExited})
	rt.Add(runtime.Container{ID: "c-fail", TaskID: "20250119123456-fail0001", NodeID: testNodeID, Image: testImage, State: runtime.StateExited, ExitCode: 3})
	rt.Add(runtime.Container{ID: "c-other", TaskID: "20250119123456-other001", NodeID: "node-2", Image: testImage, State: runtime.StateRunning})

	second := startWorker(t, rt, master.URL())
	status, again := second.execute(t, running, testImage)
	if status != http.StatusOK || again.Started || again.ContainerID != resp.ContainerID {
		t.Errorf("execute after restart = %d %+v, want 200, not started, container %s", status, again, resp.ContainerID)
	}
	if n := rt.Created(); n != 1 {
		t.Errorf("containers created = %d, want 1", n)
	}

	waitForStatuses(t, master, "20250119123456-done0001", types.TaskRunning, types.TaskCompleted)
	failed := waitForStatuses(t, master, "20250119123456-fail0001", types.TaskRunning, types.TaskFailed)
	if code := failed[1].ExitCode; code == nil || *code != 3 {
		t.Errorf("adopted failed container exit code = %v, want 3", code)
	}
	if err := rt.ExitTask(running, 0); err != nil {
		t.Fatal(err)
	}
	waitForStatuses(t, master, running, types.TaskRunning, types.TaskRunning, types.TaskCompleted)
	if n := master.attempts("20250119123456-other001"); n != 0 {
		t.Errorf("reports for another node's container = %d, want 0", n)
	}
}
