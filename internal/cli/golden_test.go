package cli

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podling/podling/internal/types"
)

// updateGolden rewrites the golden files from the current output:
// go test ./internal/cli -run Golden -update
var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// fakeMaster serves fixed tasks, pods, nodes and services, as a master
// would, and counts the requests it served.
type fakeMaster struct {
	server   *httptest.Server
	requests atomic.Int64
}

// Fixed IDs of the fake objects.
const (
	taskHelloID = "20250119123456-aaaaaaaa"
	taskFailsID = "20250119123457-bbbbbbbb"
	taskWaitsID = "20250119123458-cccccccc"
	podWebID    = "20250119123500-dddddddd"
	podBatchID  = "20250119123501-eeeeeeee"
	serviceWeb  = "20250119123502-ffffffff"
	serviceDB   = "20250119123503-gggggggg"
)

// startFakeMaster starts a fake master. Its objects are dated relative to
// the time of each request, so the ages the tables print do not depend on
// when the test runs. Every age is whole minutes or more, so a request
// that takes up to a minute still prints the same age.
func startFakeMaster(t *testing.T) *fakeMaster {
	t.Helper()
	f := &fakeMaster{}
	f.server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.server.Close)
	return f
}

func (f *fakeMaster) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	now := time.Now().UTC().Truncate(time.Second)
	var body any
	switch r.URL.Path {
	case "/api/v1/tasks":
		body = fakeTasks(now)
	case "/api/v1/pods":
		body = fakePods(now)
	case "/api/v1/nodes":
		body = fakeNodes(now)
	case "/api/v1/services":
		body = fakeServices(now)
	case "/api/v1/services/" + serviceWeb + "/endpoints":
		body = fakeEndpoints()
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(types.Error{Error: "no route for " + r.Method + " " + r.URL.Path, Code: "not_found"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Podling-Index", "42")
	json.NewEncoder(w).Encode(body)
}

func ptr[T any](v T) *T { return &v }

func fakeTasks(now time.Time) []types.Task {
	return []types.Task{
		{
			TaskID: taskHelloID, Name: "hello", Namespace: "default", Image: "podling/echo:dev",
			Env: map[string]string{"ECHO_EXIT_CODE": "0"}, Status: types.TaskCompleted, NodeID: "worker-1",
			ContainerID: "3f2a9c1b7d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8", ExitCode: ptr(0),
			CreatedAt: now.Add(-72 * time.Hour), UpdatedAt: now.Add(-71 * time.Hour),
			StartedAt: ptr(now.Add(-72 * time.Hour)), FinishedAt: ptr(now.Add(-71 * time.Hour)),
		},
		{
			TaskID: taskFailsID, Name: "fails", Namespace: "team", Labels: map[string]string{"app": "batch", "tier": "jobs"},
			Image: "podling/echo:dev", Env: map[string]string{"ECHO_EXIT_CODE": "3"}, Status: types.TaskFailed, NodeID: "worker-2",
			ContainerID: "9e8d7c6b5a49", ExitCode: ptr(3), Reason: types.ReasonNonZeroExit, Message: "exited with code 3",
			CreatedAt: now.Add(-5 * time.Hour), UpdatedAt: now.Add(-5 * time.Hour),
		},
		{
			TaskID: taskWaitsID, Name: "waits", Namespace: "default", Labels: map[string]string{"app": "web"},
			Image: "registry.example.com/team/app:1.4.2", Status: types.TaskPending,
			CreatedAt: now.Add(-17 * time.Minute), UpdatedAt: now.Add(-17 * time.Minute),
		},
	}
}

func fakePods(now time.Time) []types.Pod {
	return []types.Pod{
		{
			PodID: podWebID, Name: "web-pod", Namespace: "shop", Labels: map[string]string{"app": "web"},
			RestartPolicy: types.RestartAlways,
			Containers: []types.Container{
				{Name: "echo", Image: "podling/echo:dev", Ports: []types.ContainerPort{{Name: "http", ContainerPort: 8080}}},
				{Name: "sidecar", Image: "podling/echo:dev", Env: map[string]string{"ECHO_ADDR": ":9090"}},
			},
			Status: types.PodRunning, NodeID: "worker-1", PodIP: "172.18.0.3",
			ContainerStatuses: []types.ContainerStatus{
				{Name: "echo", ContainerID: "a1b2c3d4e5f6", State: types.ContainerRunning, Ready: true, RestartCount: 0},
				{Name: "sidecar", ContainerID: "f6e5d4c3b2a1", State: types.ContainerRunning, Ready: false, RestartCount: 2},
			},
			CreatedAt: now.Add(-5 * time.Hour), UpdatedAt: now.Add(-4 * time.Hour), StartedAt: ptr(now.Add(-5 * time.Hour)),
		},
		{
			PodID: podBatchID, Name: "batch", Namespace: "default", RestartPolicy: types.RestartNever,
			Containers: []types.Container{{
				Name: "job", Image: "podling/echo:dev",
				Resources: types.Resources{Requests: types.ResourceList{CPUMillis: 4000, MemoryBytes: 8 << 30}},
			}},
			Status: types.PodPending, Reason: types.ReasonUnschedulable,
			Message:   "requests 4000m CPU and 8192 MiB; the most any node has free is 1500m and 2048 MiB",
			CreatedAt: now.Add(-17 * time.Minute), UpdatedAt: now.Add(-17 * time.Minute),
		},
	}
}

func fakeNodes(now time.Time) []types.Node {
	return []types.Node{
		{
			NodeID: "worker-1", Hostname: "127.0.0.1", Port: 8081, Capacity: 10, CPUMillis: 2000, MemoryBytes: 4 << 30,
			Allocatable: types.ResourceList{CPUMillis: 2000, MemoryBytes: 4 << 30},
			Used:        types.ResourceList{CPUMillis: 500, MemoryBytes: 512 << 20},
			Status:      types.NodeOnline, RunningTasks: 1, RunningPods: 1,
			LastHeartbeat: now.Add(-2 * time.Second), RegisteredAt: now.Add(-72 * time.Hour),
		},
		{
			NodeID: "worker-2", Hostname: "192.0.2.12", Port: 8081, Capacity: 4,
			Status: types.NodeOffline, Unschedulable: true, CordonReason: types.ReasonDrained,
			LastHeartbeat: now.Add(-5 * time.Hour), RegisteredAt: now.Add(-5 * time.Hour),
		},
	}
}

func fakeServices(now time.Time) []types.Service {
	return []types.Service{
		{
			ServiceID: serviceWeb, Name: "web", Namespace: "shop", Selector: map[string]string{"app": "web"},
			Ports:     []types.ServicePort{{Name: "http", Port: 80, TargetPort: 8080}, {Name: "metrics", Port: 9090, TargetPort: 9090}},
			CreatedAt: now.Add(-5 * time.Hour),
		},
		{
			ServiceID: serviceDB, Name: "db", Namespace: "default", Labels: map[string]string{"team": "data"},
			Selector: map[string]string{}, Ports: []types.ServicePort{{Port: 5432, TargetPort: 5432}},
			CreatedAt: now.Add(-17 * time.Minute),
		},
	}
}

func fakeEndpoints() types.Endpoints {
	return types.Endpoints{
		ServiceID: serviceWeb, Name: "web", Namespace: "shop",
		Addresses: []types.EndpointAddress{
			{Address: "172.18.0.3:8080", IP: "172.18.0.3", Port: 8080, PortName: "http", PodID: podWebID, PodName: "web-pod", NodeID: "worker-1"},
		},
		NotReadyAddresses: []types.EndpointAddress{
			{Address: "172.18.0.3:9090", IP: "172.18.0.3", Port: 9090, PortName: "metrics", PodID: podWebID, PodName: "web-pod", NodeID: "worker-1"},
		},
	}
}

// timestampPattern matches the times of the fake objects, which follow
// the clock. normalize replaces them with a placeholder of the same
// length, so the columns of a table stay aligned.
var timestampPattern = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z`)

func normalize(output string) string {
	return timestampPattern.ReplaceAllString(output, "YYYY-MM-DDThh:mm:ssZ")
}

// checkGolden compares output with testdata/NAME.golden, or rewrites the
// file with -update.
func checkGolden(t *testing.T, name, output string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(output), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v; run go test ./internal/cli -run Golden -update to create it", path, err)
	}
	if output != string(want) {
		t.Errorf("output differs from %s (run with -update to accept it)\ngot:\n%s\nwant:\n%s", path, output, want)
	}
}

func TestGolden_ListOutput(t *testing.T) {
	fake := startFakeMaster(t)
	cases := []struct {
		golden string
		args   []string
	}{
		{"ps", []string{"ps"}},
		{"ps-wide", []string{"ps", "-o", "wide"}},
		{"ps-json", []string{"ps", "-o", "json"}},
		{"pods", []string{"pods"}},
		{"pods-wide", []string{"pods", "-o", "wide"}},
		{"pods-json", []string{"pods", "-o", "json"}},
		{"nodes", []string{"nodes"}},
		{"nodes-wide", []string{"nodes", "-o", "wide"}},
		{"nodes-json", []string{"nodes", "-o", "json"}},
		{"services", []string{"services"}},
		{"services-json", []string{"services", "-o", "json"}},
		{"endpoints", []string{"service", "endpoints", serviceWeb}},
		{"endpoints-json", []string{"service", "endpoints", serviceWeb, "-o", "json"}},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			res := runCLI(t, append([]string{"--masters", fake.server.URL}, tc.args...)...).wantCode(t, ExitOK)
			if res.stderr != "" {
				t.Errorf("stderr = %q, want nothing", res.stderr)
			}
			checkGolden(t, tc.golden, normalize(res.stdout))
		})
	}
}

// TestGolden_JSONDecodesToObjects checks that the JSON goldens are the
// API's objects, so a golden accepted with -update cannot drift from the
// wire format unnoticed.
func TestGolden_JSONDecodesToObjects(t *testing.T) {
	decoders := map[string]func([]byte) error{
		"ps-json":        func(b []byte) error { return strictDecode[[]types.Task](b) },
		"pods-json":      func(b []byte) error { return strictDecode[[]types.Pod](b) },
		"nodes-json":     func(b []byte) error { return strictDecode[[]types.Node](b) },
		"services-json":  func(b []byte) error { return strictDecode[[]types.Service](b) },
		"endpoints-json": func(b []byte) error { return strictDecode[types.Endpoints](b) },
	}
	for name, decode := range decoders {
		data, err := os.ReadFile(filepath.Join("testdata", name+".golden"))
		if err != nil {
			t.Errorf("read %s: %v", name, err)
			continue
		}
		restored := strings.ReplaceAll(string(data), "YYYY-MM-DDThh:mm:ssZ", "2025-01-19T12:34:56Z")
		if err := decode([]byte(restored)); err != nil {
			t.Errorf("%s.golden does not decode strictly: %v", name, err)
		}
	}
}

func strictDecode[T any](data []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var v T
	return dec.Decode(&v)
}

// TestMasters_FirstDeadStillServes lists through --masters whose first
// URL is a closed loopback port: the client moves on to the live master
// and the output is the same as with the live master alone.
func TestMasters_FirstDeadStillServes(t *testing.T) {
	fake := startFakeMaster(t)
	dead := closedMaster(t)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"ps", []string{"ps"}},
		{"nodes-json", []string{"nodes", "-o", "json"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			before := fake.requests.Load()
			args := append([]string{"--masters", dead + "," + fake.server.URL}, tc.args...)
			res := runCLI(t, args...).wantCode(t, ExitOK)
			if res.stderr != "" {
				t.Errorf("stderr = %q, want nothing", res.stderr)
			}
			if served := fake.requests.Load() - before; served != 1 {
				t.Errorf("live master served %d requests, want 1", served)
			}
			checkGolden(t, tc.golden, normalize(res.stdout))
		})
	}
}

// TestMasters_FirstDeadAgainstCluster runs commands against masters in
// this process with a dead URL first in --masters.
func TestMasters_FirstDeadAgainstCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a master in this process")
	}
	tc := startCluster(t, 1)
	masters := "--masters=" + closedMaster(t) + "," + tc.urls()

	created := runCLI(t, masters, "run", "past-dead", "--image", "podling/echo:dev").wantCode(t, ExitOK)
	id := strings.TrimSpace(created.stdout)
	if !idPattern.MatchString(id) {
		t.Fatalf("run printed %q, want a task ID", created.stdout)
	}
	tasks := decodeJSON[[]types.Task](t, runCLI(t, masters, "ps", "-o", "json").wantCode(t, ExitOK).stdout)
	if len(tasks) != 1 || tasks[0].TaskID != id {
		t.Errorf("ps -o json = %+v, want the task %s", tasks, id)
	}
	status := runCLI(t, masters, "cluster", "status").wantCode(t, ExitOK)
	if !strings.Contains(status.stdout, "1 (1 voters, 1 healthy)") {
		t.Errorf("cluster status:\n%s", status.stdout)
	}
}

// TestExitCode_Documented covers the exit codes 0 to 3 that podling
// --help documents; TestExitCode_Interrupted covers 130.
func TestExitCode_Documented(t *testing.T) {
	fake := startFakeMaster(t)
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"no leader known","code":"no_leader"}`))
	}))
	t.Cleanup(unavailable.Close)

	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string // a part of the expected standard error; empty means none
	}{
		{"success", []string{"--masters", fake.server.URL, "nodes"}, ExitOK, ""},
		{"rejected by the master", []string{"--masters", fake.server.URL, "get", "task", taskHelloID}, ExitFailed, "(not_found)"},
		{"no leader on every master", []string{"--masters", unavailable.URL, "--timeout", "300ms", "ps"}, ExitFailed, "no leader known (no_leader)"},
		{"unknown output format", []string{"--masters", fake.server.URL, "ps", "-o", "xml"}, ExitUsage, "invalid output format"},
		{"missing argument", []string{"--masters", fake.server.URL, "logs"}, ExitUsage, "--help' for usage"},
		{"every master unreachable", []string{"--masters", closedMaster(t) + "," + closedMaster(t), "--timeout", "300ms", "ps"}, ExitUnreachable, "no master reachable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := runCLI(t, tc.args...).wantCode(t, tc.code)
			if tc.stderr == "" && res.stderr != "" {
				t.Errorf("stderr = %q, want nothing", res.stderr)
			}
			if !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", res.stderr, tc.stderr)
			}
		})
	}
}

// TestExitCode_Interrupted cancels a command while the master holds its
// request, as Ctrl-C does.
func TestExitCode_Interrupted(t *testing.T) {
	arrived := make(chan struct{}, 1)
	held := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(held.Close)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan result, 1)
	go func() {
		done <- runWith(t, ctx, Streams{In: strings.NewReader("")}, "--masters", held.URL, "ps")
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the master")
	}
	cancel()

	select {
	case res := <-done:
		if res.code != ExitInterrupted {
			t.Errorf("exit code %d, want %d; stderr %q", res.code, ExitInterrupted, res.stderr)
		}
		if res.stderr != "podling: interrupted\n" {
			t.Errorf("stderr = %q, want %q", res.stderr, "podling: interrupted\n")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not stop after its context was cancelled")
	}
}
