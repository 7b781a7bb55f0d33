package api_test

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/podling/podling/internal/types"
)

// logsFixture is a leader with a task and a pod placed on node-a, and a
// pending task and pod that have no node yet.
type logsFixture struct {
	m           *master
	task        types.Task
	pod         types.Pod
	pendingTask types.Task
	pendingPod  types.Pod
}

func newLogsFixture(t *testing.T) logsFixture {
	t.Helper()
	m := newLeader(t, masterOptions{})
	addNode(t, m, "node-a")
	f := logsFixture{
		m:           m,
		task:        createTask(t, m, `{"name":"job","image":"busybox"}`),
		pod:         createPod(t, m, seedPodBody),
		pendingTask: createTask(t, m, `{"name":"waiting","image":"busybox"}`),
		pendingPod:  createPod(t, m, `{"name":"waiting","containers":[{"name":"app","image":"busybox"}]}`),
	}
	scheduleTask(t, m, f.task.TaskID, "node-a")
	placePod(t, m, f.pod.PodID, "node-a")
	return f
}

func TestLogs_RelayWorkerResponse(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
	}{
		{"log text", http.StatusOK, "text/plain; charset=utf-8", "line 1\nline 2\n"},
		{"empty log", http.StatusOK, "text/plain; charset=utf-8", ""},
		{"worker has no container", http.StatusNotFound, "application/json", `{"error":"no container for this ID","code":"not_found"}` + "\n"},
		{"worker needs a container name", http.StatusBadRequest, "application/json", `{"error":"choose one of app, sidecar","code":"invalid_argument"}` + "\n"},
	}
	for _, tt := range tests {
		for _, kind := range []string{"tasks", "pods"} {
			t.Run(tt.name+" for "+kind, func(t *testing.T) {
				f := newLogsFixture(t)
				f.m.workers.set(func(w *fakeWorkers) {
					w.logsResponse = func(workerCall) *http.Response { return textResponse(tt.status, tt.contentType, tt.body) }
				})
				id := f.task.TaskID
				if kind == "pods" {
					id = f.pod.PodID
				}

				rec := do(t, f.m.server, http.MethodGet, "/api/v1/"+kind+"/"+id+"/logs", "")

				if rec.Code != tt.status {
					t.Errorf("status: expected the worker's %d, got %d", tt.status, rec.Code)
				}
				if got := rec.Header().Get("Content-Type"); got != tt.contentType {
					t.Errorf("Content-Type: expected the worker's %q, got %q", tt.contentType, got)
				}
				if got := rec.Body.String(); got != tt.body {
					t.Errorf("body: expected the worker's %q, got %q", tt.body, got)
				}
			})
		}
	}
}

func TestLogs_PassParametersOn(t *testing.T) {
	f := newLogsFixture(t)
	taskPath := "/api/v1/tasks/" + f.task.TaskID + "/logs"
	podPath := "/api/v1/pods/" + f.pod.PodID + "/logs"
	tests := []struct {
		name   string
		target string
		path   string
		query  url.Values
	}{
		{"task defaults", taskPath, taskPath, url.Values{"tail": {"100"}, "follow": {"false"}}},
		{"task tail and follow", taskPath + "?tail=50&follow=true", taskPath, url.Values{"tail": {"50"}, "follow": {"true"}}},
		{"task tail at the limit", taskPath + "?tail=10000&follow=1", taskPath, url.Values{"tail": {"10000"}, "follow": {"true"}}},
		{"task container ignored", taskPath + "?container=app", taskPath, url.Values{"tail": {"100"}, "follow": {"false"}}},
		{"pod defaults", podPath, podPath, url.Values{"tail": {"100"}, "follow": {"false"}}},
		{"pod container", podPath + "?container=sidecar&tail=5", podPath, url.Values{"container": {"sidecar"}, "tail": {"5"}, "follow": {"false"}}},
		{"pod follow", podPath + "?container=app&follow=true&tail=1", podPath, url.Values{"container": {"app"}, "tail": {"1"}, "follow": {"true"}}},
		{"unknown parameters dropped", podPath + "?since=1h", podPath, url.Values{"tail": {"100"}, "follow": {"false"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.m.workers.logCalls())

			rec := do(t, f.m.server, http.MethodGet, tt.target, "")

			wantStatus(t, rec, http.StatusOK)
			calls := f.m.workers.logCalls()[before:]
			want := []workerCall{{NodeID: "node-a", Path: tt.path, Query: tt.query}}
			if !slices.EqualFunc(calls, want, sameCall) {
				t.Errorf("expected the worker call %+v, got %+v", want, calls)
			}
		})
	}
}

