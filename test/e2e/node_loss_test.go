package e2e

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/testutil"
	"github.com/podling/podling/internal/types"
)

// TestE2E_LostWorkerWorkMovesOrFails stops one of two workers for good:
// after the TTL its node is offline, its task failed with NodeLost and its
// Always pod runs on the other worker.
func TestE2E_LostWorkerWorkMovesOrFails(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	dockerClient = testutil.RequireDocker(t)
	imgs := buildImages(t)
	bins := buildBinaries(t)
	lc := startMasterProcesses(t, bins, "3s")
	network := testutil.NetworkName(t, dockerClient)
	doomed := &workerStarter{t: t, binary: bins.worker, nodeID: "e2e-doomed-" + testutil.RandomSuffix(t),
		masterURLs: lc.masterURLs, network: network, pauseImage: imgs.pause}
	testutil.RemoveContainersAtCleanup(t, dockerClient, runtime.LabelNodeID, doomed.nodeID)
	doomedProcess := doomed.start()
	waitNodeStatus(t, lc, doomed.nodeID, types.NodeOnline)

	// With only the doomed worker online, the work lands there.
	task := submitTask(t, lc.masterURLs[0], types.CreateTaskRequest{Name: "long", Image: imgs.echo})
	pod := createPod(t, lc.masterURLs[0], types.CreatePodRequest{
		Name: "mover", Containers: []types.Container{{Name: "app", Image: imgs.echo}},
	})
	waitTask(t, lc.masterURLs[0], task.TaskID, "running", isRunning)
	waitPod(t, lc.masterURLs[0], pod.PodID, "running", func(p types.Pod) bool {
		return p.Status == types.PodRunning && p.NodeID == doomed.nodeID
	})

	survivor := &workerStarter{t: t, binary: bins.worker, nodeID: "e2e-survivor-" + testutil.RandomSuffix(t),
		masterURLs: lc.masterURLs, network: network, pauseImage: imgs.pause}
	testutil.RemoveContainersAtCleanup(t, dockerClient, runtime.LabelNodeID, survivor.nodeID)
	survivor.start()
	waitNodeStatus(t, lc, survivor.nodeID, types.NodeOnline)
	doomedProcess.kill(syscall.SIGKILL)

	waitNodeStatus(t, lc, doomed.nodeID, types.NodeOffline)
	lost := waitFinal(t, lc.masterURLs[1], task.TaskID)
	if lost.Status != types.TaskFailed || lost.Reason != types.ReasonNodeLost {
		t.Errorf("task on the lost node ended %s with reason %q, want failed with %s", lost.Status, lost.Reason, types.ReasonNodeLost)
	}
	moved := waitPod(t, lc.masterURLs[2], pod.PodID, "running on the survivor", func(p types.Pod) bool {
		return p.Status == types.PodRunning && p.NodeID == survivor.nodeID
	})
	if moved.PodIP == "" {
		t.Error("moved pod has no IP")
	}
}

func waitNodeStatus(t *testing.T, lc *localCluster, nodeID string, want types.NodeStatus) {
	t.Helper()
	poll(t, 60*time.Second, "node "+nodeID+" to be "+string(want), func() bool {
		var nodes []types.Node
		if getJSON(lc.masterURLs[0]+"/api/v1/nodes", &nodes) != http.StatusOK {
			return false
		}
		for _, n := range nodes {
			if n.NodeID == nodeID {
				return n.Status == want
			}
		}
		return false
	})
}
