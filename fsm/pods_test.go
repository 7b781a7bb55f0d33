package fsm

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podling/podling/internal/types"
)

// allPodStatuses lists the pod phases in lifecycle order.
var allPodStatuses = []types.PodStatus{
	types.PodPending,
	types.PodScheduled,
	types.PodRunning,
	types.PodSucceeded,
	types.PodFailed,
}

const gib = int64(1) << 30

// newTestPod returns a pod in the default namespace with one container
// named app, as the leader proposes it.
func newTestPod(id string, created time.Time) types.Pod {
	return types.Pod{
		PodID:         id,
		Name:          "name-" + id,
		Namespace:     types.DefaultNamespace,
		RestartPolicy: types.RestartAlways,
		Containers:    []types.Container{{Name: "app", Image: "registry.local/web:1.0"}},
		CreatedAt:     created,
	}
}

// withRequests returns p with its first container requesting cpu
// millicores and mem bytes.
func withRequests(p types.Pod, cpu, mem int64) types.Pod {
	p.Containers = slices.Clone(p.Containers)
	p.Containers[0].Resources.Requests = types.ResourceList{CPUMillis: cpu, MemoryBytes: mem}
	return p
}

// newResourceNode returns a node to register with the given slots and
// resources. Its allocatable resources default to the totals.
func newResourceNode(id string, capacity int, cpu, mem int64) types.Node {
	n := newTestNode(id)
	n.Capacity, n.CPUMillis, n.MemoryBytes = capacity, cpu, mem
	return n
}

// podResult returns the pod in an Apply result and fails the test if
// there is none.
func podResult(t testing.TB, res any) types.Pod {
	t.Helper()
	p, ok := res.(types.Pod)
	if !ok {
		t.Fatalf("expected a types.Pod result, got %T %s", res, show(res))
	}
	return p
}

func placePod(t testing.TB, f *FSM, id, node string, when time.Time) types.Pod {
	t.Helper()
	return podResult(t, mustApply(t, f, PlacePod{PodID: id, NodeID: node, Time: when}))
}

func reportPod(t testing.TB, f *FSM, id string, report types.PodStatusReport, when time.Time) types.Pod {
	t.Helper()
	return podResult(t, mustApply(t, f, UpdatePodStatus{PodID: id, Report: report, Time: when}))
}

// containerStatuses returns a running status for every container of p.
func containerStatuses(p types.Pod, ready bool) []types.ContainerStatus {
	out := make([]types.ContainerStatus, 0, len(p.Containers))
	for _, c := range p.Containers {
		out = append(out, types.ContainerStatus{Name: c.Name, ContainerID: "ctr-" + p.PodID + "-" + c.Name, State: types.ContainerRunning, Ready: ready})
	}
	return out
}

// addPod creates p, moves it to status on node, which must be online, and
// returns the stored pod. A running pod reports ready containers and an IP
// derived from the number of pods. A finished pod finishes after running.
func addPod(t testing.TB, f *FSM, p types.Pod, status types.PodStatus, node string) types.Pod {
	t.Helper()
	mustApply(t, f, CreatePod{Pod: p})
	when := p.CreatedAt
	if status != types.PodPending {
		placePod(t, f, p.PodID, node, when.Add(time.Second))
	}
	if status != types.PodPending && status != types.PodScheduled {
		ip := fmt.Sprintf("10.88.0.%d", len(f.Pods(PodFilter{}))+1)
		reportPod(t, f, p.PodID, types.PodStatusReport{
			Status: types.PodRunning, PodIP: ip, ContainerStatuses: containerStatuses(p, true), NodeID: node,
		}, when.Add(2*time.Second))
	}
	if status.Terminal() {
		reportPod(t, f, p.PodID, types.PodStatusReport{Status: status, NodeID: node}, when.Add(3*time.Second))
	}
	got, _ := f.Pod(p.PodID)
	if got.Status != status {
		t.Fatalf("addPod %s: expected status %s, got %s", p.PodID, status, got.Status)
	}
	return got
}

// checkRejected applies cmd and fails the test unless Apply rejects it
// with an error matching want and changes nothing but the applied index.
func checkRejected(t *testing.T, f *FSM, cmd Command, want error) {
	t.Helper()
	before := captureState(f)
	err := resultError(apply(t, f, cmd))
	if !errors.Is(err, want) {
		t.Errorf("apply %s: expected an error matching %q, got %v", cmd.Type(), want, err)
	}
	checkUnchangedExceptIndex(t, before, captureState(f))
}

func podIDs(pods []types.Pod) []string {
	out := make([]string, 0, len(pods))
	for _, p := range pods {
		out = append(out, p.PodID)
	}
	return out
}

func TestApply_CreatePod(t *testing.T) {
	f := New(nil)
	p := newTestPod("p1", at(10))
	p.Labels = map[string]string{"app": "web"}
	p.Annotations = map[string]string{"team": "core"}
	// A leader never proposes these, and Apply must not take them over.
	p.Status, p.NodeID, p.PodIP = types.PodRunning, "n1", "10.0.0.9"
	p.ContainerStatuses = containerStatuses(p, true)
	p.Reason, p.Message = "Forged", "should be dropped"
	p.UpdatedAt, p.StartedAt, p.FinishedAt = at(99), timePtr(at(98)), timePtr(at(99))

	got := podResult(t, mustApply(t, f, CreatePod{Pod: p}))

	want := types.Pod{
		PodID: "p1", Name: "name-p1", Namespace: types.DefaultNamespace,
		Labels: p.Labels, Annotations: p.Annotations, RestartPolicy: types.RestartAlways,
		Containers: p.Containers, Status: types.PodPending, CreatedAt: at(10), UpdatedAt: at(10),
	}
	if show(got) != show(want) {
		t.Errorf("result: expected %s, got %s", show(want), show(got))
	}
	if stored, ok := f.Pod("p1"); !ok || show(stored) != show(want) {
		t.Errorf("Pod(p1): expected %s, got %s (found %v)", show(want), show(stored), ok)
	}
}

func TestApply_CreatePodRejects(t *testing.T) {
	taken := newTestPod("p1", at(1))
	tests := []struct {
		name   string
		change func(p *types.Pod)
		want   error
	}{
		{"taken ID", func(p *types.Pod) { p.PodID = "p1" }, ErrAlreadyExists},
		{"taken name in the namespace", func(p *types.Pod) { p.Name = taken.Name }, ErrAlreadyExists},
		{"no ID", func(p *types.Pod) { p.PodID = "" }, ErrInvalidCommand},
		{"no name", func(p *types.Pod) { p.Name = "" }, ErrInvalidCommand},
		{"no namespace", func(p *types.Pod) { p.Namespace = "" }, ErrInvalidCommand},
		{"no containers", func(p *types.Pod) { p.Containers = nil }, ErrInvalidCommand},
		{"no restart policy", func(p *types.Pod) { p.RestartPolicy = "" }, ErrInvalidCommand},
		{"unknown restart policy", func(p *types.Pod) { p.RestartPolicy = "Sometimes" }, ErrInvalidCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			mustApply(t, f, CreatePod{Pod: taken})
			p := newTestPod("p2", at(2))
			tt.change(&p)

			checkRejected(t, f, CreatePod{Pod: p}, tt.want)
		})
	}
}

