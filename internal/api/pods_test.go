package api_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/api"
	"github.com/podling/podling/internal/types"
)

// seedPodBody is the example body of POST /api/v1/pods in the API
// reference, kept byte for byte.
const seedPodBody = `{
"name": "my-web-app",
"namespace": "production",
"labels": {
"app": "web",
"version": "1.0"
},
"containers": [
{
"name": "app",
"image": "myapp:1.0",
"env": {"PORT": "8080"}
},
{
"name": "sidecar",
"image": "nginx:latest"
}
]
}`

// createPod creates a pod through the API and returns it.
func createPod(t *testing.T, m *master, body string) types.Pod {
	t.Helper()
	rec := do(t, m.server, http.MethodPost, "/api/v1/pods", body)
	wantStatus(t, rec, http.StatusCreated)
	return decodeBody[types.Pod](t, rec)
}

// addNode registers an online node with four slots, listening on port
// 8081 of a host named like the node.
func addNode(t *testing.T, m *master, nodeID string) {
	t.Helper()
	now := m.clock.Now()
	m.raft.commit(t, fsm.RegisterNode{Node: types.Node{
		NodeID: nodeID, Hostname: nodeID, Port: 8081, Capacity: 4, LastHeartbeat: now, RegisteredAt: now,
	}})
}

// placePod places a pod on a node, as the scheduler would.
func placePod(t *testing.T, m *master, podID, nodeID string) {
	t.Helper()
	m.raft.commit(t, fsm.PlacePod{PodID: podID, NodeID: nodeID, Time: m.clock.Now()})
}

// runPod reports a placed pod running with ip and every container ready
// or not.
func runPod(t *testing.T, m *master, pod types.Pod, ip string, ready bool) {
	t.Helper()
	statuses := make([]types.ContainerStatus, 0, len(pod.Containers))
	for _, c := range pod.Containers {
		statuses = append(statuses, types.ContainerStatus{Name: c.Name, State: types.ContainerRunning, Ready: ready})
	}
	report := types.PodStatusReport{Status: types.PodRunning, PodIP: ip, ContainerStatuses: statuses}
	m.raft.commit(t, fsm.UpdatePodStatus{PodID: pod.PodID, Report: report, Time: m.clock.Now()})
}

func podIDs(pods []types.Pod) []string {
	out := make([]string, 0, len(pods))
	for _, p := range pods {
		out = append(out, p.PodID)
	}
	return out
}

func TestCreatePod_SeedExample(t *testing.T) {
	m := newLeader(t, masterOptions{})

	rec := do(t, m.server, http.MethodPost, "/api/v1/pods", seedPodBody)

	wantStatus(t, rec, http.StatusCreated)
	pod := decodeBody[types.Pod](t, rec)
	if !taskIDPattern.MatchString(pod.PodID) {
		t.Errorf("podId: expected the form 20250119123456-abc12345, got %q", pod.PodID)
	}
	if !strings.HasPrefix(pod.PodID, "20250119123456-") {
		t.Errorf("podId: expected the leader's clock in the prefix 20250119123456-, got %q", pod.PodID)
	}
	if pod.Status != types.PodPending || pod.Name != "my-web-app" || pod.Namespace != "production" {
		t.Errorf("expected pending pod my-web-app in production, got %s %s in %s", pod.Status, pod.Name, pod.Namespace)
	}
	if pod.RestartPolicy != types.RestartAlways {
		t.Errorf("restartPolicy: expected the default Always, got %q", pod.RestartPolicy)
	}
	if pod.Labels["app"] != "web" || pod.Labels["version"] != "1.0" || len(pod.Labels) != 2 {
		t.Errorf("labels: expected app=web and version=1.0, got %v", pod.Labels)
	}
	if len(pod.Containers) != 2 || pod.Containers[0].Name != "app" || pod.Containers[0].Image != "myapp:1.0" ||
		pod.Containers[0].Env["PORT"] != "8080" || pod.Containers[1].Name != "sidecar" || pod.Containers[1].Image != "nginx:latest" {
		t.Errorf("containers: expected app (myapp:1.0, PORT=8080) and sidecar (nginx:latest), got %+v", pod.Containers)
	}
	if !pod.CreatedAt.Equal(baseTime) || !pod.UpdatedAt.Equal(baseTime) {
		t.Errorf("times: expected createdAt and updatedAt %v from the leader's clock, got %v and %v", baseTime, pod.CreatedAt, pod.UpdatedAt)
	}
	if got, want := rec.Header().Get(api.IndexHeader), strconv.FormatUint(m.fsm.AppliedIndex(), 10); got != want {
		t.Errorf("expected %s %s, got %q", api.IndexHeader, want, got)
	}
	if stored, ok := m.fsm.Pod(pod.PodID); !ok || stored.Name != "my-web-app" {
		t.Errorf("expected the pod stored in the FSM, got %+v (found %v)", stored, ok)
	}
}

