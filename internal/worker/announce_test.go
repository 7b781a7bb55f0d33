package worker

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/runtime/fake"
	"github.com/podling/podling/internal/types"
)

// IDs of the containers that announcement tests put in the fake runtime.
const (
	runningTask = "20250119123456-running1"
	doneTask    = "20250119123456-done0001"
	failedTask  = "20250119123456-fail0001"
	otherTask   = "20250119123456-other001"
	lonePod     = "20250119123456-lonepod1"
)

// addEarlierWork stores containers as an earlier worker process would
// have left them: three tasks of this node, one task of another node, a
// running pod and pod containers without a sandbox.
func addEarlierWork(t *testing.T, rt *fake.Runtime) {
	t.Helper()
	rt.Add(runtime.Container{ID: "c-running", TaskID: runningTask, NodeID: testNodeID, Image: testImage, State: runtime.StateRunning})
	rt.Add(runtime.Container{ID: "c-done", TaskID: doneTask, NodeID: testNodeID, Image: testImage, State: runtime.StateExited})
	rt.Add(runtime.Container{ID: "c-fail", TaskID: failedTask, NodeID: testNodeID, Image: testImage, State: runtime.StateExited, ExitCode: 5})
	rt.Add(runtime.Container{ID: "c-other", TaskID: otherTask, NodeID: "node-2", Image: testImage, State: runtime.StateRunning})

	spec, err := encodePodSpec(testPod(testPodID, types.RestartAlways, "app"))
	if err != nil {
		t.Fatal(err)
	}
	rt.Add(runtime.Container{ID: "c-sandbox", PodID: testPodID, NodeID: testNodeID, Sandbox: true, PodSpec: spec, State: runtime.StateRunning, IP: "127.0.0.1"})
	rt.Add(runtime.Container{ID: "c-app", PodID: testPodID, NodeID: testNodeID, Name: "app", State: runtime.StateRunning})
	rt.Add(runtime.Container{ID: "c-lone", PodID: lonePod, NodeID: testNodeID, Name: "x", State: runtime.StateRunning})
}

func announcedTaskByID(t *testing.T, req types.RegisterNodeRequest, id string) types.AnnouncedTask {
	t.Helper()
	for _, a := range req.Tasks {
		if a.TaskID == id {
			return a
		}
	}
	t.Fatalf("registration announces no task %s: %+v", id, req.Tasks)
	return types.AnnouncedTask{}
}

func announcedPodByID(t *testing.T, req types.RegisterNodeRequest, id string) types.AnnouncedPod {
	t.Helper()
	for _, a := range req.Pods {
		if a.PodID == id {
			return a
		}
	}
	t.Fatalf("registration announces no pod %s: %+v", id, req.Pods)
	return types.AnnouncedPod{}
}

func TestRegister_AnnouncesTasksWithExitCodes(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	addEarlierWork(t, rt)
	startWorker(t, rt, master.URL())
	waitFor(t, "registration", func() bool { return master.registrationCount() > 0 })
	req := master.registration(0)

	if len(req.Tasks) != 3 {
		t.Errorf("announced tasks = %+v, want the three of this node", req.Tasks)
	}
	if got := announcedTaskByID(t, req, runningTask); got.Status != types.TaskRunning || got.ContainerID != "c-running" || got.ExitCode != nil {
		t.Errorf("running task announced as %+v, want running in c-running without exit code", got)
	}
	if got := announcedTaskByID(t, req, doneTask); got.Status != types.TaskCompleted || got.ExitCode == nil || *got.ExitCode != 0 {
		t.Errorf("completed task announced as %+v, want completed with exit code 0", got)
	}
	if got := announcedTaskByID(t, req, failedTask); got.Status != types.TaskFailed || got.ExitCode == nil || *got.ExitCode != 5 {
		t.Errorf("failed task announced as %+v, want failed with exit code 5", got)
	}
}

func TestRegister_AnnouncesPodReports(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	addEarlierWork(t, rt)
	startWorker(t, rt, master.URL())
	waitFor(t, "registration", func() bool { return master.registrationCount() > 0 })
	req := master.registration(0)

	if len(req.Pods) != 2 {
		t.Errorf("announced pods = %+v, want two", req.Pods)
	}
	pod := announcedPodByID(t, req, testPodID).Report
	if pod.Status != types.PodRunning || pod.PodIP != "127.0.0.1" {
		t.Errorf("running pod announced as %+v, want running with the sandbox IP", pod)
	}
	if len(pod.ContainerStatuses) != 1 || pod.ContainerStatuses[0].ContainerID != "c-app" {
		t.Errorf("announced container statuses = %+v, want app in c-app", pod.ContainerStatuses)
	}
	lone := announcedPodByID(t, req, lonePod).Report
	if lone.Status != types.PodFailed || lone.Reason != types.ReasonContainerError {
		t.Errorf("pod without sandbox announced as %+v, want failed with ContainerError", lone)
	}
}