func TestApply_CreatePodSameNameOtherNamespace(t *testing.T) {
	f := New(nil)
	first := newTestPod("p1", at(1))
	second := newTestPod("p2", at(2))
	second.Name, second.Namespace = first.Name, "staging"

	mustApply(t, f, CreatePod{Pod: first})
	mustApply(t, f, CreatePod{Pod: second})

	if got := podIDs(f.Pods(PodFilter{})); !slices.Equal(got, []string{"p1", "p2"}) {
		t.Errorf("pods: expected [p1 p2], got %v", got)
	}
}

func TestApply_PlacePod(t *testing.T) {
	f := New(nil)
	mustApply(t, f, RegisterNode{Node: newResourceNode("n1", 4, 2000, 4*gib)})
	p := withRequests(newTestPod("p1", at(1)), 500, gib)
	mustApply(t, f, CreatePod{Pod: p})
	mustApply(t, f, MarkUnschedulable{PodID: "p1", Message: "no room", Time: at(2)})

	got := placePod(t, f, "p1", "n1", at(3))

	if got.Status != types.PodScheduled || got.NodeID != "n1" {
		t.Errorf("placed pod: expected scheduled on n1, got %s on %q", got.Status, got.NodeID)
	}
	if got.Reason != "" || got.Message != "" {
		t.Errorf("placed pod: expected the unschedulable reason cleared, got reason %q message %q", got.Reason, got.Message)
	}
	if !got.UpdatedAt.Equal(at(3)) {
		t.Errorf("placed pod: expected updatedAt %v, got %v", at(3), got.UpdatedAt)
	}
	node, _ := f.Node("n1")
	if want := (types.ResourceList{CPUMillis: 500, MemoryBytes: gib}); node.Used != want || node.RunningPods != 1 {
		t.Errorf("node n1: expected used %+v and 1 running pod, got used %+v and %d", want, node.Used, node.RunningPods)
	}
	if pods := podIDs(f.Pods(PodFilter{NodeID: "n1"})); !slices.Equal(pods, []string{"p1"}) {
		t.Errorf("pods on n1: expected [p1], got %v", pods)
	}
}

func TestApply_PlacePodRejects(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, f *FSM)
		cmd   PlacePod
		want  error
	}{
		{"unknown pod", nil, PlacePod{PodID: "p-missing", NodeID: "n1", Time: at(50)}, ErrNotFound},
		{"unknown node", nil, PlacePod{PodID: "p-new", NodeID: "n-missing", Time: at(50)}, ErrNotFound},
		{"offline node", func(t *testing.T, f *FSM) {
			setNodeStatus(t, f, "n1", types.NodeOffline, at(20))
		}, PlacePod{PodID: "p-new", NodeID: "n1", Time: at(50)}, ErrConflict},
		{"slots taken by tasks", func(t *testing.T, f *FSM) {
			addTask(t, f, "t1", at(20), types.TaskRunning, "n1")
			addTask(t, f, "t2", at(21), types.TaskScheduled, "n1")
		}, PlacePod{PodID: "p-new", NodeID: "n1", Time: at(50)}, ErrInsufficientResources},
		{"slots taken by a task and a pod", func(t *testing.T, f *FSM) {
			addTask(t, f, "t1", at(20), types.TaskRunning, "n1")
			addPod(t, f, newTestPod("p-old", at(21)), types.PodRunning, "n1")
		}, PlacePod{PodID: "p-new", NodeID: "n1", Time: at(50)}, ErrInsufficientResources},
		{"CPU request above free CPU", func(t *testing.T, f *FSM) {
			addPod(t, f, withRequests(newTestPod("p-old", at(20)), 1600, 0), types.PodScheduled, "n1")
		}, PlacePod{PodID: "p-new", NodeID: "n1", Time: at(50)}, ErrInsufficientResources},
		{"memory request above free memory", func(t *testing.T, f *FSM) {
			addPod(t, f, withRequests(newTestPod("p-old", at(20)), 0, 3*gib+1), types.PodRunning, "n1")
		}, PlacePod{PodID: "p-new", NodeID: "n1", Time: at(50)}, ErrInsufficientResources},
		{"placed pod to another node", func(t *testing.T, f *FSM) {
			mustApply(t, f, RegisterNode{Node: newResourceNode("n2", 2, 2000, 4*gib)})
			placePod(t, f, "p-new", "n2", at(30))
		}, PlacePod{PodID: "p-new", NodeID: "n1", Time: at(50)}, ErrIllegalTransition},
		{"finished pod to another node", func(t *testing.T, f *FSM) {
			mustApply(t, f, RegisterNode{Node: newResourceNode("n2", 2, 2000, 4*gib)})
			placePod(t, f, "p-new", "n2", at(30))
			reportPod(t, f, "p-new", types.PodStatusReport{Status: types.PodSucceeded}, at(31))
		}, PlacePod{PodID: "p-new", NodeID: "n1", Time: at(50)}, ErrIllegalTransition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			// n1 has two slots, 2000m CPU and 4 GiB; p-new requests 500m
			// and 1 GiB.
			mustApply(t, f, RegisterNode{Node: newResourceNode("n1", 2, 2000, 4*gib)})
			mustApply(t, f, CreatePod{Pod: withRequests(newTestPod("p-new", at(10)), 500, gib)})
			if tt.setup != nil {
				tt.setup(t, f)
			}

			checkRejected(t, f, tt.cmd, tt.want)
		})
	}
}

func TestApply_PlacePodFits(t *testing.T) {
	tests := []struct {
		name     string
		cpu, mem int64
	}{
		{"no requests", 0, 0},
		{"exactly the free resources", 1000, 2 * gib},
		{"CPU only", 1000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			mustApply(t, f, RegisterNode{Node: newResourceNode("n1", 4, 2000, 4*gib)})
			addPod(t, f, withRequests(newTestPod("p-old", at(1)), 1000, 2*gib), types.PodRunning, "n1")
			mustApply(t, f, CreatePod{Pod: withRequests(newTestPod("p-new", at(10)), tt.cpu, tt.mem)})

			got := placePod(t, f, "p-new", "n1", at(20))

			if got.Status != types.PodScheduled {
				t.Errorf("expected the pod scheduled, got %s", got.Status)
			}
		})
	}
}

