package worker

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/runtime/fake"
	"github.com/podling/podling/internal/types"
)

func TestPodExecute_TwiceStartsOnce(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	pod := testPod(testPodID, types.RestartAlways, "app", "sidecar")

	status, first := tw.executePod(t, pod, 1)
	if status != http.StatusAccepted || !first.Started || first.PodID != testPodID {
		t.Fatalf("first execute = %d %+v, want 202 and started", status, first)
	}
	if first.Status != types.PodRunning || first.PodIP != "127.0.0.1" || first.NodeID != testNodeID {
		t.Errorf("first execute status = %+v, want running with the sandbox IP on %s", first.PodStatusReport, testNodeID)
	}
	status, second := tw.executePod(t, pod, 1)
	if status != http.StatusOK || second.Started {
		t.Errorf("second execute = %d %+v, want 200 and not started", status, second)
	}
	if n := rt.Created(); n != 3 {
		t.Errorf("containers created = %d, want the sandbox and two containers", n)
	}
	if n := rt.Networks(); n != 1 {
		t.Errorf("EnsureNetwork calls = %d, want 1 at start-up", n)
	}
}

func TestPodExecute_OlderTermRejected(t *testing.T) {
	tests := []struct {
		name   string
		terms  []uint64
		status int
	}{
		{"older after newer", []uint64{5, 3}, http.StatusConflict},
		{"newer after older", []uint64{3, 5}, http.StatusOK},
		{"same term again", []uint64{5, 5}, http.StatusOK},
		{"no term after a term", []uint64{2, 0}, http.StatusConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			master := newStubMaster(t)
			rt := fake.New(testNodeID)
			tw := startWorker(t, rt, master.URL())
			pod := testPod(testPodID, types.RestartAlways, "app")

			if status, _ := tw.executePod(t, pod, tc.terms[0]); status != http.StatusAccepted {
				t.Fatalf("first execute = %d, want 202", status)
			}
			if status, _ := tw.executePod(t, pod, tc.terms[1]); status != tc.status {
				t.Errorf("second execute = %d, want %d", status, tc.status)
			}
			if n := rt.Created(); n != 2 {
				t.Errorf("containers created = %d, want 2", n)
			}
		})
	}
}

func TestPodExecute_DeletedPodFencedByTerm(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	pod := testPod(testPodID, types.RestartAlways, "app")
	tw.executePod(t, pod, 4)
	tw.deletePod(t, testPodID)

	if status, _ := tw.executePod(t, pod, 3); status != http.StatusConflict {
		t.Errorf("execute with an older term after delete = %d, want 409", status)
	}
	if status, _ := tw.executePod(t, pod, 4); status != http.StatusAccepted {
		t.Errorf("execute with the same term after delete = %d, want 202", status)
	}
}

func TestPodRestartPolicy(t *testing.T) {
	tests := []struct {
		policy   types.RestartPolicy
		exitCode int
		restart  bool
		phase    types.PodStatus
	}{
		{types.RestartAlways, 0, true, types.PodRunning},
		{types.RestartAlways, 2, true, types.PodRunning},
		{types.RestartOnFailure, 0, false, types.PodSucceeded},
		{types.RestartOnFailure, 2, true, types.PodRunning},
		{types.RestartNever, 0, false, types.PodSucceeded},
		{types.RestartNever, 2, false, types.PodFailed},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s exit %d", tc.policy, tc.exitCode), func(t *testing.T) {
			master := newStubMaster(t)
			rt := fake.New(testNodeID)
			tw := startWorker(t, rt, master.URL())
			tw.executePod(t, testPod(testPodID, tc.policy, "app"), 1)

			if err := rt.ExitPodContainer(testPodID, "app", tc.exitCode); err != nil {
				t.Fatal(err)
			}
			var got types.PodStatusReport
			if tc.restart {
				got = tw.waitForPod(t, testPodID, "a restart", restartedOnce("app"))
			} else {
				got = tw.waitForPod(t, testPodID, "a final phase", func(r types.PodStatusReport) bool { return r.Status.Terminal() })
			}
			if got.Status != tc.phase {
				t.Errorf("phase = %s, want %s", got.Status, tc.phase)
			}
			wantCreated := 2
			if tc.restart {
				wantCreated = 3
			}
			if n := rt.Created(); n != wantCreated {
				t.Errorf("containers created = %d, want %d", n, wantCreated)
			}
			app := containerStatus(t, got, "app")
			if !tc.restart && (app.State != types.ContainerTerminated || app.ExitCode == nil || *app.ExitCode != tc.exitCode) {
				t.Errorf("container status = %+v, want terminated with code %d", app, tc.exitCode)
			}
		})
	}
}

