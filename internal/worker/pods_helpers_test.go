package worker

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/podling/podling/internal/types"
)

const testPodID = "20250119123456-pod00001"

// testPod returns a pod with one container per name, each running
// testImage.
func testPod(id string, policy types.RestartPolicy, names ...string) types.Pod {
	pod := types.Pod{PodID: id, Name: "web", Namespace: types.DefaultNamespace, RestartPolicy: policy, Status: types.PodScheduled}
	for _, name := range names {
		pod.Containers = append(pod.Containers, types.Container{Name: name, Image: testImage})
	}
	return pod
}

// executePod dispatches a pod with a term and decodes a successful response.
func (tw *testWorker) executePod(t *testing.T, pod types.Pod, term uint64) (int, podExecuteResponse) {
	t.Helper()
	body, err := json.Marshal(types.PodExecuteRequest{Pod: pod, Term: term, Index: 7})
	if err != nil {
		t.Fatalf("encode pod: %v", err)
	}
	status, data := tw.do(t, http.MethodPost, "/api/v1/pods/"+pod.PodID+"/execute", body)
	var resp podExecuteResponse
	if status == http.StatusOK || status == http.StatusAccepted {
		if err := json.Unmarshal(data, &resp); err != nil {
			t.Fatalf("decode pod execute response %q: %v", data, err)
		}
	}
	return status, resp
}

// podStatus returns the worker's status of a pod, which must exist.
func (tw *testWorker) podStatus(t *testing.T, podID string) types.PodStatusReport {
	t.Helper()
	code, data := tw.do(t, http.MethodGet, "/api/v1/pods/"+podID+"/status", nil)
	if code != http.StatusOK {
		t.Fatalf("status of pod %s: HTTP %d: %s", podID, code, data)
	}
	var report types.PodStatusReport
	if err := json.Unmarshal(data, &report); err != nil {
		t.Fatalf("decode pod status %q: %v", data, err)
	}
	return report
}

// deletePod deletes a pod and returns the number of containers removed.
func (tw *testWorker) deletePod(t *testing.T, podID string) int {
	t.Helper()
	code, data := tw.do(t, http.MethodDelete, "/api/v1/pods/"+podID, nil)
	var resp podDeleteResponse
	if err := json.Unmarshal(data, &resp); err != nil || code != http.StatusOK || resp.PodID != podID {
		t.Fatalf("delete pod %s = HTTP %d %s, want 200 with the pod ID", podID, code, data)
	}
	return resp.Removed
}

// waitForPod waits until the worker's status of the pod satisfies cond and
// returns that status. It allows 30 seconds, enough for probes with a
// period of one second on a real container engine.
func (tw *testWorker) waitForPod(t *testing.T, podID, what string, cond func(types.PodStatusReport) bool) types.PodStatusReport {
	t.Helper()
	var last types.PodStatusReport
	waitForWithin(t, fmt.Sprintf("pod %s: %s", podID, what), 30*time.Second, func() bool {
		last = tw.podStatus(t, podID)
		return cond(last)
	})
	return last
}

// phaseIs returns a condition on the pod's phase.
func phaseIs(phase types.PodStatus) func(types.PodStatusReport) bool {
	return func(r types.PodStatusReport) bool { return r.Status == phase }
}

// containerStatus returns the status of the container called name.
func containerStatus(t *testing.T, r types.PodStatusReport, name string) types.ContainerStatus {
	t.Helper()
	for _, c := range r.ContainerStatuses {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("report %+v has no status for container %s", r, name)
	return types.ContainerStatus{}
}

// restartedOnce reports whether the container has restarted at least once
// and runs again.
func restartedOnce(name string) func(types.PodStatusReport) bool {
	return func(r types.PodStatusReport) bool {
		for _, c := range r.ContainerStatuses {
			if c.Name == name {
				return c.RestartCount >= 1 && c.State == types.ContainerRunning
			}
		}
		return false
	}
}

func intPtr(n int) *int { return &n }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	return string(data)
}