func TestLogs_InvalidParametersAre400(t *testing.T) {
	f := newLogsFixture(t)
	taskPath := "/api/v1/tasks/" + f.task.TaskID + "/logs"
	podPath := "/api/v1/pods/" + f.pod.PodID + "/logs"
	tests := []struct {
		name     string
		target   string
		contains []string
	}{
		{"task tail 0", taskPath + "?tail=0", []string{"tail", "10000"}},
		{"task tail 10001", taskPath + "?tail=10001", []string{"tail", "10001"}},
		{"task tail abc", taskPath + "?tail=abc", []string{"tail", "abc"}},
		{"task negative tail", taskPath + "?tail=-5", []string{"tail"}},
		{"task follow maybe", taskPath + "?follow=maybe", []string{"follow", "maybe"}},
		{"pod tail 0", podPath + "?tail=0", []string{"tail"}},
		{"pod tail 10001", podPath + "?tail=10001", []string{"tail"}},
		{"pod tail abc", podPath + "?tail=abc", []string{"tail"}},
		{"pod unknown container", podPath + "?container=db", []string{"container", "db"}},
		{"pod container in another case", podPath + "?container=App", []string{"container"}},
		{"task ID of wrong form", "/api/v1/tasks/not-a-task/logs", []string{"taskId"}},
		{"pod ID of wrong form", "/api/v1/pods/not-a-pod/logs", []string{"podId"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.m.workers.logCalls())

			rec := do(t, f.m.server, http.MethodGet, tt.target, "")

			wantError(t, rec, http.StatusBadRequest, "invalid_argument", tt.contains...)
			if calls := f.m.workers.logCalls()[before:]; len(calls) != 0 {
				t.Errorf("expected no worker call, got %+v", calls)
			}
		})
	}
}

func TestLogs_NotStartedIs409(t *testing.T) {
	f := newLogsFixture(t)
	tests := []struct {
		name   string
		target string
		id     string
	}{
		{"pending task", "/api/v1/tasks/" + f.pendingTask.TaskID + "/logs", f.pendingTask.TaskID},
		{"pending pod", "/api/v1/pods/" + f.pendingPod.PodID + "/logs", f.pendingPod.PodID},
		{"pending pod with a container", "/api/v1/pods/" + f.pendingPod.PodID + "/logs?container=app", f.pendingPod.PodID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, f.m.server, http.MethodGet, tt.target, "")

			wantError(t, rec, http.StatusConflict, "not_started", tt.id, "pending")
			if calls := f.m.workers.logCalls(); len(calls) != 0 {
				t.Errorf("expected no worker call, got %+v", calls)
			}
		})
	}
}

func TestLogs_UnknownIs404(t *testing.T) {
	f := newLogsFixture(t)
	for _, kind := range []string{"tasks", "pods"} {
		t.Run(kind, func(t *testing.T) {
			rec := do(t, f.m.server, http.MethodGet, "/api/v1/"+kind+"/20990101000000-zzzzzzzz/logs", "")
			wantError(t, rec, http.StatusNotFound, "not_found", "20990101000000-zzzzzzzz")
		})
	}
}

func TestLogs_WorkerErrorIs503(t *testing.T) {
	f := newLogsFixture(t)
	f.m.workers.set(func(w *fakeWorkers) { w.logsErr = errors.New("node node-a: connection refused") })
	for _, target := range []string{"/api/v1/tasks/" + f.task.TaskID + "/logs", "/api/v1/pods/" + f.pod.PodID + "/logs"} {
		t.Run(target, func(t *testing.T) {
			rec := do(t, f.m.server, http.MethodGet, target, "")
			wantError(t, rec, http.StatusServiceUnavailable, "worker_unavailable", "connection refused")
		})
	}
}

func TestLogs_FollowStreamsAsWritten(t *testing.T) {
	f := newLogsFixture(t)
	srv := httptest.NewServer(f.m.server)
	defer srv.Close()
	// Closed before the server, whose Close waits for the relay to end.
	logReader, logWriter := io.Pipe()
	defer logWriter.Close()
	f.m.workers.set(func(w *fakeWorkers) {
		w.logsResponse = func(workerCall) *http.Response {
			return &http.Response{
				StatusCode: http.StatusOK,
				Header:     http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
				Body:       logReader,
			}
		}
	})
	client := &http.Client{Timeout: 5 * time.Second}

	// The worker has sent no line yet, and the headers must arrive anyway.
	resp, err := client.Get(srv.URL + "/api/v1/pods/" + f.pod.PodID + "/logs?follow=true&container=app")
	if err != nil {
		t.Fatalf("GET logs: expected the response headers before any log line, got %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("expected status 200, got %d", resp.StatusCode)
	}

	// Each line must reach the client while the worker's stream is still
	// open, or a followed log would only arrive when it ends.
	lines := bufio.NewReader(resp.Body)
	for _, line := range []string{"first line\n", "second line\n"} {
		written := make(chan error, 1)
		go func() {
			_, err := io.WriteString(logWriter, line)
			written <- err
		}()
		if err := receive(t, written, "the worker's log line to be taken"); err != nil {
			t.Fatalf("write to the worker stream: %v", err)
		}
		got := make(chan string, 1)
		go func() {
			text, _ := lines.ReadString('\n')
			got <- text
		}()
		if text := receive(t, got, "the line "+line+" at the client"); text != line {
			t.Fatalf("expected %q at the client, got %q", line, text)
		}
	}

	logWriter.Close()
	rest, err := io.ReadAll(lines)
	if err != nil || len(rest) != 0 {
		t.Errorf("after the worker closed its stream: expected the end of the body, got %q and %v", rest, err)
	}
}