func TestPodRestartPolicy_CountsRestarts(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	tw.executePod(t, testPod(testPodID, types.RestartAlways, "app"), 1)

	for want := 1; want <= 3; want++ {
		if err := rt.ExitPodContainer(testPodID, "app", 1); err != nil {
			t.Fatal(err)
		}
		tw.waitForPod(t, testPodID, "the next restart", func(r types.PodStatusReport) bool {
			c := r.ContainerStatuses[0]
			return c.RestartCount == want && c.State == types.ContainerRunning
		})
	}
	c, err := rt.PodContainer(testPodID, "app")
	if err != nil || c.RestartCount != 3 {
		t.Errorf("runtime container = %+v, %v; want restart count 3", c, err)
	}
}

func TestDerivePhase(t *testing.T) {
	running := func() *podContainer {
		return &podContainer{started: true, status: types.ContainerStatus{State: types.ContainerRunning}}
	}
	exited := func(code int, final bool) *podContainer {
		return &podContainer{started: true, final: final, status: types.ContainerStatus{State: types.ContainerTerminated, ExitCode: intPtr(code)}}
	}
	waiting := func() *podContainer { return &podContainer{} }
	pullFailed := &podContainer{startFailed: true, final: true,
		status: types.ContainerStatus{Reason: types.ReasonImagePullFailed, Message: "pull of image x failed"}}
	disappeared := &podContainer{started: true, final: true, status: types.ContainerStatus{Message: "gone"}}

	tests := []struct {
		name       string
		containers []*podContainer
		phase      types.PodStatus
		reason     string
	}{
		{"starting", []*podContainer{running(), waiting()}, types.PodScheduled, ""},
		{"all running", []*podContainer{running(), running()}, types.PodRunning, ""},
		{"one done, one running", []*podContainer{exited(0, true), running()}, types.PodRunning, ""},
		{"one failed, one running", []*podContainer{exited(1, true), running()}, types.PodRunning, ""},
		{"waiting for restart", []*podContainer{exited(1, false)}, types.PodRunning, ""},
		{"all exited zero", []*podContainer{exited(0, true), exited(0, true)}, types.PodSucceeded, ""},
		{"one exited non-zero", []*podContainer{exited(0, true), exited(3, true)}, types.PodFailed, types.ReasonNonZeroExit},
		{"container disappeared", []*podContainer{disappeared}, types.PodFailed, types.ReasonContainerError},
		{"pull failed", []*podContainer{running(), pullFailed}, types.PodFailed, types.ReasonImagePullFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i, c := range tc.containers {
				c.spec.Name = "c" + string(rune('0'+i))
			}
			phase, reason, message := derivePhase(tc.containers)
			if phase != tc.phase {
				t.Errorf("phase = %s, want %s", phase, tc.phase)
			}
			if reason != tc.reason {
				t.Errorf("reason = %q, want %q", reason, tc.reason)
			}
			if phase == types.PodFailed && message == "" {
				t.Errorf("failed phase has no message")
			}
		})
	}
}