func TestApply_PlacePodAgainOnSameNode(t *testing.T) {
	for _, status := range []types.PodStatus{types.PodScheduled, types.PodRunning, types.PodSucceeded} {
		t.Run(string(status), func(t *testing.T) {
			f := New(nil)
			registerNode(t, f, "n1")
			placed := addPod(t, f, newTestPod("p1", at(1)), status, "n1")
			before := captureState(f)

			got := podResult(t, mustApply(t, f, PlacePod{PodID: "p1", NodeID: "n1", Time: at(50)}))

			if show(got) != show(placed) {
				t.Errorf("result: expected the pod unchanged %s, got %s", show(placed), show(got))
			}
			checkUnchangedExceptIndex(t, before, captureState(f))
		})
	}
}

func TestApply_MarkUnschedulable(t *testing.T) {
	f := New(nil)
	mustApply(t, f, CreatePod{Pod: newTestPod("p1", at(1))})

	got := podResult(t, mustApply(t, f, MarkUnschedulable{PodID: "p1", Message: "no room", Time: at(2)}))
	if got.Status != types.PodPending || got.Reason != types.ReasonUnschedulable || got.Message != "no room" || !got.UpdatedAt.Equal(at(2)) {
		t.Errorf("first mark: expected pending, Unschedulable, \"no room\" at %v, got %s", at(2), show(got))
	}

	t.Run("same message again changes nothing", func(t *testing.T) {
		before := captureState(f)
		mustApply(t, f, MarkUnschedulable{PodID: "p1", Message: "no room", Time: at(3)})
		checkUnchangedExceptIndex(t, before, captureState(f))
	})
	t.Run("new message replaces the old", func(t *testing.T) {
		got := podResult(t, mustApply(t, f, MarkUnschedulable{PodID: "p1", Message: "still no room", Time: at(4)}))
		if got.Message != "still no room" || !got.UpdatedAt.Equal(at(4)) {
			t.Errorf("expected message \"still no room\" at %v, got %q at %v", at(4), got.Message, got.UpdatedAt)
		}
	})
	t.Run("placed pod is left alone", func(t *testing.T) {
		g := New(nil)
		registerNode(t, g, "n1")
		addPod(t, g, newTestPod("p2", at(1)), types.PodScheduled, "n1")
		before := captureState(g)
		mustApply(t, g, MarkUnschedulable{PodID: "p2", Message: "no room", Time: at(5)})
		checkUnchangedExceptIndex(t, before, captureState(g))
	})
	t.Run("unknown pod", func(t *testing.T) {
		checkRejected(t, f, MarkUnschedulable{PodID: "p-missing", Message: "x", Time: at(6)}, ErrNotFound)
	})
}

// podOutcome is what a status report does to a pod.
type podOutcome int

const (
	podApplied podOutcome = iota // the report is stored, in the phase given
	podStale                     // nothing changes and no error is returned
	podIllegal                   // ErrIllegalTransition and nothing changes
)

func TestApply_PodTransitions(t *testing.T) {
	tests := []struct {
		from   types.PodStatus
		report types.PodStatus
		want   podOutcome
		phase  types.PodStatus // the phase after an applied report
	}{
		{types.PodPending, types.PodPending, podIllegal, ""},
		{types.PodPending, types.PodScheduled, podIllegal, ""},
		{types.PodPending, types.PodRunning, podIllegal, ""},
		{types.PodPending, types.PodSucceeded, podIllegal, ""},
		{types.PodPending, types.PodFailed, podIllegal, ""},
		{types.PodPending, "paused", podIllegal, ""},

		// A worker reports pending while it still starts the containers.
		{types.PodScheduled, types.PodPending, podApplied, types.PodScheduled},
		{types.PodScheduled, types.PodScheduled, podApplied, types.PodScheduled},
		{types.PodScheduled, types.PodRunning, podApplied, types.PodRunning},
		{types.PodScheduled, types.PodSucceeded, podApplied, types.PodSucceeded},
		{types.PodScheduled, types.PodFailed, podApplied, types.PodFailed},
		{types.PodScheduled, "paused", podIllegal, ""},

		{types.PodRunning, types.PodPending, podStale, ""},
		{types.PodRunning, types.PodScheduled, podStale, ""},
		{types.PodRunning, types.PodRunning, podApplied, types.PodRunning},
		{types.PodRunning, types.PodSucceeded, podApplied, types.PodSucceeded},
		{types.PodRunning, types.PodFailed, podApplied, types.PodFailed},
		{types.PodRunning, "", podIllegal, ""},

		{types.PodSucceeded, types.PodPending, podStale, ""},
		{types.PodSucceeded, types.PodScheduled, podStale, ""},
		{types.PodSucceeded, types.PodRunning, podStale, ""},
		{types.PodSucceeded, types.PodSucceeded, podStale, ""},
		{types.PodSucceeded, types.PodFailed, podIllegal, ""},
		{types.PodSucceeded, "paused", podIllegal, ""},

		{types.PodFailed, types.PodPending, podStale, ""},
		{types.PodFailed, types.PodScheduled, podStale, ""},
		{types.PodFailed, types.PodRunning, podStale, ""},
		{types.PodFailed, types.PodSucceeded, podIllegal, ""},
		{types.PodFailed, types.PodFailed, podStale, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s to %q", tt.from, tt.report), func(t *testing.T) {
			f := New(nil)
			registerNode(t, f, "n1")
			p := addPod(t, f, newTestPod("p1", at(1)), tt.from, "n1")
			before := captureState(f)
			report := types.PodStatusReport{
				Status: tt.report, PodIP: "10.99.0.1", ContainerStatuses: containerStatuses(p, false),
			}

			res := apply(t, f, UpdatePodStatus{PodID: "p1", Report: report, Time: at(100)})

			err := resultError(res)
			switch tt.want {
			case podIllegal:
				var transition *PodTransitionError
				if !errors.Is(err, ErrIllegalTransition) || !errors.As(err, &transition) {
					t.Fatalf("expected a *PodTransitionError, got %v", err)
				}
				if transition.From != tt.from || transition.ID != "p1" {
					t.Errorf("error: expected pod p1 from %s, got %s from %s", tt.from, transition.ID, transition.From)
				}
				checkUnchangedExceptIndex(t, before, captureState(f))
			case podStale:
				if err != nil {
					t.Fatalf("expected a stale report to be a no-op, got %v", err)
				}
				if got := podResult(t, res); got.Status != tt.from {
					t.Errorf("result: expected the pod still %s, got %s", tt.from, got.Status)
				}
				checkUnchangedExceptIndex(t, before, captureState(f))
			case podApplied:
				if err != nil {
					t.Fatalf("expected the report applied, got %v", err)
				}
				got, _ := f.Pod("p1")
				if got.Status != tt.phase {
					t.Errorf("status: expected %s, got %s", tt.phase, got.Status)
				}
				if got.PodIP != "10.99.0.1" || show(got.ContainerStatuses) != show(report.ContainerStatuses) {
					t.Errorf("expected the report's IP and container statuses stored, got IP %q statuses %s", got.PodIP, show(got.ContainerStatuses))
				}
				if !got.UpdatedAt.Equal(at(100)) {
					t.Errorf("updatedAt: expected %v, got %v", at(100), got.UpdatedAt)
				}
			}
		})
	}
}

