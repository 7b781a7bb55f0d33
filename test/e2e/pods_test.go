package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/testutil"
	"github.com/podling/podling/internal/types"
)

func createPod(t *testing.T, url string, req types.CreatePodRequest) types.Pod {
	t.Helper()
	status, body, err := postJSON(url+"/api/v1/pods", req)
	if err != nil || status != http.StatusCreated {
		t.Fatalf("create pod via %s: status %d, error %v, body %s", url, status, err, body)
	}
	var pod types.Pod
	if err := json.Unmarshal(body, &pod); err != nil {
		t.Fatalf("decode created pod %s: %v", body, err)
	}
	return pod
}

// waitPod polls a pod on one master until done accepts it.
func waitPod(t *testing.T, url, podID, what string, done func(types.Pod) bool) types.Pod {
	t.Helper()
	var pod types.Pod
	poll(t, 60*time.Second, "pod "+podID+" "+what, func() bool {
		return getJSON(url+"/api/v1/pods/"+podID, &pod) == http.StatusOK && done(pod)
	})
	return pod
}

func waitEndpoints(t *testing.T, url, serviceID, what string, done func(types.Endpoints) bool) types.Endpoints {
	t.Helper()
	var ep types.Endpoints
	poll(t, 60*time.Second, "endpoints of "+serviceID+" "+what, func() bool {
		return getJSON(url+"/api/v1/services/"+serviceID+"/endpoints", &ep) == http.StatusOK && done(ep)
	})
	return ep
}

func TestE2E_PodsAndServicesOnDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	dockerClient = testutil.RequireDocker(t)
	imgs := buildImages(t)
	lc := startLocalCluster(t, buildBinaries(t), imgs.pause)

	t.Run("sidecar reaches its neighbour on localhost", func(t *testing.T) {
		pod := createPod(t, lc.masterURLs[1], types.CreatePodRequest{
			Name: "sidecar", RestartPolicy: types.RestartNever,
			Containers: []types.Container{
				{Name: "server", Image: imgs.echo, Env: map[string]string{"ECHO_SERVE_FOR": "4s"}},
				{Name: "client", Image: imgs.echo, Args: []string{"-get", "http://localhost:8080/from-sidecar"}},
			},
		})
		got := waitPod(t, lc.masterURLs[2], pod.PodID, "to finish", func(p types.Pod) bool { return p.Status.Terminal() })
		if got.Status != types.PodSucceeded {
			t.Fatalf("pod ended %s (%s: %s), want succeeded; containers %+v", got.Status, got.Reason, got.Message, got.ContainerStatuses)
		}
		for _, c := range got.ContainerStatuses {
			if c.State != types.ContainerTerminated || c.ExitCode == nil || *c.ExitCode != 0 {
				t.Errorf("container %s: state %s exit %v, want terminated with 0", c.Name, c.State, c.ExitCode)
			}
		}
		if got.PodIP == "" {
			t.Error("pod has no IP")
		}
	})

	t.Run("failing container under Never fails the pod", func(t *testing.T) {
		pod := createPod(t, lc.masterURLs[0], types.CreatePodRequest{
			Name: "exits-one", RestartPolicy: types.RestartNever,
			Containers: []types.Container{{Name: "app", Image: imgs.echo, Env: map[string]string{"ECHO_EXIT_CODE": "1"}}},
		})
		got := waitPod(t, lc.masterURLs[0], pod.PodID, "to finish", func(p types.Pod) bool { return p.Status.Terminal() })
		if got.Status != types.PodFailed {
			t.Fatalf("pod ended %s, want failed", got.Status)
		}
		if len(got.ContainerStatuses) != 1 || got.ContainerStatuses[0].ExitCode == nil || *got.ContainerStatuses[0].ExitCode != 1 {
			t.Errorf("container statuses %+v, want one with exit code 1", got.ContainerStatuses)
		}
	})

	t.Run("service endpoints follow a pod", func(t *testing.T) {
		testServiceLifecycle(t, lc, imgs)
	})

	t.Run("pod larger than any node stays pending", func(t *testing.T) {
		pod := createPod(t, lc.masterURLs[0], types.CreatePodRequest{
			Name: "too-big",
			Containers: []types.Container{{Name: "app", Image: imgs.echo,
				Resources: types.Resources{Requests: types.ResourceList{MemoryBytes: 1 << 50}}}},
		})
		got := waitPod(t, lc.masterURLs[2], pod.PodID, "to be marked unschedulable", func(p types.Pod) bool {
			return p.Reason == types.ReasonUnschedulable
		})
		if got.Status != types.PodPending || !strings.Contains(got.Message, "memory") {
			t.Errorf("pod %s with message %q, want pending with a message about memory", got.Status, got.Message)
		}
	})
}

