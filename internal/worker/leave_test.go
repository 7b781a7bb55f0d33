package worker

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/runtime/fake"
	"github.com/podling/podling/internal/types"
)

const leaveTask = "20250119123456-leave001"

// startBusyWorker starts a worker with cfg and gives it a running task and
// a running pod.
func startBusyWorker(t *testing.T, master *stubMaster, cfg Config) *testWorker {
	t.Helper()
	tw := startWorkerWith(t, cfg)
	waitFor(t, "registration", func() bool { return master.registrationCount() > 0 })
	tw.execute(t, leaveTask, testImage)
	tw.executePod(t, testPod(testPodID, types.RestartAlways, "app"), 1)
	waitForStatuses(t, master, leaveTask, types.TaskRunning)
	return tw
}

func requireRunning(t *testing.T, what string, c runtime.Container, err error) {
	t.Helper()
	if err != nil || c.State != runtime.StateRunning {
		t.Errorf("%s after shutdown: %+v, %v, want it running", what, c, err)
	}
}

func TestShutdown_LeavesAndKeepsContainers(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startBusyWorker(t, master, testConfig(t, rt, master.URL()))

	tw.stop()

	if n := master.nodeCallCount("leave", testNodeID); n != 1 {
		t.Errorf("leave requests = %d, want 1", n)
	}
	if n := master.nodeCallCount("drain", testNodeID); n != 0 {
		t.Errorf("drain requests = %d, want 0", n)
	}
	events := master.eventLog()
	if at := slices.Index(events, "leave"); at != len(events)-2 {
		t.Errorf("events %v, want leave last, after the last heartbeat", events)
	}
	task, err := rt.Find(t.Context(), leaveTask)
	requireRunning(t, "task container", task, err)
	sandbox, err := rt.PodContainer(testPodID, "")
	requireRunning(t, "pod sandbox", sandbox, err)
	app, err := rt.PodContainer(testPodID, "app")
	requireRunning(t, "pod container", app, err)
}

func TestShutdown_DrainOnExitMovesPods(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	cfg := testConfig(t, rt, master.URL())
	cfg.DrainOnExit = true
	tw := startBusyWorker(t, master, cfg)

	// Like a master, the drain deletes the pod through the worker API,
	// and it lasts until the worker has heartbeated once more.
	var deleteStatus, heartbeatsDuringDrain int
	master.setOnDrain(func() {
		before := master.heartbeatCount()
		deleteStatus = deleteOnWorker(tw, "/api/v1/pods/"+testPodID)
		deadline := time.Now().Add(5 * time.Second)
		for master.heartbeatCount() == before && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		heartbeatsDuringDrain = master.heartbeatCount() - before
	})
	tw.stop()

	if n := master.nodeCallCount("drain", testNodeID); n != 1 {
		t.Errorf("drain requests = %d, want 1", n)
	}
	if n := master.nodeCallCount("leave", testNodeID); n != 0 {
		t.Errorf("leave requests = %d, want 0", n)
	}
	if deleteStatus != http.StatusOK {
		t.Errorf("pod delete during the drain = %d, want 200", deleteStatus)
	}
	if heartbeatsDuringDrain == 0 {
		t.Error("no heartbeat during the drain, want the worker to heartbeat until it ends")
	}
	if _, err := rt.PodContainer(testPodID, ""); err == nil {
		t.Error("pod sandbox still exists after the drain deleted the pod")
	}
	task, err := rt.Find(t.Context(), leaveTask)
	requireRunning(t, "task container", task, err)
}

// deleteOnWorker sends DELETE path to the worker and returns the status,
// or zero when the request failed. It is safe to call from any goroutine.
func deleteOnWorker(tw *testWorker, path string) int {
	req, err := http.NewRequest(http.MethodDelete, tw.url+path, nil)
	if err != nil {
		return 0
	}
	resp, err := tw.client.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