func TestApply_PodReportFromOtherNode(t *testing.T) {
	tests := []struct {
		name   string
		status types.PodStatus
	}{
		{"pending pod", types.PodPending},
		{"scheduled pod", types.PodScheduled},
		{"running pod", types.PodRunning},
		{"finished pod", types.PodSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			registerNode(t, f, "n1")
			registerNode(t, f, "n2")
			addPod(t, f, newTestPod("p1", at(1)), tt.status, "n1")

			report := types.PodStatusReport{Status: types.PodRunning, NodeID: "n2", PodIP: "10.99.0.2"}
			checkRejected(t, f, UpdatePodStatus{PodID: "p1", Report: report, Time: at(50)}, ErrConflict)
		})
	}
}

func TestApply_PodReportUnknownPod(t *testing.T) {
	f := New(nil)
	checkRejected(t, f, UpdatePodStatus{PodID: "p-missing", Report: types.PodStatusReport{Status: types.PodRunning}, Time: at(1)}, ErrNotFound)
}

func TestApply_PodReportFields(t *testing.T) {
	f := New(nil)
	registerNode(t, f, "n1")
	p := newTestPod("p1", at(1))
	p.Containers = append(p.Containers, types.Container{Name: "sidecar", Image: "registry.local/proxy:2"})
	addPod(t, f, p, types.PodScheduled, "n1")

	starting := reportPod(t, f, "p1", types.PodStatusReport{
		Status:            types.PodPending,
		ContainerStatuses: []types.ContainerStatus{{Name: "app", State: types.ContainerWaiting}, {Name: "sidecar", State: types.ContainerWaiting}},
		NodeID:            "n1",
	}, at(10))
	if starting.Status != types.PodScheduled || len(starting.ContainerStatuses) != 2 || starting.ContainerStatuses[0].State != types.ContainerWaiting {
		t.Errorf("worker pending: expected the pod still scheduled with two waiting containers, got %s", show(starting))
	}

	running := reportPod(t, f, "p1", types.PodStatusReport{
		Status: types.PodRunning, PodIP: "10.88.0.7", ContainerStatuses: containerStatuses(p, false), NodeID: "n1",
	}, at(20))
	if running.StartedAt == nil || !running.StartedAt.Equal(at(20)) || running.PodIP != "10.88.0.7" || running.Ready() {
		t.Errorf("first running report: expected startedAt %v, IP 10.88.0.7 and not ready, got %s", at(20), show(running))
	}

	ready := reportPod(t, f, "p1", types.PodStatusReport{
		Status: types.PodRunning, PodIP: "10.88.0.8", ContainerStatuses: containerStatuses(p, true),
	}, at(30))
	if !ready.StartedAt.Equal(at(20)) {
		t.Errorf("second running report: expected startedAt kept at %v, got %v", at(20), ready.StartedAt)
	}
	if ready.PodIP != "10.88.0.8" || !ready.Ready() || !ready.UpdatedAt.Equal(at(30)) {
		t.Errorf("second running report: expected IP 10.88.0.8, ready, updated at %v, got %s", at(30), show(ready))
	}

	// A report without an IP or container statuses keeps the stored ones.
	bare := reportPod(t, f, "p1", types.PodStatusReport{Status: types.PodRunning}, at(35))
	if bare.PodIP != "10.88.0.8" || !bare.Ready() {
		t.Errorf("bare report: expected IP and statuses kept, got %s", show(bare))
	}

	failed := reportPod(t, f, "p1", types.PodStatusReport{
		Status: types.PodFailed, Reason: types.ReasonContainerError, Message: "app exited with code 2",
	}, at(40))
	if failed.FinishedAt == nil || !failed.FinishedAt.Equal(at(40)) || failed.Reason != types.ReasonContainerError || failed.Message != "app exited with code 2" {
		t.Errorf("failed report: expected finishedAt %v with the reason and message, got %s", at(40), show(failed))
	}
	if node, _ := f.Node("n1"); node.RunningPods != 0 {
		t.Errorf("node n1 after the pod failed: expected 0 running pods, got %d", node.RunningPods)
	}
}

func TestApply_PodFinishesWithoutRunning(t *testing.T) {
	f := New(nil)
	registerNode(t, f, "n1")
	addPod(t, f, newTestPod("p1", at(1)), types.PodScheduled, "n1")

	got := reportPod(t, f, "p1", types.PodStatusReport{Status: types.PodSucceeded}, at(5))

	if got.StartedAt != nil || got.FinishedAt == nil || !got.FinishedAt.Equal(at(5)) {
		t.Errorf("expected no startedAt and finishedAt %v, got startedAt %v finishedAt %v", at(5), got.StartedAt, got.FinishedAt)
	}
}

func TestApply_DeletePod(t *testing.T) {
	f := New(nil)
	mustApply(t, f, RegisterNode{Node: newResourceNode("n1", 2, 2000, 4*gib)})
	addPod(t, f, withRequests(newTestPod("p1", at(1)), 500, gib), types.PodRunning, "n1")
	addPod(t, f, withRequests(newTestPod("p2", at(2)), 1500, 3*gib), types.PodRunning, "n1")
	mustApply(t, f, CreatePod{Pod: withRequests(newTestPod("p3", at(3)), 1000, gib)})
	checkRejected(t, f, PlacePod{PodID: "p3", NodeID: "n1", Time: at(4)}, ErrInsufficientResources)

	deleted := podResult(t, mustApply(t, f, DeletePod{PodID: "p2"}))

	if deleted.PodID != "p2" || deleted.Status != types.PodRunning {
		t.Errorf("result: expected the deleted pod p2 as it was, got %s", show(deleted))
	}
	if _, ok := f.Pod("p2"); ok {
		t.Error("Pod(p2): expected not found after delete, got found")
	}
	if got := podIDs(f.Pods(PodFilter{})); !slices.Equal(got, []string{"p1", "p3"}) {
		t.Errorf("pods: expected [p1 p3], got %v", got)
	}
	node, _ := f.Node("n1")
	if want := (types.ResourceList{CPUMillis: 500, MemoryBytes: gib}); node.Used != want || node.RunningPods != 1 {
		t.Errorf("node n1: expected used %+v and 1 running pod, got used %+v and %d", want, node.Used, node.RunningPods)
	}
	// The freed slot and resources take p3 now.
	placePod(t, f, "p3", "n1", at(5))
	// The name is free again.
	again := newTestPod("p2-new", at(6))
	again.Name = "name-p2"
	mustApply(t, f, CreatePod{Pod: again})

	t.Run("unknown pod", func(t *testing.T) {
		checkRejected(t, f, DeletePod{PodID: "p2"}, ErrNotFound)
	})
}