func TestPodReports_InOrderAndRetried(t *testing.T) {
	master := newStubMaster(t)
	master.setPodReportStatus(func(n int, _ types.PodStatusReport) int {
		if n%2 == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	tw.executePod(t, testPod(testPodID, types.RestartNever, "app"), 1)
	waitFor(t, "a running report", func() bool {
		reports := master.podReportsOf(testPodID)
		return len(reports) > 0 && reports[len(reports)-1].Status == types.PodRunning
	})

	if err := rt.ExitPodContainer(testPodID, "app", 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a succeeded report", func() bool {
		reports := master.podReportsOf(testPodID)
		return len(reports) > 0 && reports[len(reports)-1].Status == types.PodSucceeded
	})

	reports := master.podReportsOf(testPodID)
	order := map[types.PodStatus]int{types.PodScheduled: 0, types.PodRunning: 1, types.PodSucceeded: 2}
	for i := 1; i < len(reports); i++ {
		if order[reports[i].Status] < order[reports[i-1].Status] {
			t.Errorf("report %d is %s after %s, want phases in order", i, reports[i].Status, reports[i-1].Status)
		}
	}
	if n := master.podAttemptsOf(testPodID); n != 2*len(reports) {
		t.Errorf("report attempts = %d, want one rejected and one acknowledged for each of %d reports", n, len(reports))
	}
	last := reports[len(reports)-1]
	if last.NodeID != testNodeID || last.PodIP == "" {
		t.Errorf("last report = %+v, want node %s and the pod IP", last, testNodeID)
	}
	app := last.ContainerStatuses[0]
	if app.State != types.ContainerTerminated || app.ExitCode == nil || *app.ExitCode != 0 || app.FinishedAt == nil {
		t.Errorf("container status in last report = %+v, want terminated with code 0", app)
	}
}

func TestPodReports_ConflictIsFinal(t *testing.T) {
	master := newStubMaster(t)
	master.setPodReportStatus(func(_ int, r types.PodStatusReport) int {
		if r.Status == types.PodRunning {
			return http.StatusConflict
		}
		return http.StatusOK
	})
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	tw.executePod(t, testPod(testPodID, types.RestartNever, "app"), 1)
	waitFor(t, "a report", func() bool { return master.podAttemptsOf(testPodID) > 0 })

	if err := rt.ExitPodContainer(testPodID, "app", 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed report", func() bool {
		reports := master.podReportsOf(testPodID)
		return len(reports) > 0 && reports[len(reports)-1].Status == types.PodFailed
	})
	for _, r := range master.podReportsOf(testPodID) {
		if r.Status == types.PodRunning {
			t.Errorf("a running report was acknowledged, want every one rejected")
		}
	}
}

func TestPodDelete_Idempotent(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	tw.executePod(t, testPod(testPodID, types.RestartAlways, "app", "sidecar"), 1)

	if n := tw.deletePod(t, testPodID); n != 3 {
		t.Errorf("first delete removed %d containers, want 3", n)
	}
	if n := tw.deletePod(t, testPodID); n != 0 {
		t.Errorf("second delete removed %d containers, want 0", n)
	}
	if n := tw.deletePod(t, "20250119123456-unknown0"); n != 0 {
		t.Errorf("delete of an unknown pod removed %d containers, want 0", n)
	}
	if status, _ := tw.do(t, http.MethodGet, "/api/v1/pods/"+testPodID+"/status", nil); status != http.StatusNotFound {
		t.Errorf("status after delete = %d, want 404", status)
	}
	list, _ := rt.ListPods(t.Context())
	if len(list) != 0 {
		t.Errorf("runtime has %d pod containers after delete, want 0", len(list))
	}
}

func TestPodLogs_ContainerSelection(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	const single = "20250119123456-single01"
	tw.executePod(t, testPod(testPodID, types.RestartAlways, "app", "sidecar"), 1)
	tw.executePod(t, testPod(single, types.RestartAlways, "only"), 1)
	for _, c := range []struct{ pod, name string }{{testPodID, "app"}, {testPodID, "sidecar"}, {single, "only"}} {
		if err := rt.AppendPodLogs(c.pod, c.name, "hello from "+c.name); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name   string
		path   string
		status int
		body   []string
	}{
		{"several containers need a name", "/api/v1/pods/" + testPodID + "/logs", 400, []string{"app", "sidecar", "container="}},
		{"unknown container", "/api/v1/pods/" + testPodID + "/logs?container=nope", 400, []string{"nope", "app, sidecar"}},
		{"container given twice", "/api/v1/pods/" + testPodID + "/logs?container=app&container=sidecar", 400, nil},
		{"named container", "/api/v1/pods/" + testPodID + "/logs?container=sidecar", 200, []string{"hello from sidecar\n"}},
		{"only container by default", "/api/v1/pods/" + single + "/logs", 200, []string{"hello from only\n"}},
		{"unknown pod", "/api/v1/pods/20250119123456-unknown0/logs", 404, nil},
		{"bad follow", "/api/v1/pods/" + single + "/logs?follow=yes", 400, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, data := tw.do(t, http.MethodGet, tc.path, nil)
			if status != tc.status {
				t.Errorf("status = %d, want %d (body %s)", status, tc.status, data)
			}
			for _, want := range tc.body {
				if !strings.Contains(string(data), want) {
					t.Errorf("body %q does not contain %q", data, want)
				}
			}
		})
	}
}