func TestCreatePod_Defaults(t *testing.T) {
	m := newLeader(t, masterOptions{})

	pod := createPod(t, m, `{"name":"web-pod","containers":[{"name":"nginx","image":"nginx:latest"}]}`)

	if pod.Namespace != types.DefaultNamespace {
		t.Errorf("namespace: expected %q when omitted, got %q", types.DefaultNamespace, pod.Namespace)
	}
	if pod.RestartPolicy != types.RestartAlways {
		t.Errorf("restartPolicy: expected Always when omitted, got %q", pod.RestartPolicy)
	}

	never := createPod(t, m, `{"name":"batch","restartPolicy":"Never","containers":[{"name":"job","image":"busybox"}]}`)
	if never.RestartPolicy != types.RestartNever {
		t.Errorf("restartPolicy: expected Never as given, got %q", never.RestartPolicy)
	}
}

func TestCreatePod_DuplicateNameIs409(t *testing.T) {
	m := newLeader(t, masterOptions{})
	createPod(t, m, seedPodBody)
	before := takeSnapshot(m.fsm)

	rec := do(t, m.server, http.MethodPost, "/api/v1/pods", seedPodBody)

	wantError(t, rec, http.StatusConflict, "already_exists", "my-web-app", "production")
	wantUnchanged(t, m.fsm, before)

	// The same name in another namespace is a different pod.
	createPod(t, m, strings.Replace(seedPodBody, `"production"`, `"staging"`, 1))
}