func TestApply_NodeLostReleasesPods(t *testing.T) {
	f := New(nil)
	mustApply(t, f, RegisterNode{Node: newResourceNode("n1", 8, 4000, 8*gib)})
	mustApply(t, f, RegisterNode{Node: newResourceNode("n2", 8, 4000, 8*gib)})
	always := newTestPod("p-always", at(1))
	onFailure := newTestPod("p-onfailure", at(2))
	onFailure.RestartPolicy = types.RestartOnFailure
	never := newTestPod("p-never", at(3))
	never.RestartPolicy = types.RestartNever
	addPod(t, f, withRequests(always, 100, gib), types.PodRunning, "n1")
	addPod(t, f, withRequests(onFailure, 200, gib), types.PodScheduled, "n1")
	addPod(t, f, withRequests(never, 300, gib), types.PodRunning, "n1")
	done := addPod(t, f, newTestPod("p-done", at(4)), types.PodSucceeded, "n1")
	elsewhere := addPod(t, f, newTestPod("p-elsewhere", at(5)), types.PodRunning, "n2")
	waiting := addPod(t, f, newTestPod("p-waiting", at(6)), types.PodPending, "")

	setNodeStatus(t, f, "n1", types.NodeOffline, at(100))

	for _, id := range []string{"p-always", "p-onfailure"} {
		got, _ := f.Pod(id)
		if got.Status != types.PodPending || got.Reason != types.ReasonNodeLost || !got.UpdatedAt.Equal(at(100)) {
			t.Errorf("%s: expected pending with reason NodeLost at %v, got %s", id, at(100), show(got))
		}
		if got.NodeID != "" || got.PodIP != "" || got.ContainerStatuses != nil {
			t.Errorf("%s: expected node, IP and container statuses cleared, got node %q IP %q statuses %s", id, got.NodeID, got.PodIP, show(got.ContainerStatuses))
		}
		if !strings.Contains(got.Message, "n1") {
			t.Errorf("%s: expected a message naming node n1, got %q", id, got.Message)
		}
	}
	gotNever, _ := f.Pod("p-never")
	if gotNever.Status != types.PodFailed || gotNever.Reason != types.ReasonNodeLost || gotNever.FinishedAt == nil || !gotNever.FinishedAt.Equal(at(100)) {
		t.Errorf("p-never: expected failed with reason NodeLost, finished at %v, got %s", at(100), show(gotNever))
	}
	for _, want := range []types.Pod{done, elsewhere, waiting} {
		if got, _ := f.Pod(want.PodID); show(got) != show(want) {
			t.Errorf("%s: expected unchanged %s, got %s", want.PodID, show(want), show(got))
		}
	}
	if node, _ := f.Node("n1"); node.RunningPods != 0 || node.Used != (types.ResourceList{}) {
		t.Errorf("node n1: expected no running pods and nothing used, got %d pods and %+v", node.RunningPods, node.Used)
	}
	if got := podIDs(f.Pods(PodFilter{Status: types.PodPending})); !slices.Equal(got, []string{"p-always", "p-onfailure", "p-waiting"}) {
		t.Errorf("pending pods: expected [p-always p-onfailure p-waiting], got %v", got)
	}
	// Released pods can be placed elsewhere, and the lost node's late
	// reports no longer apply to them.
	placePod(t, f, "p-always", "n2", at(101))
	checkRejected(t, f, UpdatePodStatus{PodID: "p-always", Report: types.PodStatusReport{Status: types.PodRunning, NodeID: "n1"}, Time: at(102)}, ErrConflict)
}

func TestNode_PodViews(t *testing.T) {
	f := New(nil)
	mustApply(t, f, RegisterNode{Node: newResourceNode("n-default", 4, 2000, 4*gib)})
	explicit := newResourceNode("n-explicit", 4, 2000, 4*gib)
	explicit.Allocatable = types.ResourceList{CPUMillis: 1500, MemoryBytes: 3 * gib}
	mustApply(t, f, RegisterNode{Node: explicit})
	mustApply(t, f, RegisterNode{Node: newTestNode("n-unsized")})
	addPod(t, f, withRequests(newTestPod("p1", at(1)), 250, gib), types.PodRunning, "n-default")
	addPod(t, f, withRequests(newTestPod("p2", at(2)), 500, 2*gib), types.PodScheduled, "n-default")
	addPod(t, f, withRequests(newTestPod("p3", at(3)), 1000, gib), types.PodSucceeded, "n-default")
	addPod(t, f, withRequests(newTestPod("p4", at(4)), 100, 0), types.PodFailed, "n-explicit")
	addPod(t, f, newTestPod("p5", at(5)), types.PodRunning, "n-unsized")
	addTask(t, f, "t1", at(6), types.TaskRunning, "n-default")

	tests := []struct {
		node        string
		allocatable types.ResourceList
		used        types.ResourceList
		pods, tasks int
	}{
		{"n-default", types.ResourceList{CPUMillis: 2000, MemoryBytes: 4 * gib}, types.ResourceList{CPUMillis: 750, MemoryBytes: 3 * gib}, 2, 1},
		{"n-explicit", types.ResourceList{CPUMillis: 1500, MemoryBytes: 3 * gib}, types.ResourceList{}, 0, 0},
		{"n-unsized", types.ResourceList{}, types.ResourceList{}, 1, 0},
	}
	nodes := f.Nodes()
	for i, tt := range tests {
		t.Run(tt.node, func(t *testing.T) {
			got, ok := f.Node(tt.node)
			if !ok {
				t.Fatalf("Node(%s): expected found, got not found", tt.node)
			}
			if got.Allocatable != tt.allocatable || got.Used != tt.used || got.RunningPods != tt.pods || got.RunningTasks != tt.tasks {
				t.Errorf("expected allocatable %+v, used %+v, %d pods, %d tasks; got allocatable %+v, used %+v, %d pods, %d tasks",
					tt.allocatable, tt.used, tt.pods, tt.tasks, got.Allocatable, got.Used, got.RunningPods, got.RunningTasks)
			}
			if show(nodes[i]) != show(got) {
				t.Errorf("Nodes()[%d]: expected the same view as Node, %s, got %s", i, show(got), show(nodes[i]))
			}
			if want := (types.ResourceList{CPUMillis: tt.allocatable.CPUMillis - tt.used.CPUMillis, MemoryBytes: tt.allocatable.MemoryBytes - tt.used.MemoryBytes}); FreeResources(got) != want {
				t.Errorf("FreeResources: expected %+v, got %+v", want, FreeResources(got))
			}
		})
	}

	t.Run("registering again keeps the derived fields", func(t *testing.T) {
		again := newResourceNode("n-default", 6, 2000, 4*gib)
		again.Used = types.ResourceList{CPUMillis: 99999}
		again.RunningPods = 42
		got := mustApply(t, f, RegisterNode{Node: again}).(types.Node)
		if got.Used != tests[0].used || got.RunningPods != 2 || got.Capacity != 6 {
			t.Errorf("expected used %+v, 2 pods and capacity 6, got %+v, %d pods and capacity %d", tests[0].used, got.Used, got.RunningPods, got.Capacity)
		}
	})
}