func TestPodLogs_FollowUntilExit(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	tw.executePod(t, testPod(testPodID, types.RestartNever, "app"), 1)
	if err := rt.AppendPodLogs(testPodID, "app", "first"); err != nil {
		t.Fatal(err)
	}

	resp, err := tw.client.Get(tw.url + "/api/v1/pods/" + testPodID + "/logs?follow=true")
	if err != nil {
		t.Fatalf("GET followed logs: %v", err)
	}
	defer resp.Body.Close()
	lines := readLines(resp.Body)
	if line := <-lines; line != "first" {
		t.Fatalf("first followed line = %q, want %q", line, "first")
	}
	if err := rt.AppendPodLogs(testPodID, "app", "second"); err != nil {
		t.Fatal(err)
	}
	if line := <-lines; line != "second" {
		t.Fatalf("second followed line = %q, want %q", line, "second")
	}
	if err := rt.ExitPodContainer(testPodID, "app", 0); err != nil {
		t.Fatal(err)
	}
	if line, open := <-lines; open {
		t.Errorf("stream went on with %q after the container exited, want it closed", line)
	}
}

func TestTaskLogs_Follow(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	const taskID = "20250119123456-abc12345"
	tw.execute(t, taskID, testImage)

	resp, err := tw.client.Get(tw.url + "/api/v1/tasks/" + taskID + "/logs?follow=true&tail=5")
	if err != nil {
		t.Fatalf("GET followed logs: %v", err)
	}
	defer resp.Body.Close()
	lines := readLines(resp.Body)
	if err := rt.AppendLogs(taskID, "late line"); err != nil {
		t.Fatal(err)
	}
	if line := <-lines; line != "late line" {
		t.Fatalf("followed line = %q, want %q", line, "late line")
	}
	if err := rt.ExitTask(taskID, 0); err != nil {
		t.Fatal(err)
	}
	if _, open := <-lines; open {
		t.Errorf("stream went on after the task exited, want it closed")
	}
}

func TestPodAPI_RejectsBadRequests(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	path := "/api/v1/pods/" + testPodID + "/execute"
	body := func(edit func(*types.Pod)) string {
		pod := testPod(testPodID, types.RestartAlways, "app")
		edit(&pod)
		return mustJSON(t, types.PodExecuteRequest{Pod: pod})
	}
	probe := func(p types.Probe) func(*types.Pod) {
		return func(pod *types.Pod) { pod.Containers[0].LivenessProbe = &p }
	}

	tests := []struct {
		name   string
		method string
		path   string
		body   string
		code   string
	}{
		{"execute upper-case id", http.MethodPost, "/api/v1/pods/BAD/execute", body(func(*types.Pod) {}), codeInvalidPodID},
		{"status bad id", http.MethodGet, "/api/v1/pods/-x/status", "", codeInvalidPodID},
		{"logs bad id", http.MethodGet, "/api/v1/pods/a.b/logs", "", codeInvalidPodID},
		{"delete bad id", http.MethodDelete, "/api/v1/pods/_x", "", codeInvalidPodID},
		{"id mismatch", http.MethodPost, path, body(func(p *types.Pod) { p.PodID = "20250119123456-other000" }), codeInvalidRequest},
		{"no containers", http.MethodPost, path, body(func(p *types.Pod) { p.Containers = nil }), codeInvalidRequest},
		{"bad container name", http.MethodPost, path, body(func(p *types.Pod) { p.Containers[0].Name = "App_1" }), codeInvalidRequest},
		{"duplicate names", http.MethodPost, path, body(func(p *types.Pod) { p.Containers = append(p.Containers, p.Containers[0]) }), codeInvalidRequest},
		{"missing image", http.MethodPost, path, body(func(p *types.Pod) { p.Containers[0].Image = "" }), codeInvalidRequest},
		{"bad restart policy", http.MethodPost, path, body(func(p *types.Pod) { p.RestartPolicy = "Sometimes" }), codeInvalidRequest},
		{"negative limit", http.MethodPost, path, body(func(p *types.Pod) { p.Containers[0].Resources.Limits.MemoryBytes = -1 }), codeInvalidRequest},
		{"bad host port", http.MethodPost, path, body(func(p *types.Pod) {
			p.Containers[0].Ports = []types.ContainerPort{{ContainerPort: 80, HostPort: 70000}}
		}), codeInvalidRequest},
		{"probe without action", http.MethodPost, path, body(probe(types.Probe{})), codeInvalidRequest},
		{"probe with two actions", http.MethodPost, path, body(probe(types.Probe{
			HTTPGet: &types.HTTPGetAction{Port: 80}, TCPSocket: &types.TCPSocketAction{Port: 80},
		})), codeInvalidRequest},
		{"probe port zero", http.MethodPost, path, body(probe(types.Probe{HTTPGet: &types.HTTPGetAction{}})), codeInvalidRequest},
		{"probe empty command", http.MethodPost, path, body(probe(types.Probe{Exec: &types.ExecAction{}})), codeInvalidRequest},
		{"probe negative period", http.MethodPost, path, body(probe(types.Probe{
			TCPSocket: &types.TCPSocketAction{Port: 80}, PeriodSeconds: -1,
		})), codeInvalidRequest},
		{"unknown field", http.MethodPost, path, `{"pod":{"podId":"` + testPodID + `"},"extra":1}`, codeInvalidRequest},
		{"not json", http.MethodPost, path, `pod`, codeInvalidRequest},
		{"task logs bad follow", http.MethodGet, "/api/v1/tasks/20250119123456-abc12345/logs?follow=1", "", codeInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, data := tw.do(t, tc.method, tc.path, []byte(tc.body))
			if status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400 (body %s)", status, data)
			}
			if !strings.Contains(string(data), `"code":"`+tc.code+`"`) {
				t.Errorf("body %s does not have code %q", data, tc.code)
			}
		})
	}
	if n := rt.Created(); n != 0 {
		t.Errorf("containers created = %d, want 0", n)
	}
}