func TestRegister_RemovesOrphans(t *testing.T) {
	master := newStubMaster(t)
	master.orphans = func(types.RegisterNodeRequest) types.Orphans {
		// otherTask was not announced, so the worker must leave it alone.
		return types.Orphans{Tasks: []string{runningTask, failedTask, otherTask}, Pods: []string{testPodID}}
	}
	rt := fake.New(testNodeID)
	addEarlierWork(t, rt)
	tw := startWorker(t, rt, master.URL())

	waitFor(t, "orphan containers removed", func() bool {
		_, errRunning := rt.Find(t.Context(), runningTask)
		_, errFailed := rt.Find(t.Context(), failedTask)
		_, errPod := rt.PodContainer(testPodID, "")
		return errors.Is(errRunning, runtime.ErrNotFound) && errors.Is(errFailed, runtime.ErrNotFound) && errors.Is(errPod, runtime.ErrNotFound)
	})
	if _, err := rt.PodContainer(testPodID, "app"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("app container of the orphan pod: %v, want it removed", err)
	}
	if _, err := rt.Find(t.Context(), doneTask); err != nil {
		t.Errorf("task the masters place here: %v, want its container kept", err)
	}
	if _, err := rt.Find(t.Context(), otherTask); err != nil {
		t.Errorf("task of another node: %v, want its container kept", err)
	}
	if code, _ := tw.do(t, http.MethodGet, "/api/v1/tasks/"+runningTask+"/status", nil); code != http.StatusNotFound {
		t.Errorf("status of a removed orphan task = %d, want 404", code)
	}
	if n := master.attempts(runningTask); n > 1 {
		t.Errorf("reports for the removed running task = %d, want at most the running report", n)
	}
	if n := rt.Created(); n != 0 {
		t.Errorf("containers created = %d, want 0", n)
	}
}

func TestHeartbeat_NotFoundReannouncesAtOnce(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	waitFor(t, "registration", func() bool { return master.registrationCount() > 0 })
	if req := master.registration(0); len(req.Tasks) != 0 || len(req.Pods) != 0 {
		t.Errorf("first registration announces %+v and %+v, want nothing", req.Tasks, req.Pods)
	}

	tw.execute(t, runningTask, testImage)
	tw.executePod(t, testPod(testPodID, types.RestartAlways, "app"), 1)
	master.setHeartbeatStatus(func(int) int { return http.StatusNotFound })
	waitFor(t, "a second registration", func() bool { return master.registrationCount() >= 2 })
	master.setHeartbeatStatus(nil)

	events := master.eventLog()
	at := slices.Index(events, "heartbeat 404")
	if at < 0 || at+1 >= len(events) || events[at+1] != "register" {
		t.Errorf("events %v, want a registration right after the first 404 heartbeat", events)
	}
	req := master.registration(1)
	if got := announcedTaskByID(t, req, runningTask); got.Status != types.TaskRunning {
		t.Errorf("task announced again as %+v, want running", got)
	}
	if got := announcedPodByID(t, req, testPodID); got.Report.Status != types.PodRunning {
		t.Errorf("pod announced again as %+v, want running", got.Report)
	}
}

func TestRegister_InvalidAnnouncementFallsBack(t *testing.T) {
	master := newStubMaster(t)
	master.registerStatus = func(req types.RegisterNodeRequest) int {
		if len(req.Tasks) > 0 {
			return http.StatusBadRequest
		}
		return http.StatusOK
	}
	rt := fake.New(testNodeID)
	addEarlierWork(t, rt)
	startWorker(t, rt, master.URL())

	waitFor(t, "heartbeats after registering", func() bool { return master.heartbeatCount() > 0 })
	if n := master.registrationCount(); n != 2 {
		t.Fatalf("registrations = %d, want one rejected and one without announcements", n)
	}
	if req := master.registration(1); len(req.Tasks) != 0 || len(req.Pods) != 0 {
		t.Errorf("second registration announces %+v and %+v, want nothing", req.Tasks, req.Pods)
	}
}