func TestPods_Filters(t *testing.T) {
	f := New(nil)
	registerNode(t, f, "n1")
	registerNode(t, f, "n2")
	web := newTestPod("p-web", at(1))
	web.Labels = map[string]string{"app": "web", "tier": "front"}
	webStaging := newTestPod("p-web-staging", at(2))
	webStaging.Namespace, webStaging.Labels = "staging", map[string]string{"app": "web", "tier": "front"}
	api := newTestPod("p-api", at(3))
	api.Labels = map[string]string{"app": "api"}
	batch := newTestPod("p-batch", at(4))
	addPod(t, f, web, types.PodRunning, "n1")
	addPod(t, f, webStaging, types.PodScheduled, "n2")
	addPod(t, f, api, types.PodPending, "")
	addPod(t, f, batch, types.PodSucceeded, "n1")

	tests := []struct {
		name   string
		filter PodFilter
		want   []string
	}{
		{"everything in creation order", PodFilter{}, []string{"p-web", "p-web-staging", "p-api", "p-batch"}},
		{"namespace", PodFilter{Namespace: "staging"}, []string{"p-web-staging"}},
		{"unknown namespace", PodFilter{Namespace: "nowhere"}, []string{}},
		{"one label", PodFilter{Labels: map[string]string{"app": "web"}}, []string{"p-web", "p-web-staging"}},
		{"every label must match", PodFilter{Labels: map[string]string{"app": "web", "tier": "back"}}, []string{}},
		{"two labels", PodFilter{Labels: map[string]string{"app": "web", "tier": "front"}}, []string{"p-web", "p-web-staging"}},
		{"status", PodFilter{Status: types.PodPending}, []string{"p-api"}},
		{"node", PodFilter{NodeID: "n1"}, []string{"p-web", "p-batch"}},
		{"status and node", PodFilter{Status: types.PodRunning, NodeID: "n1"}, []string{"p-web"}},
		{"namespace and labels", PodFilter{Namespace: types.DefaultNamespace, Labels: map[string]string{"app": "web"}}, []string{"p-web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.Pods(tt.filter)
			if got == nil {
				t.Fatal("expected a non-nil slice, got nil")
			}
			if ids := podIDs(got); !slices.Equal(ids, tt.want) {
				t.Errorf("expected %v, got %v", tt.want, ids)
			}
		})
	}
}

// populatedWithPods returns populated's FSM with pods in every phase, some
// deleted, resources used on a node, and services.
func populatedWithPods(t *testing.T) *FSM {
	t.Helper()
	f := populated(t)
	mustApply(t, f, RegisterNode{Node: newResourceNode("n-big", 8, 4000, 8*gib)})
	for i, status := range allPodStatuses {
		p := withRequests(newTestPod(fmt.Sprintf("p%d", i), at(100+i)), 100, gib)
		p.Labels = map[string]string{"app": "web"}
		addPod(t, f, p, status, "n-big")
	}
	for i := range 6 {
		mustApply(t, f, CreatePod{Pod: newTestPod(fmt.Sprintf("p-temp%d", i), at(110+i))})
	}
	for i := range 5 {
		mustApply(t, f, DeletePod{PodID: fmt.Sprintf("p-temp%d", i)})
	}
	mustApply(t, f, MarkUnschedulable{PodID: "p0", Message: "no room", Time: at(120)})
	for _, svc := range []types.Service{
		newTestService("s1", "web", types.DefaultNamespace, map[string]string{"app": "web"}),
		newTestService("s2", "gone", types.DefaultNamespace, map[string]string{"app": "web"}),
		newTestService("s3", "web", "staging", map[string]string{"app": "web"}),
	} {
		mustApply(t, f, CreateService{Service: svc})
	}
	mustApply(t, f, DeleteService{ServiceID: "s2"})
	return f
}

func TestSnapshot_RoundTripWithPods(t *testing.T) {
	src := populatedWithPods(t)
	want := captureState(src)

	dst := New(nil)
	if err := dst.Restore(newTrackedReader(persistSnapshot(t, src))); err != nil {
		t.Fatalf("Restore: expected no error, got %v", err)
	}

	checkSameState(t, want, captureState(dst))
	if got := podIDs(dst.Pods(PodFilter{})); !slices.Equal(got, []string{"p0", "p1", "p2", "p3", "p4", "p-temp5"}) {
		t.Errorf("restored pod order: expected [p0 p1 p2 p3 p4 p-temp5], got %v", got)
	}
	if node, _ := dst.Node("n-big"); node.Used != (types.ResourceList{CPUMillis: 200, MemoryBytes: 2 * gib}) || node.RunningPods != 2 {
		t.Errorf("restored node n-big: expected 2 pods using 200m and 2 GiB, got %d pods using %+v", node.RunningPods, node.Used)
	}
	if ep, _ := dst.Endpoints("s1"); len(ep.Addresses) != 1 || ep.Addresses[0].PodID != "p2" {
		t.Errorf("restored endpoints of s1: expected the running pod p2, got %s", show(ep))
	}

	t.Run("names stay taken", func(t *testing.T) {
		dup := newTestPod("p-dup", at(200))
		dup.Name = "name-p1"
		checkRejected(t, dst, CreatePod{Pod: dup}, ErrAlreadyExists)
		checkRejected(t, dst, CreateService{Service: newTestService("s-dup", "web", "staging", nil)}, ErrAlreadyExists)
	})
	t.Run("deleted names are free", func(t *testing.T) {
		again := newTestPod("p-again", at(201))
		again.Name = "name-p-temp0"
		mustApply(t, dst, CreatePod{Pod: again})
		mustApply(t, dst, CreateService{Service: newTestService("s-again", "gone", types.DefaultNamespace, nil)})
	})
	t.Run("the node index is rebuilt", func(t *testing.T) {
		setNodeStatus(t, dst, "n-big", types.NodeOffline, at(300))
		if got := podIDs(dst.Pods(PodFilter{NodeID: "n-big", Status: types.PodFailed})); !slices.Equal(got, []string{"p4"}) {
			t.Errorf("failed pods on n-big: expected only p4, which failed before, got %v", got)
		}
		var released []string
		for _, p := range dst.Pods(PodFilter{Status: types.PodPending}) {
			if p.Reason == types.ReasonNodeLost {
				released = append(released, p.PodID)
			}
		}
		if !slices.Equal(released, []string{"p1", "p2"}) {
			t.Errorf("pods released by the node loss: expected [p1 p2], got %v", released)
		}
	})
}