func TestCreatePod_InvalidInputIs400(t *testing.T) {
	container := func(extra string) string {
		return `{"name":"web","containers":[{"name":"app","image":"busybox"` + extra + `}]}`
	}
	probe := func(kind, spec string) string {
		return container(`,"` + kind + `":` + spec)
	}
	manyContainers := make([]string, 17)
	for i := range manyContainers {
		manyContainers[i] = fmt.Sprintf(`{"name":"c%d","image":"busybox"}`, i)
	}
	tests := []struct {
		name     string
		body     string
		contains []string
	}{
		{"name with capitals", `{"name":"Web","containers":[{"name":"app","image":"busybox"}]}`, []string{"name", "Web"}},
		{"name too long", `{"name":"` + strings.Repeat("a", 64) + `","containers":[{"name":"app","image":"busybox"}]}`, []string{"name"}},
		{"name with leading dash", `{"name":"-web","containers":[{"name":"app","image":"busybox"}]}`, []string{"name", "-web"}},
		{"name with trailing dash", `{"name":"web-","containers":[{"name":"app","image":"busybox"}]}`, []string{"name"}},
		{"name with underscore", `{"name":"my_web","containers":[{"name":"app","image":"busybox"}]}`, []string{"name"}},
		{"name missing", `{"containers":[{"name":"app","image":"busybox"}]}`, []string{"name", "required"}},
		{"namespace with capitals", `{"name":"web","namespace":"Prod","containers":[{"name":"app","image":"busybox"}]}`, []string{"namespace", "Prod"}},
		{"namespace with dot", `{"name":"web","namespace":"a.b","containers":[{"name":"app","image":"busybox"}]}`, []string{"namespace"}},
		{"label key with space", `{"name":"web","labels":{"bad key":"x"},"containers":[{"name":"app","image":"busybox"}]}`, []string{"labels", "bad key"}},
		{"label value with space", `{"name":"web","labels":{"app":"x y"},"containers":[{"name":"app","image":"busybox"}]}`, []string{"labels.app"}},
		{"label value too long", `{"name":"web","labels":{"app":"` + strings.Repeat("v", 64) + `"},"containers":[{"name":"app","image":"busybox"}]}`, []string{"labels.app"}},
		{"annotation key with space", `{"name":"web","annotations":{"a b":"x"},"containers":[{"name":"app","image":"busybox"}]}`, []string{"annotations"}},
		{"unknown restart policy", `{"name":"web","restartPolicy":"Sometimes","containers":[{"name":"app","image":"busybox"}]}`, []string{"restartPolicy", "Sometimes"}},
		{"restart policy in lower case", `{"name":"web","restartPolicy":"always","containers":[{"name":"app","image":"busybox"}]}`, []string{"restartPolicy"}},
		{"no containers", `{"name":"web","containers":[]}`, []string{"containers", "at least one"}},
		{"containers missing", `{"name":"web"}`, []string{"containers"}},
		{"too many containers", `{"name":"web","containers":[` + strings.Join(manyContainers, ",") + `]}`, []string{"containers", "16"}},
		{"duplicate container names", `{"name":"web","containers":[{"name":"app","image":"busybox"},{"name":"app","image":"nginx"}]}`, []string{"containers[1].name", "app"}},
		{"container name with capitals", `{"name":"web","containers":[{"name":"App","image":"busybox"}]}`, []string{"containers[0].name"}},
		{"container image missing", `{"name":"web","containers":[{"name":"app"}]}`, []string{"containers[0].image", "required"}},
		{"container image with space", `{"name":"web","containers":[{"name":"app","image":"my image"}]}`, []string{"containers[0].image"}},
		{"container env name with dash", container(`,"env":{"MY-VAR":"1"}`), []string{"containers[0].env", "MY-VAR"}},
		{"container arg with NUL", container(`,"args":["a\u0000b"]`), []string{"containers[0].args[0]"}},
		{"negative CPU request", container(`,"resources":{"requests":{"cpuMillis":-1}}`), []string{"containers[0].resources.requests.cpuMillis", "negative"}},
		{"negative memory limit", container(`,"resources":{"limits":{"memoryBytes":-5}}`), []string{"containers[0].resources.limits.memoryBytes", "negative"}},
		{"CPU request above limit", container(`,"resources":{"requests":{"cpuMillis":600},"limits":{"cpuMillis":500}}`), []string{"containers[0].resources.requests.cpuMillis", "above the limit"}},
		{"memory request above limit", container(`,"resources":{"requests":{"memoryBytes":2048},"limits":{"memoryBytes":1024}}`), []string{"containers[0].resources.requests.memoryBytes", "above the limit"}},
		{"container port 0", container(`,"ports":[{"containerPort":0}]`), []string{"containers[0].ports[0].containerPort", "65535"}},
		{"container port 70000", container(`,"ports":[{"containerPort":70000}]`), []string{"containers[0].ports[0].containerPort", "70000"}},
		{"host port 70000", container(`,"ports":[{"containerPort":80,"hostPort":70000}]`), []string{"containers[0].ports[0].hostPort", "70000"}},
		{"negative host port", container(`,"ports":[{"containerPort":80,"hostPort":-1}]`), []string{"containers[0].ports[0].hostPort"}},
		{"port name with capitals", container(`,"ports":[{"name":"HTTP","containerPort":80}]`), []string{"containers[0].ports[0].name"}},
		{"HTTP probe on another host", probe("readinessProbe", `{"httpGet":{"port":8080,"host":"10.0.0.1"}}`), []string{"containers[0].readinessProbe.httpGet.host", "10.0.0.1"}},
		{"TCP probe on another host", probe("livenessProbe", `{"tcpSocket":{"port":8080,"host":"example.com"}}`), []string{"containers[0].livenessProbe.tcpSocket.host"}},
		{"probe without an action", probe("livenessProbe", `{"periodSeconds":5}`), []string{"containers[0].livenessProbe", "exactly one", "got 0"}},
		{"probe with two actions", probe("readinessProbe", `{"httpGet":{"port":80},"tcpSocket":{"port":80}}`), []string{"containers[0].readinessProbe", "exactly one", "got 2"}},
		{"probe port 0", probe("readinessProbe", `{"tcpSocket":{"port":0}}`), []string{"containers[0].readinessProbe.tcpSocket.port"}},
		{"probe path without slash", probe("readinessProbe", `{"httpGet":{"port":80,"path":"healthz"}}`), []string{"containers[0].readinessProbe.httpGet.path"}},
		{"exec probe without command", probe("livenessProbe", `{"exec":{"command":[]}}`), []string{"containers[0].livenessProbe.exec.command", "required"}},
		{"negative probe period", probe("livenessProbe", `{"exec":{"command":["true"]},"periodSeconds":-1}`), []string{"containers[0].livenessProbe.periodSeconds"}},
		{"probe threshold too high", probe("livenessProbe", `{"exec":{"command":["true"]},"failureThreshold":1000}`), []string{"containers[0].livenessProbe.failureThreshold"}},
		{"error in the second container", `{"name":"web","containers":[{"name":"app","image":"busybox"},{"name":"side","image":"busybox","ports":[{"containerPort":0}]}]}`, []string{"containers[1].ports[0].containerPort"}},
		{"unknown field", `{"name":"web","podId":"x","containers":[{"name":"app","image":"busybox"}]}`, []string{"podId", "unknown field"}},
		{"status is not an input", `{"name":"web","status":"running","containers":[{"name":"app","image":"busybox"}]}`, []string{"status", "unknown field"}},
		{"empty body", ``, []string{"empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newLeader(t, masterOptions{})
			before := takeSnapshot(m.fsm)

			rec := do(t, m.server, http.MethodPost, "/api/v1/pods", tt.body)

			wantError(t, rec, http.StatusBadRequest, "invalid_argument", tt.contains...)
			if got := m.raft.proposalCount(); got != 0 {
				t.Errorf("expected nothing proposed for invalid input, got %d proposals", got)
			}
			wantUnchanged(t, m.fsm, before)
		})
	}
}

