package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/testutil"
	"github.com/podling/podling/internal/types"
)

// workerStarter starts the same worker again and again: same node ID,
// masters, network and pause image, on a new port each time. Each process
// belongs to the test t, so a subtest that starts one leaves it running.
type workerStarter struct {
	t          *testing.T
	binary     string
	nodeID     string
	masterURLs []string
	network    string
	pauseImage string
	extra      []string // further flags
	starts     int
}

func (ws *workerStarter) start() *process {
	t := ws.t
	t.Helper()
	ws.starts++
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	args := []string{"-node-id", ws.nodeID, "-hostname", "127.0.0.1", "-port", port, "-listen-addr", addr,
		"-masters", strings.Join(ws.masterURLs, ","), "-heartbeat-interval", "1s", "-log-level", "debug",
		"-network", ws.network, "-pause-image", ws.pauseImage, "-host-port-ip", "127.0.0.1"}
	return startProcess(t, fmt.Sprintf("worker-%d", ws.starts), ws.binary, append(args, ws.extra...)...)
}

// startMasters starts three masters whose heartbeat TTL of 60 s keeps the
// node online while its worker is down for a few seconds, so the tests see
// adoption rather than node loss.
func startMasters(t *testing.T, bins binaries) *localCluster {
	t.Helper()
	lc := startMasterProcesses(t, bins, "60s")
	lc.nodeID = "e2e-restart-" + testutil.RandomSuffix(t)
	return lc
}

func TestE2E_WorkerRestartKeepsItsWork(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	dockerClient = testutil.RequireDocker(t)
	imgs := buildImages(t)
	bins := buildBinaries(t)
	lc := startMasters(t, bins)
	ws := &workerStarter{t: t, binary: bins.worker, nodeID: lc.nodeID, masterURLs: lc.masterURLs,
		network: testutil.NetworkName(t, dockerClient), pauseImage: imgs.pause}
	testutil.RemoveContainersAtCleanup(t, dockerClient, runtime.LabelNodeID, lc.nodeID)
	lc.worker = ws.start()
	lc.waitNodeOnline(t)

	long := submitTask(t, lc.masterURLs[0], types.CreateTaskRequest{Name: "serves", Image: imgs.echo})
	pod := createPod(t, lc.masterURLs[1], types.CreatePodRequest{
		Name: "always", RestartPolicy: types.RestartAlways,
		Containers: []types.Container{{Name: "echo", Image: imgs.echo}},
	})
	running := waitTask(t, lc.masterURLs[2], long.TaskID, "running", isRunning)
	waitPod(t, lc.masterURLs[2], pod.PodID, "running", func(p types.Pod) bool { return p.Status == types.PodRunning })

	t.Run("killed worker adopts its containers", func(t *testing.T) {
		sleeper := submitTask(t, lc.masterURLs[0], types.CreateTaskRequest{
			Name: "exits-5", Image: imgs.echo, Env: map[string]string{"ECHO_EXIT_CODE": "5", "ECHO_SLEEP": "3s"},
		})
		waitTask(t, lc.masterURLs[0], sleeper.TaskID, "running", isRunning)
		lc.worker.kill(syscall.SIGKILL)
		if state := taskContainer(t, sleeper.TaskID).State; state != string(runtime.StateRunning) {
			t.Fatalf("sleeping task's container is %s when the worker was killed, want running", state)
		}
		poll(t, 30*time.Second, "the sleeping task's container to exit", func() bool {
			return taskContainer(t, sleeper.TaskID).State == string(runtime.StateExited)
		})

		lc.worker = ws.start()
		failed := waitTask(t, lc.masterURLs[1], sleeper.TaskID, "to finish", func(task types.Task) bool { return task.Status.Terminal() })
		if failed.Status != types.TaskFailed || failed.ExitCode == nil || *failed.ExitCode != 5 {
			t.Errorf("sleeping task = %s with exit code %v, want failed with 5", failed.Status, failed.ExitCode)
		}
		checkWorkKept(t, lc, running, pod.PodID)
		if n := testutil.CountContainers(t, dockerClient, runtime.LabelTaskID, sleeper.TaskID); n != 1 {
			t.Errorf("containers of the sleeping task = %d, want 1", n)
		}
	})

	t.Run("stopped worker leaves and comes back", func(t *testing.T) {
		lc.worker.kill(syscall.SIGTERM)
		node := waitNode(t, lc, "cordoned by the leave", func(n types.Node) bool { return n.Unschedulable })
		if node.CordonReason != types.ReasonWorkerLeaving {
			t.Errorf("node cordon reason = %q, want %q", node.CordonReason, types.ReasonWorkerLeaving)
		}
		if state := taskContainer(t, long.TaskID).State; state != string(runtime.StateRunning) {
			t.Errorf("long task's container is %s after the worker stopped, want running", state)
		}
		checkPodContainers(t, pod.PodID)

		lc.worker = ws.start()
		waitNode(t, lc, "schedulable again", func(n types.Node) bool {
			return !n.Unschedulable && n.Status == types.NodeOnline && n.Port != node.Port
		})
		checkWorkKept(t, lc, running, pod.PodID)
	})
}

