package master

import (
	"net/http"
	"testing"
	"time"

	"github.com/podling/podling/internal/api"
	"github.com/podling/podling/internal/types"
)

func createPod(t *testing.T, url string, req types.CreatePodRequest) types.Pod {
	t.Helper()
	res := call(t, http.MethodPost, url+"/api/v1/pods", req)
	if res.status != http.StatusCreated {
		t.Fatalf("create pod: status %d, body %s", res.status, res.body)
	}
	return decode[types.Pod](t, res)
}

func waitPod(t *testing.T, url, podID string, done func(types.Pod) bool) types.Pod {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var pod types.Pod
	for time.Now().Before(deadline) {
		res := call(t, http.MethodGet, url+"/api/v1/pods/"+podID, nil)
		if res.status == http.StatusOK {
			if pod = decode[types.Pod](t, res); done(pod) {
				return pod
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("pod %s did not reach the expected state within 10s; last %+v", podID, pod)
	return pod
}

func TestDrain_MovesPodsAndCordonsNode(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	url := tc.url(leader)
	first := newStubWorker(t)
	first.register(t, url, "stub-1")
	container := []types.Container{{Name: "app", Image: "podling/echo:dev"}}
	moving := createPod(t, url, types.CreatePodRequest{Name: "moves", Containers: container})
	staying := createPod(t, url, types.CreatePodRequest{Name: "stays", RestartPolicy: types.RestartNever, Containers: container})
	for _, id := range []string{moving.PodID, staying.PodID} {
		waitPod(t, url, id, func(p types.Pod) bool { return p.NodeID == "stub-1" })
	}
	second := newStubWorker(t)
	second.register(t, url, "stub-2")

	res := call(t, http.MethodPost, url+"/api/v1/nodes/stub-1/drain", nil)
	if res.status != http.StatusOK {
		t.Fatalf("drain: status %d, body %s", res.status, res.body)
	}
	result := decode[api.DrainResult](t, res)

	if !result.Node.Unschedulable || result.Node.CordonReason != types.ReasonDrained {
		t.Errorf("drained node unschedulable=%v reason=%q, want true and %s", result.Node.Unschedulable, result.Node.CordonReason, types.ReasonDrained)
	}
	if len(result.MovedPods) != 1 || result.MovedPods[0] != moving.PodID {
		t.Errorf("moved pods = %v, want [%s]", result.MovedPods, moving.PodID)
	}
	if len(result.KeptPods) != 1 || result.KeptPods[0] != staying.PodID {
		t.Errorf("kept pods = %v, want [%s] (restartPolicy Never)", result.KeptPods, staying.PodID)
	}
	waitPod(t, url, moving.PodID, func(p types.Pod) bool { return p.NodeID == "stub-2" })
	first.mu.Lock()
	deletes := append([]string(nil), first.deletes...)
	first.mu.Unlock()
	if len(deletes) != 1 || deletes[0] != "/api/v1/pods/"+moving.PodID {
		t.Errorf("DELETE calls on the drained worker = %v, want one for %s", deletes, moving.PodID)
	}

	// A new pod must not land on the cordoned node.
	later := createPod(t, url, types.CreatePodRequest{Name: "later", Containers: container})
	if got := waitPod(t, url, later.PodID, func(p types.Pod) bool { return p.NodeID != "" }); got.NodeID != "stub-2" {
		t.Errorf("pod created after the drain placed on %s, want stub-2", got.NodeID)
	}
}

func TestLeave_RegisteringAgainUncordons(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	url := tc.url(leader)
	worker := newStubWorker(t)
	worker.register(t, url, "stub-1")

	res := call(t, http.MethodPost, url+"/api/v1/nodes/stub-1/leave", nil)
	if node := decode[types.Node](t, res); res.status != http.StatusOK || !node.Unschedulable {
		t.Fatalf("leave: status %d, unschedulable %v, want 200 and true", res.status, node.Unschedulable)
	}
	worker.register(t, url, "stub-1")
	res = call(t, http.MethodGet, url+"/api/v1/nodes", nil)
	for _, n := range decode[[]types.Node](t, res) {
		if n.NodeID == "stub-1" && n.Unschedulable {
			t.Errorf("node is still unschedulable after its worker registered again")
		}
	}
}