func TestCreatePod_ValidEdgeCases(t *testing.T) {
	sixteen := make([]string, 16)
	for i := range sixteen {
		sixteen[i] = fmt.Sprintf(`{"name":"c%d","image":"busybox"}`, i)
	}
	tests := []struct {
		name string
		body string
	}{
		{"name of 63 characters", `{"name":"` + strings.Repeat("a", 63) + `","containers":[{"name":"app","image":"busybox"}]}`},
		{"name of digits", `{"name":"123","containers":[{"name":"app","image":"busybox"}]}`},
		{"ports at the range ends", `{"name":"web","containers":[{"name":"app","image":"busybox","ports":[{"containerPort":1,"hostPort":65535}]}]}`},
		{"request equal to limit", `{"name":"web","containers":[{"name":"app","image":"busybox","resources":{"requests":{"cpuMillis":500},"limits":{"cpuMillis":500}}}]}`},
		{"request without a limit", `{"name":"web","containers":[{"name":"app","image":"busybox","resources":{"requests":{"memoryBytes":1048576}}}]}`},
		{"probe on localhost", `{"name":"web","containers":[{"name":"app","image":"busybox","readinessProbe":{"httpGet":{"path":"/healthz","port":8080,"host":"localhost"}}}]}`},
		{"prefixed label key", `{"name":"web","labels":{"example.com/tier":"front","empty":""},"containers":[{"name":"app","image":"busybox"}]}`},
		{"sixteen containers", `{"name":"web","containers":[` + strings.Join(sixteen, ",") + `]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newLeader(t, masterOptions{})
			createPod(t, m, tt.body)
		})
	}
}

func TestListPods_Filters(t *testing.T) {
	m := newLeader(t, masterOptions{})
	addNode(t, m, "node-a")
	web := createPod(t, m, seedPodBody)
	webOld := createPod(t, m, `{"name":"web-old","namespace":"production","labels":{"app":"web","version":"0.9"},"containers":[{"name":"app","image":"myapp:0.9"}]}`)
	other := createPod(t, m, `{"name":"web","labels":{"app":"web","version":"1.0"},"containers":[{"name":"app","image":"myapp:1.0"}]}`)
	placePod(t, m, webOld.PodID, "node-a")

	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"no filter in creation order", "", []string{web.PodID, webOld.PodID, other.PodID}},
		{"namespace", "?namespace=production", []string{web.PodID, webOld.PodID}},
		{"default namespace", "?namespace=default", []string{other.PodID}},
		{"unknown namespace", "?namespace=nowhere", []string{}},
		{"two labels", "?labelSelector=app=web,version=1.0", []string{web.PodID, other.PodID}},
		{"labels with spaces", "?labelSelector=app%3Dweb,%20version%3D0.9", []string{webOld.PodID}},
		{"labels and namespace", "?labelSelector=app=web,version=1.0&namespace=production", []string{web.PodID}},
		{"label matching none", "?labelSelector=app=db", []string{}},
		{"status pending", "?status=pending", []string{web.PodID, other.PodID}},
		{"status scheduled", "?status=scheduled", []string{webOld.PodID}},
		{"node", "?nodeId=node-a", []string{webOld.PodID}},
		{"status and node", "?status=pending&nodeId=node-a", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, m.server, http.MethodGet, "/api/v1/pods"+tt.query, "")
			wantStatus(t, rec, http.StatusOK)
			if len(tt.want) == 0 && rec.Body.String() != "[]\n" {
				t.Errorf("expected an empty JSON array, got %q", rec.Body.String())
			}
			if got := podIDs(decodeBody[[]types.Pod](t, rec)); !slices.Equal(got, tt.want) {
				t.Errorf("expected pods %v, got %v", tt.want, got)
			}
		})
	}
}

func TestListPods_InvalidQueryIs400(t *testing.T) {
	tests := []struct {
		name     string
		query    string
		contains []string
	}{
		{"unknown status", "?status=done", []string{"status", "done"}},
		{"task status", "?status=completed", []string{"status"}},
		{"bad node ID", "?nodeId=-x", []string{"nodeId"}},
		{"namespace with capitals", "?namespace=Prod", []string{"namespace", "Prod"}},
		{"selector with inequality", "?labelSelector=a!=b", []string{"labelSelector", "a!=b"}},
		{"selector without value", "?labelSelector=novalue", []string{"labelSelector", "novalue"}},
		{"selector with double equals", "?labelSelector=a==b", []string{"labelSelector"}},
		{"selector with a bad second pair", "?labelSelector=app=web,oops", []string{"labelSelector", "oops"}},
		{"selector with empty key", "?labelSelector==web", []string{"labelSelector"}},
		{"selector with bad value", "?labelSelector=app=a%20b", []string{"labelSelector.app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newLeader(t, masterOptions{})
			rec := do(t, m.server, http.MethodGet, "/api/v1/pods"+tt.query, "")
			wantError(t, rec, http.StatusBadRequest, "invalid_argument", tt.contains...)
		})
	}
}

func TestGetPod(t *testing.T) {
	m := newLeader(t, masterOptions{})
	created := createPod(t, m, seedPodBody)

	t.Run("known pod", func(t *testing.T) {
		rec := do(t, m.server, http.MethodGet, "/api/v1/pods/"+created.PodID, "")
		wantStatus(t, rec, http.StatusOK)
		got := decodeBody[types.Pod](t, rec)
		if got.PodID != created.PodID || got.Name != "my-web-app" || len(got.Containers) != 2 {
			t.Errorf("expected the created pod %+v, got %+v", created, got)
		}
	})
	t.Run("unknown pod", func(t *testing.T) {
		rec := do(t, m.server, http.MethodGet, "/api/v1/pods/20990101000000-zzzzzzzz", "")
		wantError(t, rec, http.StatusNotFound, "not_found", "20990101000000-zzzzzzzz")
	})
	t.Run("bad ID", func(t *testing.T) {
		rec := do(t, m.server, http.MethodGet, "/api/v1/pods/not-a-pod", "")
		wantError(t, rec, http.StatusBadRequest, "invalid_argument", "podId", "not-a-pod")
	})
}

func TestDeletePod_Pending(t *testing.T) {
	m := newLeader(t, masterOptions{})
	pod := createPod(t, m, seedPodBody)

	rec := do(t, m.server, http.MethodDelete, "/api/v1/pods/"+pod.PodID, "")

	wantStatus(t, rec, http.StatusOK)
	if got := decodeBody[types.Pod](t, rec); got.PodID != pod.PodID {
		t.Errorf("expected the deleted pod %s in the body, got %s", pod.PodID, got.PodID)
	}
	if calls := m.workers.deleteCalls(); len(calls) != 0 {
		t.Errorf("expected no worker call for a pod without a node, got %+v", calls)
	}
	if _, ok := m.fsm.Pod(pod.PodID); ok {
		t.Error("expected the pod gone from the FSM, got it still there")
	}
	wantError(t, do(t, m.server, http.MethodGet, "/api/v1/pods/"+pod.PodID, ""), http.StatusNotFound, "not_found")
	// The name can be used again.
	createPod(t, m, seedPodBody)
}

func TestDeletePod_PlacedOnOnlineNode(t *testing.T) {
	m := newLeader(t, masterOptions{})
	addNode(t, m, "node-a")
	pod := createPod(t, m, seedPodBody)
	placePod(t, m, pod.PodID, "node-a")
	runPod(t, m, pod, "10.88.0.4", true)

	rec := do(t, m.server, http.MethodDelete, "/api/v1/pods/"+pod.PodID, "")

	wantStatus(t, rec, http.StatusOK)
	want := []workerCall{{NodeID: "node-a", PodID: pod.PodID}}
	if calls := m.workers.deleteCalls(); !slices.EqualFunc(calls, want, sameCall) {
		t.Errorf("expected one worker call %+v, got %+v", want, calls)
	}
	if _, ok := m.fsm.Pod(pod.PodID); ok {
		t.Error("expected the pod gone from the FSM, got it still there")
	}
	if node, _ := m.fsm.Node("node-a"); node.RunningPods != 0 {
		t.Errorf("expected node-a to run no pods after the delete, got %d", node.RunningPods)
	}
}

func TestDeletePod_WorkerFailureIs503(t *testing.T) {
	m := newLeader(t, masterOptions{})
	addNode(t, m, "node-a")
	pod := createPod(t, m, seedPodBody)
	placePod(t, m, pod.PodID, "node-a")
	m.workers.set(func(w *fakeWorkers) { w.deleteErr = errors.New("connection refused") })
	before := takeSnapshot(m.fsm)
	proposals := m.raft.proposalCount()

	rec := do(t, m.server, http.MethodDelete, "/api/v1/pods/"+pod.PodID, "")

	wantError(t, rec, http.StatusServiceUnavailable, "worker_unavailable", pod.PodID, "node-a", "connection refused")
	if got := m.raft.proposalCount(); got != proposals {
		t.Errorf("expected nothing proposed after the worker failed, got %d new proposals", got-proposals)
	}
	wantUnchanged(t, m.fsm, before)
	if len(m.workers.deleteCalls()) != 1 {
		t.Errorf("expected one worker call, got %+v", m.workers.deleteCalls())
	}

	// Once the worker responds again, a retry deletes the pod.
	m.workers.set(func(w *fakeWorkers) { w.deleteErr = nil })
	wantStatus(t, do(t, m.server, http.MethodDelete, "/api/v1/pods/"+pod.PodID, ""), http.StatusOK)
	if _, ok := m.fsm.Pod(pod.PodID); ok {
		t.Error("expected the pod gone after the retry, got it still there")
	}
}

func TestDeletePod_OnOfflineNode(t *testing.T) {
	m := newLeader(t, masterOptions{})
	addNode(t, m, "node-a")
	// A pod under Never stays on its lost node as failed, so it still
	// names the node when it is deleted.
	pod := createPod(t, m, `{"name":"batch","restartPolicy":"Never","containers":[{"name":"job","image":"busybox"}]}`)
	placePod(t, m, pod.PodID, "node-a")
	m.raft.commit(t, fsm.SetNodeStatus{NodeID: "node-a", Status: types.NodeOffline, Time: m.clock.Now()})
	if lost, _ := m.fsm.Pod(pod.PodID); lost.NodeID != "node-a" || lost.Status != types.PodFailed {
		t.Fatalf("setup: expected the pod failed on node-a, got %s on %q", lost.Status, lost.NodeID)
	}
	m.workers.set(func(w *fakeWorkers) { w.deleteErr = errors.New("unreachable") })

	rec := do(t, m.server, http.MethodDelete, "/api/v1/pods/"+pod.PodID, "")

	wantStatus(t, rec, http.StatusOK)
	if calls := m.workers.deleteCalls(); len(calls) != 0 {
		t.Errorf("expected no worker call for a pod on an offline node, got %+v", calls)
	}
	if _, ok := m.fsm.Pod(pod.PodID); ok {
		t.Error("expected the pod gone from the FSM, got it still there")
	}
}

func TestDeletePod_Errors(t *testing.T) {
	m := newLeader(t, masterOptions{})

	wantError(t, do(t, m.server, http.MethodDelete, "/api/v1/pods/20990101000000-zzzzzzzz", ""), http.StatusNotFound, "not_found")
	wantError(t, do(t, m.server, http.MethodDelete, "/api/v1/pods/NOT-AN-ID", ""), http.StatusBadRequest, "invalid_argument", "podId")
	if got := m.raft.proposalCount(); got != 0 {
		t.Errorf("expected nothing proposed, got %d proposals", got)
	}
}

func sameCall(a, b workerCall) bool {
	return a.NodeID == b.NodeID && a.PodID == b.PodID && a.Path == b.Path && a.Query.Encode() == b.Query.Encode()
}

func TestUpdatePodStatus_ReportsRunning(t *testing.T) {
	m := newLeader(t, masterOptions{})
	addNode(t, m, "node-a")
	pod := createPod(t, m, seedPodBody)
	placePod(t, m, pod.PodID, "node-a")
	m.clock.Advance(30 * time.Second)
	body := `{"status":"running","podIP":"10.88.0.7","nodeId":"node-a","containerStatuses":[` +
		`{"name":"app","containerId":"abc123","state":"running","ready":true,"restartCount":0},` +
		`{"name":"sidecar","state":"running","ready":true,"restartCount":1}]}`

	rec := do(t, m.server, http.MethodPut, "/api/v1/pods/"+pod.PodID+"/status", body)

	wantStatus(t, rec, http.StatusOK)
	got := decodeBody[types.Pod](t, rec)
	if got.Status != types.PodRunning || got.PodIP != "10.88.0.7" || !got.Ready() {
		t.Errorf("expected a ready running pod at 10.88.0.7, got %s at %q (ready %v)", got.Status, got.PodIP, got.Ready())
	}
	if want := baseTime.Add(30 * time.Second); got.StartedAt == nil || !got.StartedAt.Equal(want) {
		t.Errorf("startedAt: expected %v from the leader's clock, got %v", want, got.StartedAt)
	}
}

func TestUpdatePodStatus_StateErrors(t *testing.T) {
	m := newLeader(t, masterOptions{})
	addNode(t, m, "node-a")
	addNode(t, m, "node-b")
	pending := createPod(t, m, seedPodBody)
	placed := createPod(t, m, `{"name":"placed","containers":[{"name":"app","image":"busybox"}]}`)
	placePod(t, m, placed.PodID, "node-a")

	tests := []struct {
		name   string
		podID  string
		body   string
		status int
		code   string
	}{
		{"pending pod", pending.PodID, `{"status":"running"}`, http.StatusConflict, "illegal_transition"},
		{"report from another node", placed.PodID, `{"status":"running","nodeId":"node-b"}`, http.StatusConflict, "conflict"},
		{"unknown pod", "20990101000000-zzzzzzzz", `{"status":"running"}`, http.StatusNotFound, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := takeSnapshot(m.fsm)
			rec := do(t, m.server, http.MethodPut, "/api/v1/pods/"+tt.podID+"/status", tt.body)
			wantError(t, rec, tt.status, tt.code)
			wantUnchanged(t, m.fsm, before)
		})
	}
}

func TestUpdatePodStatus_InvalidInputIs400(t *testing.T) {
	manyStatuses := make([]string, 17)
	for i := range manyStatuses {
		manyStatuses[i] = fmt.Sprintf(`{"name":"c%d","state":"running"}`, i)
	}
	tests := []struct {
		name     string
		path     string // empty means the pod's own status path
		body     string
		contains []string
	}{
		{"unknown status", "", `{"status":"done"}`, []string{"status", "done"}},
		{"task status", "", `{"status":"completed"}`, []string{"status"}},
		{"missing status", "", `{"podIP":"10.0.0.1"}`, []string{"status"}},
		{"bad pod IP", "", `{"status":"running","podIP":"10.0.0.300"}`, []string{"podIP", "10.0.0.300"}},
		{"host name as pod IP", "", `{"status":"running","podIP":"pod.local"}`, []string{"podIP"}},
		{"container name with capitals", "", `{"status":"running","containerStatuses":[{"name":"App","state":"running"}]}`, []string{"containerStatuses[0].name"}},
		{"unknown container state", "", `{"status":"running","containerStatuses":[{"name":"app","state":"sleeping"}]}`, []string{"containerStatuses[0].state", "sleeping"}},
		{"missing container state", "", `{"status":"running","containerStatuses":[{"name":"app"}]}`, []string{"containerStatuses[0].state"}},
		{"bad container ID", "", `{"status":"running","containerStatuses":[{"name":"app","state":"running","containerId":"a b"}]}`, []string{"containerStatuses[0].containerId"}},
		{"negative restart count", "", `{"status":"running","containerStatuses":[{"name":"app","state":"running","restartCount":-1}]}`, []string{"containerStatuses[0].restartCount"}},
		{"container message too long", "", `{"status":"running","containerStatuses":[{"name":"app","state":"running","message":"` + strings.Repeat("m", 4097) + `"}]}`, []string{"containerStatuses[0].message"}},
		{"too many container statuses", "", `{"status":"running","containerStatuses":[` + strings.Join(manyStatuses, ",") + `]}`, []string{"containerStatuses", "16"}},
		{"bad reason", "", `{"status":"failed","reason":"two words"}`, []string{"reason"}},
		{"message too long", "", `{"status":"failed","message":"` + strings.Repeat("m", 4097) + `"}`, []string{"message"}},
		{"bad node ID", "", `{"status":"running","nodeId":"-bad"}`, []string{"nodeId"}},
		{"unknown field", "", `{"status":"running","ip":"10.0.0.1"}`, []string{"ip", "unknown field"}},
		{"empty body", "", ``, []string{"empty"}},
		{"pod ID of wrong form", "/api/v1/pods/not-a-pod/status", `{"status":"running"}`, []string{"podId", "not-a-pod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newLeader(t, masterOptions{})
			addNode(t, m, "node-a")
			pod := createPod(t, m, `{"name":"web","containers":[{"name":"app","image":"busybox"}]}`)
			placePod(t, m, pod.PodID, "node-a")
			path := tt.path
			if path == "" {
				path = "/api/v1/pods/" + pod.PodID + "/status"
			}
			before := takeSnapshot(m.fsm)
			proposals := m.raft.proposalCount()

			rec := do(t, m.server, http.MethodPut, path, tt.body)

			wantError(t, rec, http.StatusBadRequest, "invalid_argument", tt.contains...)
			if got := m.raft.proposalCount(); got != proposals {
				t.Errorf("expected nothing proposed for invalid input, got %d new proposals", got-proposals)
			}
			wantUnchanged(t, m.fsm, before)
		})
	}
}

func TestCreateTask_NameMustBeDNSLabel(t *testing.T) {
	tests := []struct {
		name     string
		taskName string
		valid    bool
	}{
		{"seed example", "my-nginx-task", true},
		{"digits", "42", true},
		{"63 characters", strings.Repeat("t", 63), true},
		{"capitals", "My-Task", false},
		{"underscore", "my_task", false},
		{"dot", "my.task", false},
		{"leading dash", "-task", false},
		{"trailing dash", "task-", false},
		{"64 characters", strings.Repeat("t", 64), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newLeader(t, masterOptions{})
			rec := do(t, m.server, http.MethodPost, "/api/v1/tasks", `{"name":"`+tt.taskName+`","image":"nginx:latest"}`)
			if tt.valid {
				wantStatus(t, rec, http.StatusCreated)
				return
			}
			wantError(t, rec, http.StatusBadRequest, "invalid_argument", "name")
			if got := m.raft.proposalCount(); got != 0 {
				t.Errorf("expected nothing proposed for an invalid name, got %d proposals", got)
			}
		})
	}
}

func TestListTasks_NamespaceAndLabels(t *testing.T) {
	m := newLeader(t, masterOptions{})
	web := createTask(t, m, `{"name":"web","namespace":"production","labels":{"app":"web","version":"1.0"},"image":"nginx:latest"}`)
	webOld := createTask(t, m, `{"name":"web-old","namespace":"production","labels":{"app":"web","version":"0.9"},"image":"nginx:latest"}`)
	plain := createTask(t, m, `{"name":"plain","image":"busybox"}`)
	if plain.Namespace != types.DefaultNamespace {
		t.Errorf("namespace: expected %q when omitted, got %q", types.DefaultNamespace, plain.Namespace)
	}

	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"namespace", "?namespace=production", []string{web.TaskID, webOld.TaskID}},
		{"default namespace", "?namespace=default", []string{plain.TaskID}},
		{"one label", "?labelSelector=app=web", []string{web.TaskID, webOld.TaskID}},
		{"two labels", "?labelSelector=app=web,version=1.0", []string{web.TaskID}},
		{"labels and status", "?labelSelector=app=web&status=pending", []string{web.TaskID, webOld.TaskID}},
		{"labels and other namespace", "?labelSelector=app=web&namespace=default", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, m.server, http.MethodGet, "/api/v1/tasks"+tt.query, "")
			wantStatus(t, rec, http.StatusOK)
			tasks := decodeBody[[]types.Task](t, rec)
			got := make([]string, 0, len(tasks))
			for _, task := range tasks {
				got = append(got, task.TaskID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("expected tasks %v, got %v", tt.want, got)
			}
		})
	}

	for _, query := range []string{"?labelSelector=a!=b", "?labelSelector=novalue", "?namespace=Prod"} {
		t.Run("invalid "+query, func(t *testing.T) {
			rec := do(t, m.server, http.MethodGet, "/api/v1/tasks"+query, "")
			wantError(t, rec, http.StatusBadRequest, "invalid_argument")
		})
	}
}