// testServiceLifecycle runs an echo pod behind a service, reaches it from a
// task through the endpoint, fails its readiness, reads its logs through a
// master and deletes it.
func testServiceLifecycle(t *testing.T, lc *localCluster, imgs images) {
	pod := createPod(t, lc.masterURLs[0], types.CreatePodRequest{
		Name: "web", Labels: map[string]string{"app": "web"},
		Containers: []types.Container{{
			Name: "echo", Image: imgs.echo, Ports: []types.ContainerPort{{ContainerPort: 8080}},
			ReadinessProbe: &types.Probe{HTTPGet: &types.HTTPGetAction{Path: "/healthz", Port: 8080}, PeriodSeconds: 1, FailureThreshold: 1},
		}},
	})
	status, body, err := postJSON(lc.masterURLs[1]+"/api/v1/services", types.CreateServiceRequest{
		Name: "web-service", Selector: map[string]string{"app": "web"},
		Ports: []types.ServicePort{{Name: "http", Port: 80, TargetPort: 8080}},
	})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("create service: status %d, error %v, body %s", status, err, body)
	}
	var svc types.Service
	if err := json.Unmarshal(body, &svc); err != nil {
		t.Fatalf("decode service %s: %v", body, err)
	}

	ready := waitEndpoints(t, lc.masterURLs[2], svc.ServiceID, "to list the pod as ready", func(e types.Endpoints) bool {
		return len(e.Addresses) == 1
	})
	address := ready.Addresses[0].Address
	if ready.Addresses[0].PodID != pod.PodID || !strings.HasSuffix(address, ":8080") {
		t.Fatalf("endpoint %+v, want pod %s on port 8080", ready.Addresses[0], pod.PodID)
	}

	caller := submitTask(t, lc.masterURLs[0], types.CreateTaskRequest{
		Name: "calls-service", Image: imgs.echo, Env: map[string]string{"ECHO_GET": "http://" + address + "/through-service"},
	})
	if got := waitFinal(t, lc.masterURLs[0], caller.TaskID); got.Status != types.TaskCompleted {
		t.Errorf("task calling %s ended %s (%s), want completed", address, got.Status, got.Message)
	}

	checkPodLogs(t, lc, pod.PodID, "/through-service")
	failReadiness(t, address)
	waitEndpoints(t, lc.masterURLs[1], svc.ServiceID, "to move the pod to not ready", func(e types.Endpoints) bool {
		return len(e.Addresses) == 0 && len(e.NotReadyAddresses) == 1
	})

	req, _ := http.NewRequest(http.MethodDelete, lc.masterURLs[2]+"/api/v1/pods/"+pod.PodID, nil)
	resp, err := httpClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("delete pod: %v %v", resp, err)
	}
	resp.Body.Close()
	waitEndpoints(t, lc.masterURLs[0], svc.ServiceID, "to be empty", func(e types.Endpoints) bool {
		return len(e.Addresses) == 0 && len(e.NotReadyAddresses) == 0
	})
	if n := testutil.CountContainers(t, dockerClient, runtime.LabelPodID, pod.PodID); n != 0 {
		t.Errorf("%d containers with the pod's label remain after delete, want 0", n)
	}
}

// checkPodLogs reads the pod's logs through a master, which relays them
// from the worker, and looks for a request the echo server logged.
func checkPodLogs(t *testing.T, lc *localCluster, podID, want string) {
	t.Helper()
	resp, err := httpClient.Get(lc.masterURLs[1] + "/api/v1/pods/" + podID + "/logs?tail=50")
	if err != nil {
		t.Fatalf("get pod logs: %v", err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(text), want) {
		t.Errorf("pod logs through a master: status %d, body %q, want 200 mentioning %s", resp.StatusCode, text, want)
	}
}

// failReadiness makes the echo server's /healthz fail from now on. The
// test runs on the worker's host, which reaches pod IPs directly.
func failReadiness(t *testing.T, address string) {
	t.Helper()
	resp, err := httpClient.Post("http://"+address+"/fail", "text/plain", nil)
	if err != nil {
		t.Fatalf("POST /fail to %s: %v", address, err)
	}
	resp.Body.Close()
}