func TestSnapshot_PodAndServiceMayShareAnID(t *testing.T) {
	src := New(nil)
	mustApply(t, src, CreatePod{Pod: newTestPod("20250119123456-abc12345", at(1))})
	mustApply(t, src, CreateService{Service: newTestService("20250119123456-abc12345", "web", types.DefaultNamespace, nil)})
	want := captureState(src)

	dst := New(nil)
	if err := dst.Restore(newTrackedReader(persistSnapshot(t, src))); err != nil {
		t.Fatalf("Restore: expected a pod and a service with the same ID accepted, as Apply accepts them, got %v", err)
	}
	checkSameState(t, want, captureState(dst))
}

func TestRestore_RejectsBadPodsAndServices(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		wantErr string
	}{
		{"null pod", `{"version":1,"pods":[null]}`, "pod 0"},
		{"pod without ID", `{"version":1,"pods":[{"name":"web"}]}`, "pod 0"},
		{"repeated pod ID", `{"version":1,"pods":[{"podId":"a","name":"x"},{"podId":"b","name":"y"},{"podId":"a","name":"z"}]}`, "pod 2"},
		{"repeated pod name", `{"version":1,"pods":[{"podId":"a","namespace":"n","name":"x"},{"podId":"b","namespace":"n","name":"x"}]}`, "pod 1"},
		{"pods of the wrong shape", `{"version":1,"pods":{"a":{}}}`, "read snapshot"},
		{"null service", `{"version":1,"services":[null]}`, "service 0"},
		{"service without ID", `{"version":1,"services":[{"name":"web"}]}`, "service 0"},
		{"repeated service ID", `{"version":1,"services":[{"serviceId":"s"},{"serviceId":"s"}]}`, "service 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := populatedWithPods(t)
			before := captureState(f)
			rc := newTrackedReader([]byte(tt.data))

			err := f.Restore(rc)

			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("expected an error mentioning %q, got %v", tt.wantErr, err)
			}
			if !rc.closed {
				t.Error("expected the snapshot reader closed, got it open")
			}
			checkSameState(t, before, captureState(f))
		})
	}
}

func TestPods_OrderKeptThroughManyDeletes(t *testing.T) {
	f := New(nil)
	var want []string
	for i := range 200 {
		id := fmt.Sprintf("p%03d", i)
		mustApply(t, f, CreatePod{Pod: newTestPod(id, at(i))})
		want = append(want, id)
	}
	// Deleting most pods compacts the list several times over.
	for i := range 200 {
		if i%9 != 0 {
			mustApply(t, f, DeletePod{PodID: fmt.Sprintf("p%03d", i)})
			want = slices.DeleteFunc(want, func(id string) bool { return id == fmt.Sprintf("p%03d", i) })
		}
		if i%50 == 49 {
			id := fmt.Sprintf("late%03d", i)
			mustApply(t, f, CreatePod{Pod: newTestPod(id, at(1000+i))})
			want = append(want, id)
		}
	}

	if got := podIDs(f.Pods(PodFilter{})); !slices.Equal(got, want) {
		t.Errorf("pods: expected %v, got %v", want, got)
	}
	f.mu.RLock()
	holes, live, stored := f.podOrder.holes, f.podOrder.len(), len(f.podOrder.ids)
	f.mu.RUnlock()
	if live != len(want) || holes > live || stored != live+holes {
		t.Errorf("ordered list: expected %d live IDs and no more holes than that, got %d live, %d holes, %d stored", len(want), live, holes, stored)
	}
}

func TestOrderedIDs(t *testing.T) {
	o := newOrderedIDs()
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		o.add(id)
	}
	list := func() []string {
		var out []string
		o.each(func(id string) { out = append(out, id) })
		return out
	}

	o.remove("b")
	o.remove("missing")
	if got := list(); !slices.Equal(got, []string{"a", "c", "d", "e"}) || o.holes != 1 {
		t.Fatalf("after one removal: expected [a c d e] with one hole, got %v with %d", got, o.holes)
	}
	o.remove("a")
	o.remove("d")
	// Three holes outnumber the two live IDs, so the list was compacted.
	if got := list(); !slices.Equal(got, []string{"c", "e"}) || o.holes != 0 || len(o.ids) != 2 {
		t.Fatalf("after compaction: expected [c e] and no holes, got %v with %d holes in %d slots", got, o.holes, len(o.ids))
	}
	o.add("b")
	if got := list(); !slices.Equal(got, []string{"c", "e", "b"}) || o.len() != 3 {
		t.Errorf("after adding b again: expected [c e b], got %v (len %d)", got, o.len())
	}
	if !o.before("c", "e") || !o.before("e", "b") || o.before("b", "c") {
		t.Error("before: expected c before e before b")
	}
}

// podLogGenerator builds a seeded random log of pod, service and node
// commands, mixed with commands Apply must reject. It applies each command
// to a shadow FSM as it goes, so that most reports name the pod's real
// node and follow its real phase.
type podLogGenerator struct {
	rng      *rand.Rand
	shadow   *FSM
	nodes    []string // the last name is never registered
	pods     []string
	services []string
}

func randomPodLog(t testing.TB, seed int64, n int) [][]byte {
	t.Helper()
	g := &podLogGenerator{rng: rand.New(rand.NewSource(seed)), shadow: New(nil), nodes: []string{"n0", "n1", "n2", "n-never"}}
	entries := make([][]byte, 0, n)
	for step := range n {
		data := encode(t, g.command(step))
		applyData(g.shadow, data)
		entries = append(entries, data)
	}
	return entries
}

func (g *podLogGenerator) command(step int) Command {
	now := at(step)
	node := g.nodes[g.rng.Intn(len(g.nodes))]
	switch roll := g.rng.Intn(100); {
	case roll < 6:
		n := newResourceNode(g.nodes[g.rng.Intn(len(g.nodes)-1)], 1+g.rng.Intn(4), 2000, 4*gib)
		n.LastHeartbeat, n.RegisteredAt = now, now
		return RegisterNode{Node: n}
	case roll < 20 || len(g.pods) == 0:
		return g.createPod(step, now)
	case roll < 40:
		return PlacePod{PodID: g.pickPending(), NodeID: node, Time: now}
	case roll < 75:
		return g.report(node, now)
	case roll < 79:
		return MarkUnschedulable{PodID: g.pickPod(), Message: fmt.Sprintf("attempt %d", g.rng.Intn(3)), Time: now}
	case roll < 83:
		return DeletePod{PodID: g.pickPod()}
	case roll < 90:
		return g.createService(step)
	case roll < 93 && len(g.services) > 0:
		return DeleteService{ServiceID: g.services[g.rng.Intn(len(g.services))]}
	case roll < 97:
		status := types.NodeOffline
		if g.rng.Intn(2) > 0 {
			status = types.NodeOnline
		}
		return SetNodeStatus{NodeID: node, Status: status, Time: now}
	}
	return CreateTask{Task: newTestTask(fmt.Sprintf("t%04d", step), now)}
}