func isRunning(task types.Task) bool { return task.Status == types.TaskRunning }

// waitTask polls a task on one master until done accepts it.
func waitTask(t *testing.T, url, taskID, what string, done func(types.Task) bool) types.Task {
	t.Helper()
	var task types.Task
	poll(t, 60*time.Second, "task "+taskID+" "+what, func() bool {
		return getJSON(url+"/api/v1/tasks/"+taskID, &task) == http.StatusOK && done(task)
	})
	return task
}

// waitNode polls the cluster's node list until the test's node satisfies
// done, and returns the node.
func waitNode(t *testing.T, lc *localCluster, what string, done func(types.Node) bool) types.Node {
	t.Helper()
	var found types.Node
	poll(t, 30*time.Second, "node "+lc.nodeID+" "+what, func() bool {
		var nodes []types.Node
		if getJSON(lc.masterURLs[0]+"/api/v1/nodes", &nodes) != http.StatusOK {
			return false
		}
		for _, n := range nodes {
			if n.NodeID == lc.nodeID && done(n) {
				found = n
				return true
			}
		}
		return false
	})
	return found
}

// checkWorkKept checks that the long task runs on in its first container
// and the pod runs with one sandbox and one container. Call it once the
// restarted worker has registered.
func checkWorkKept(t *testing.T, lc *localCluster, long types.Task, podID string) {
	t.Helper()
	got := waitTask(t, lc.masterURLs[2], long.TaskID, "running", isRunning)
	if got.ContainerID != long.ContainerID {
		t.Errorf("long task's container = %s, want %s from before the restart", got.ContainerID, long.ContainerID)
	}
	if n := testutil.CountContainers(t, dockerClient, runtime.LabelTaskID, long.TaskID); n != 1 {
		t.Errorf("containers of the long task = %d, want 1", n)
	}
	waitPod(t, lc.masterURLs[0], podID, "running", func(p types.Pod) bool { return p.Status == types.PodRunning })
	checkPodContainers(t, podID)
}

// checkPodContainers checks that the pod has one sandbox and one other
// container, both running.
func checkPodContainers(t *testing.T, podID string) {
	t.Helper()
	sandboxes, others := 0, 0
	for _, c := range listContainers(t, runtime.LabelPodID, podID) {
		if c.Labels[runtime.LabelRole] == runtime.RoleSandbox {
			sandboxes++
		} else {
			others++
		}
		if c.State != string(runtime.StateRunning) {
			t.Errorf("pod container %s is %s, want running", c.Names, c.State)
		}
	}
	if sandboxes != 1 || others != 1 {
		t.Errorf("pod %s has %d sandboxes and %d containers, want 1 and 1", podID, sandboxes, others)
	}
}

// taskContainer returns the only container of a task.
func taskContainer(t *testing.T, taskID string) container.Summary {
	t.Helper()
	list := listContainers(t, runtime.LabelTaskID, taskID)
	if len(list) != 1 {
		t.Fatalf("task %s has %d containers, want 1", taskID, len(list))
	}
	return list[0]
}

func listContainers(t *testing.T, key, value string) []container.Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := dockerClient.ContainerList(ctx, container.ListOptions{
		All: true, Filters: filters.NewArgs(filters.Arg("label", key+"="+value)),
	})
	if err != nil {
		t.Fatalf("list containers labelled %s=%s: %v", key, value, err)
	}
	return list
}