func TestPod_PauseImageMissing(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	rt.FailPull(DefaultPauseImage, errors.New("registry unreachable"))
	tw := startWorker(t, rt, master.URL())

	status, resp := tw.executePod(t, testPod(testPodID, types.RestartAlways, "app"), 1)
	if status != http.StatusAccepted || resp.Status != types.PodFailed {
		t.Fatalf("execute = %d %+v, want 202 with a failed pod", status, resp.PodStatusReport)
	}
	if resp.Reason != types.ReasonImagePullFailed {
		t.Errorf("reason = %q, want %q", resp.Reason, types.ReasonImagePullFailed)
	}
	for _, want := range []string{DefaultPauseImage, "make images", "registry unreachable"} {
		if !strings.Contains(resp.Message, want) {
			t.Errorf("message %q does not contain %q", resp.Message, want)
		}
	}
	waitFor(t, "the failed report", func() bool {
		reports := master.podReportsOf(testPodID)
		return len(reports) > 0 && reports[len(reports)-1].Status == types.PodFailed
	})
}

func TestPod_ContainerPullFailureFailsPod(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	const missing = "127.0.0.1:1/podling/missing:never"
	rt.FailPull(missing, errors.New("connection refused"))
	tw := startWorker(t, rt, master.URL())
	pod := testPod(testPodID, types.RestartAlways, "app", "broken")
	pod.Containers[1].Image = missing

	_, resp := tw.executePod(t, pod, 1)
	if resp.Status != types.PodFailed || resp.Reason != types.ReasonImagePullFailed || !strings.Contains(resp.Message, missing) {
		t.Errorf("pod = %+v, want failed with ImagePullFailed naming %s", resp.PodStatusReport, missing)
	}
	got := tw.waitForPod(t, testPodID, "the first container stopped", func(r types.PodStatusReport) bool {
		return r.ContainerStatuses[0].State == types.ContainerTerminated
	})
	if app := containerStatus(t, got, "app"); app.Reason != reasonPodFailed {
		t.Errorf("first container = %+v, want stopped with reason %s", app, reasonPodFailed)
	}
	sandbox, err := rt.PodContainer(testPodID, "")
	if err != nil || sandbox.State != runtime.StateExited {
		t.Errorf("sandbox = %+v, %v; want it stopped", sandbox, err)
	}
}