func (g *podLogGenerator) pickPod() string {
	if g.rng.Intn(15) == 0 {
		return "p-missing"
	}
	recent := min(len(g.pods), 12)
	return g.pods[len(g.pods)-1-g.rng.Intn(recent)]
}

// pickPending returns a pending pod most of the time.
func (g *podLogGenerator) pickPending() string {
	pending := g.shadow.Pods(PodFilter{Status: types.PodPending})
	if len(pending) == 0 || g.rng.Intn(4) == 0 {
		return g.pickPod()
	}
	return pending[g.rng.Intn(len(pending))].PodID
}

func (g *podLogGenerator) createPod(step int, now time.Time) Command {
	p := withRequests(newTestPod(fmt.Sprintf("p%04d", step), now), int64(g.rng.Intn(4))*400, int64(g.rng.Intn(4))*gib)
	p.Name = fmt.Sprintf("web-%d", g.rng.Intn(40)) // names repeat, so some creates are rejected
	p.Labels = map[string]string{"app": []string{"web", "api"}[g.rng.Intn(2)]}
	p.RestartPolicy = []types.RestartPolicy{types.RestartAlways, types.RestartOnFailure, types.RestartNever}[g.rng.Intn(3)]
	if g.rng.Intn(20) == 0 {
		p.Containers = nil
	}
	g.pods = append(g.pods, p.PodID)
	return CreatePod{Pod: p}
}

// report returns a worker report. Most reports come from the pod's node
// and move the pod one phase on; the rest are random.
func (g *podLogGenerator) report(node string, now time.Time) Command {
	id := g.pickPod()
	var placed []types.Pod
	for _, status := range []types.PodStatus{types.PodScheduled, types.PodRunning} {
		placed = append(placed, g.shadow.Pods(PodFilter{Status: status})...)
	}
	r := types.PodStatusReport{Status: types.PodRunning}
	if len(placed) > 0 && g.rng.Intn(4) > 0 {
		p := placed[g.rng.Intn(len(placed))]
		id, r.NodeID = p.PodID, p.NodeID
		if p.Status == types.PodRunning {
			r.Status = []types.PodStatus{types.PodRunning, types.PodSucceeded, types.PodFailed}[g.rng.Intn(3)]
		}
	} else {
		statuses := append(slices.Clone(allPodStatuses), "paused")
		r.Status = statuses[g.rng.Intn(len(statuses))]
		if g.rng.Intn(2) == 0 {
			r.NodeID = node
		}
	}
	if r.Status == types.PodRunning {
		r.PodIP = fmt.Sprintf("10.88.0.%d", g.rng.Intn(250))
		r.ContainerStatuses = []types.ContainerStatus{{Name: "app", State: types.ContainerRunning, Ready: g.rng.Intn(3) > 0}}
	}
	return UpdatePodStatus{PodID: id, Report: r, Time: now}
}

func (g *podLogGenerator) createService(step int) Command {
	id := fmt.Sprintf("s%04d", step)
	g.services = append(g.services, id)
	namespace := []string{types.DefaultNamespace, "staging"}[g.rng.Intn(2)]
	svc := newTestService(id, fmt.Sprintf("svc-%d", g.rng.Intn(6)), namespace, map[string]string{"app": []string{"web", "api"}[g.rng.Intn(2)]})
	return CreateService{Service: svc}
}

func TestApply_DeterministicWithPods(t *testing.T) {
	tests := []struct {
		name  string
		seed  int64
		size  int
		split int
	}{
		{"seed 3", 3, 400, 150},
		{"seed 77", 77, 600, 500},
		{"seed 20250601", 20250601, 800, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries := randomPodLog(t, tt.seed, tt.size)

			first, second := New(nil), New(nil)
			resultsFirst := applyAll(first, entries)
			resultsSecond := applyAll(second, entries)
			checkSameResults(t, resultsFirst, resultsSecond)
			want := captureState(first)
			checkSameState(t, want, captureState(second))
			checkPodLogCoverage(t, entries, resultsFirst)

			// A master that restores a snapshot taken part way through
			// and applies the rest reaches the same state.
			half := New(nil)
			applyAll(half, entries[:tt.split])
			resumed := New(nil)
			if err := resumed.Restore(newTrackedReader(persistSnapshot(t, half))); err != nil {
				t.Fatalf("Restore: expected no error, got %v", err)
			}
			checkSameResults(t, resultsFirst[tt.split:], applyAll(resumed, entries[tt.split:]))
			checkSameState(t, want, captureState(resumed))
		})
	}
}

// checkPodLogCoverage fails the test unless the log moves pods through
// every phase, releases pods from a lost node and hits the pod rejections.
func checkPodLogCoverage(t *testing.T, entries [][]byte, results []any) {
	t.Helper()
	sentinels := []error{ErrNotFound, ErrAlreadyExists, ErrIllegalTransition, ErrConflict, ErrInsufficientResources}
	hits := make(map[error]int)
	for _, res := range results {
		for _, sentinel := range sentinels {
			if errors.Is(resultError(res), sentinel) {
				hits[sentinel]++
			}
		}
	}
	for _, sentinel := range sentinels {
		if hits[sentinel] == 0 {
			t.Errorf("rejections with %q: expected at least one, got none", sentinel)
		}
	}

	// Released pods may be placed again later, so count them on a replay
	// right after each node loss.
	lost := 0
	replay := New(nil)
	for _, data := range entries {
		applyData(replay, data)
		if c, err := Decode(data); err == nil {
			if loss, ok := c.(SetNodeStatus); ok && loss.Status == types.NodeOffline {
				for _, p := range replay.Pods(PodFilter{}) {
					if p.Reason == types.ReasonNodeLost && p.UpdatedAt.Equal(loss.Time) {
						lost++
					}
				}
			}
		}
	}
	if lost == 0 {
		t.Error("pods released by node loss: expected at least one, got none")
	}

	reached := make(map[types.PodStatus]bool)
	for _, res := range results {
		if p, ok := res.(types.Pod); ok {
			reached[p.Status] = true
		}
	}
	for _, status := range allPodStatuses {
		if !reached[status] {
			t.Errorf("results with a pod in phase %s: expected at least one, got none", status)
		}
	}
}
