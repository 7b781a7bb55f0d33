package worker

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/runtime/docker"
	"github.com/podling/podling/internal/testutil"
	"github.com/podling/podling/internal/types"
)

// dockerEnv holds what the subtests of TestDockerPods share: images built
// from this repository under random tags, a network of their own and a
// stub master.
type dockerEnv struct {
	cli     *client.Client
	echo    string
	pause   string
	nodeID  string
	network string
	master  *stubMaster
}

// TestDockerPods runs pods on the real Docker engine through the worker
// API, with the docker runtime.
func TestDockerPods(t *testing.T) {
	cli := testutil.RequireDocker(t)
	suffix := testutil.RandomSuffix(t)
	e := &dockerEnv{
		cli:     cli,
		echo:    "podling/echo:test-" + suffix,
		pause:   "podling/pause:test-" + suffix,
		nodeID:  "test-node-" + suffix,
		network: testutil.NetworkName(t, cli),
		master:  newStubMaster(t),
	}
	testutil.BuildGoImage(t, cli, "github.com/podling/podling/cmd/podling-echo", e.echo)
	testutil.BuildGoImage(t, cli, "github.com/podling/podling/cmd/podling-pause", e.pause)
	testutil.RemoveContainersAtCleanup(t, cli, runtime.LabelNodeID, e.nodeID)

	t.Run("ContainersShareLocalhost", e.testShareLocalhost)
	t.Run("ReadinessFailsAfterFail", e.testReadiness)
	t.Run("LivenessFailureRestarts", e.testLiveness)
	t.Run("DeleteRemovesEveryContainer", e.testDelete)
	t.Run("RestartAdoptsPod", e.testAdoption)
	t.Run("MissingPauseImageFailsPod", e.testMissingPause)
	t.Run("TaskJoinsPodNetwork", e.testTaskNetwork)
}

// startWorker starts a worker for the test node with the docker runtime.
func (e *dockerEnv) startWorker(t *testing.T, pauseImage string) *testWorker {
	t.Helper()
	rt := docker.New(e.cli, docker.Options{NodeID: e.nodeID, Network: e.network})
	cfg := testConfig(t, rt, e.master.URL())
	cfg.NodeID = e.nodeID
	cfg.PauseImage = pauseImage
	return startWorkerWith(t, cfg)
}

func (e *dockerEnv) newPod(t *testing.T, policy types.RestartPolicy, containers ...types.Container) types.Pod {
	pod := types.Pod{PodID: "20250119123456-" + testutil.RandomSuffix(t), Name: "test", RestartPolicy: policy, Containers: containers}
	return pod
}

// server returns an echo server container listening on port 8080.
func (e *dockerEnv) server(name string) types.Container {
	return types.Container{Name: name, Image: e.echo, Resources: types.Resources{
		Limits: types.ResourceList{CPUMillis: 250, MemoryBytes: 64 << 20},
	}}
}

func (e *dockerEnv) testShareLocalhost(t *testing.T) {
	tw := e.startWorker(t, e.pause)
	client := types.Container{Name: "b", Image: e.echo, Args: []string{"-get", "http://localhost:8080/from-b"}}
	// Under OnFailure b runs again until a's server listens.
	pod := e.newPod(t, types.RestartOnFailure, e.server("a"), client)
	if status, _ := tw.executePod(t, pod, 1); status != http.StatusAccepted {
		t.Fatalf("execute = %d, want 202", status)
	}

	got := tw.waitForPod(t, pod.PodID, "b exited with 0", func(r types.PodStatusReport) bool {
		b := r.ContainerStatuses[1]
		return b.State == types.ContainerTerminated && b.ExitCode != nil && *b.ExitCode == 0
	})
	if got.Status != types.PodRunning || got.ContainerStatuses[0].State != types.ContainerRunning {
		t.Errorf("pod = %s with a %s, want running with a running", got.Status, got.ContainerStatuses[0].State)
	}
	if got.PodIP == "" {
		t.Fatalf("pod has no IP")
	}
	body := httpGet(t, "http://"+got.PodIP+":8080/from-host")
	if !strings.Contains(body, `"path":"/from-host"`) {
		t.Errorf("echo from the pod IP = %q, want the request described", body)
	}
}

func (e *dockerEnv) testReadiness(t *testing.T) {
	tw := e.startWorker(t, e.pause)
	server := e.server("app")
	server.ReadinessProbe = &types.Probe{
		HTTPGet: &types.HTTPGetAction{Path: "/healthz", Port: 8080}, PeriodSeconds: 1, FailureThreshold: 1,
	}
	pod := e.newPod(t, types.RestartAlways, server)
	tw.executePod(t, pod, 1)

	got := tw.waitForPod(t, pod.PodID, "ready", containerReady(true))
	httpPost(t, "http://"+got.PodIP+":8080/fail")
	got = tw.waitForPod(t, pod.PodID, "not ready", containerReady(false))
	if c := got.ContainerStatuses[0]; c.State != types.ContainerRunning || c.RestartCount != 0 {
		t.Errorf("container = %+v, want it still running, not restarted", c)
	}
}