func TestPod_SandboxExitFailsPod(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	tw.executePod(t, testPod(testPodID, types.RestartAlways, "app"), 1)

	if err := rt.ExitPodContainer(testPodID, "", 2); err != nil {
		t.Fatal(err)
	}
	got := tw.waitForPod(t, testPodID, "failed", phaseIs(types.PodFailed))
	if got.Reason != types.ReasonContainerError || !strings.Contains(got.Message, "pause container") {
		t.Errorf("pod = %+v, want ContainerError about the pause container", got)
	}
	tw.waitForPod(t, testPodID, "the container stopped", func(r types.PodStatusReport) bool {
		return r.ContainerStatuses[0].State == types.ContainerTerminated
	})
}

func TestPodAdoption_ResumesWithoutNewContainers(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	first := startWorker(t, rt, master.URL())
	first.executePod(t, testPod(testPodID, types.RestartAlways, "app", "sidecar"), 1)
	if err := rt.ExitPodContainer(testPodID, "app", 1); err != nil {
		t.Fatal(err)
	}
	first.waitForPod(t, testPodID, "a restart", restartedOnce("app"))
	first.stop()
	created := rt.Created()

	second := startWorker(t, rt, master.URL())
	got := second.podStatus(t, testPodID)
	if got.Status != types.PodRunning || containerStatus(t, got, "app").RestartCount != 1 {
		t.Errorf("adopted pod = %+v, want running with app restarted once", got)
	}
	status, resp := second.executePod(t, testPod(testPodID, types.RestartAlways, "app", "sidecar"), 1)
	if status != http.StatusOK || resp.Started {
		t.Errorf("execute after restart = %d %+v, want 200 and not started", status, resp)
	}
	if n := rt.Created(); n != created {
		t.Errorf("containers created after restart = %d, want %d", n, created)
	}

	// Supervision goes on: the restart count continues from the label.
	if err := rt.ExitPodContainer(testPodID, "sidecar", 0); err != nil {
		t.Fatal(err)
	}
	second.waitForPod(t, testPodID, "a sidecar restart", restartedOnce("sidecar"))
	if err := rt.ExitPodContainer(testPodID, "app", 1); err != nil {
		t.Fatal(err)
	}
	second.waitForPod(t, testPodID, "a second app restart", func(r types.PodStatusReport) bool {
		return r.ContainerStatuses[0].RestartCount == 2 && r.ContainerStatuses[0].State == types.ContainerRunning
	})
}

func TestPodAdoption_FinishedPodReported(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	spec, err := encodePodSpec(testPod(testPodID, types.RestartNever, "app"))
	if err != nil {
		t.Fatal(err)
	}
	rt.Add(runtime.Container{ID: "c-sandbox", PodID: testPodID, NodeID: testNodeID, Sandbox: true, PodSpec: spec, State: runtime.StateExited})
	rt.Add(runtime.Container{ID: "c-app", PodID: testPodID, NodeID: testNodeID, Name: "app", State: runtime.StateExited, ExitCode: 4})
	rt.Add(runtime.Container{ID: "c-orphan", PodID: "20250119123456-orphan01", NodeID: testNodeID, Name: "x", State: runtime.StateRunning})

	tw := startWorker(t, rt, master.URL())
	got := tw.podStatus(t, testPodID)
	if got.Status != types.PodFailed || got.Reason != types.ReasonNonZeroExit {
		t.Errorf("adopted finished pod = %+v, want failed with NonZeroExit", got)
	}
	if status, _ := tw.do(t, http.MethodGet, "/api/v1/pods/20250119123456-orphan01/status", nil); status != http.StatusNotFound {
		t.Errorf("status of a pod without sandbox = %d, want 404", status)
	}
	if n := tw.deletePod(t, "20250119123456-orphan01"); n != 1 {
		t.Errorf("delete of the orphan pod removed %d containers, want 1", n)
	}
	if n := rt.Created(); n != 0 {
		t.Errorf("containers created = %d, want 0", n)
	}
}

// readLines sends each line read from r on the returned channel, which is
// closed at the end of r.
func readLines(r interface{ Read([]byte) (int, error) }) <-chan string {
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		var pending []byte
		buf := make([]byte, 1024)
		for {
			n, err := r.Read(buf)
			pending = append(pending, buf[:n]...)
			for {
				i := slices.Index(pending, '\n')
				if i < 0 {
					break
				}
				lines <- string(pending[:i])
				pending = pending[i+1:]
			}
			if err != nil {
				return
			}
		}
	}()
	return lines
}