func (e *dockerEnv) testLiveness(t *testing.T) {
	tw := e.startWorker(t, e.pause)
	server := e.server("app")
	server.LivenessProbe = &types.Probe{
		HTTPGet: &types.HTTPGetAction{Path: "/healthz", Port: 8080}, PeriodSeconds: 1, FailureThreshold: 2,
	}
	pod := e.newPod(t, types.RestartAlways, server)
	_, resp := tw.executePod(t, pod, 1)
	first := resp.ContainerStatuses[0].ContainerID
	waitForHTTPStatus(t, "http://"+resp.PodIP+":8080/healthz", http.StatusOK)

	httpPost(t, "http://"+resp.PodIP+":8080/fail")
	got := tw.waitForPod(t, pod.PodID, "a restart", restartedOnce("app"))
	if c := got.ContainerStatuses[0]; c.ContainerID == first {
		t.Errorf("restarted container has the old ID %s, want a new instance", first)
	}
	// The new instance starts healthy, so the pod keeps running.
	waitForHTTPStatus(t, "http://"+got.PodIP+":8080/healthz", http.StatusOK)
	if n := testutil.CountContainers(t, e.cli, runtime.LabelPodID, pod.PodID); n != 2 {
		t.Errorf("containers of the pod = %d, want the sandbox and one instance of app", n)
	}
}

func (e *dockerEnv) testDelete(t *testing.T) {
	tw := e.startWorker(t, e.pause)
	pod := e.newPod(t, types.RestartAlways, e.server("a"), types.Container{Name: "b", Image: e.echo, Args: []string{"-addr", ":8081"}})
	tw.executePod(t, pod, 1)
	tw.waitForPod(t, pod.PodID, "running", phaseIs(types.PodRunning))

	if n := tw.deletePod(t, pod.PodID); n != 3 {
		t.Errorf("delete removed %d containers, want 3", n)
	}
	if n := testutil.CountContainers(t, e.cli, runtime.LabelPodID, pod.PodID); n != 0 {
		t.Errorf("containers labelled with the pod after delete = %d, want 0", n)
	}
	if n := tw.deletePod(t, pod.PodID); n != 0 {
		t.Errorf("second delete removed %d containers, want 0", n)
	}
}

func (e *dockerEnv) testAdoption(t *testing.T) {
	first := e.startWorker(t, e.pause)
	pod := e.newPod(t, types.RestartAlways, e.server("app"))
	_, resp := first.executePod(t, pod, 1)
	first.waitForPod(t, pod.PodID, "running", phaseIs(types.PodRunning))
	first.stop()
	before := testutil.CountContainers(t, e.cli, runtime.LabelPodID, pod.PodID)

	second := e.startWorker(t, e.pause)
	got := second.podStatus(t, pod.PodID)
	if got.Status != types.PodRunning || got.PodIP != resp.PodIP {
		t.Errorf("adopted pod = %+v, want running at %s", got, resp.PodIP)
	}
	if id := got.ContainerStatuses[0].ContainerID; id != resp.ContainerStatuses[0].ContainerID {
		t.Errorf("adopted container = %s, want %s", id, resp.ContainerStatuses[0].ContainerID)
	}
	if status, again := second.executePod(t, pod, 1); status != http.StatusOK || again.Started {
		t.Errorf("execute after restart = %d %+v, want 200 and not started", status, again)
	}
	if n := testutil.CountContainers(t, e.cli, runtime.LabelPodID, pod.PodID); n != before || n != 2 {
		t.Errorf("containers of the pod after restart = %d, want the %d there were before", n, before)
	}
	second.deletePod(t, pod.PodID)
}

func (e *dockerEnv) testMissingPause(t *testing.T) {
	const missing = "127.0.0.1:1/podling/missing:never"
	tw := e.startWorker(t, missing)
	pod := e.newPod(t, types.RestartAlways, e.server("app"))

	_, resp := tw.executePod(t, pod, 1)
	if resp.Status != types.PodFailed || resp.Reason != types.ReasonImagePullFailed {
		t.Errorf("pod = %+v, want failed with ImagePullFailed", resp.PodStatusReport)
	}
	for _, want := range []string{missing, "make images"} {
		if !strings.Contains(resp.Message, want) {
			t.Errorf("message %q does not contain %q", resp.Message, want)
		}
	}
}

func (e *dockerEnv) testTaskNetwork(t *testing.T) {
	tw := e.startWorker(t, e.pause)
	taskID := "20250119123456-" + testutil.RandomSuffix(t)
	body := mustJSON(t, types.ExecuteRequest{Task: types.Task{TaskID: taskID, Name: "net", Image: e.echo}})
	if status, data := tw.do(t, http.MethodPost, "/api/v1/tasks/"+taskID+"/execute", []byte(body)); status != http.StatusAccepted {
		t.Fatalf("execute task = %d %s, want 202", status, data)
	}

	resp, err := e.cli.ContainerInspect(t.Context(), docker.ContainerName(taskID))
	if err != nil {
		t.Fatalf("inspect task container: %v", err)
	}
	endpoint := resp.NetworkSettings.Networks[e.network]
	if endpoint == nil || endpoint.IPAddress == "" {
		t.Fatalf("task container networks = %v, want an address on %s", resp.NetworkSettings.Networks, e.network)
	}
	waitForHTTPStatus(t, "http://"+endpoint.IPAddress+":8080/", http.StatusOK)
}

// httpGet returns the body of a GET request that must return 200.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response of GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s, want 200", url, resp.StatusCode, body)
	}
	return string(body)
}

func httpPost(t *testing.T, url string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Post(url, "text/plain", nil)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s = %d, want 200", url, resp.StatusCode)
	}
}

// waitForHTTPStatus polls url until it returns status.
func waitForHTTPStatus(t *testing.T, url string, status int) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	waitForWithin(t, "GET "+url, 30*time.Second, func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == status
	})
}
