package docker_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/runtime/docker"
	"github.com/podling/podling/internal/testutil"
)

// podEnv holds what the subtests of TestPods share.
type podEnv struct {
	cli     *client.Client
	rt      *docker.Runtime
	echo    string
	pause   string
	nodeID  string
	network string
}

// TestPods runs pod containers on the real Docker engine, on a network of
// their own, with the echo and pause images built once.
func TestPods(t *testing.T) {
	cli := testutil.RequireDocker(t)
	suffix := testutil.RandomSuffix(t)
	e := &podEnv{
		cli:     cli,
		echo:    "podling/echo:test-" + suffix,
		pause:   "podling/pause:test-" + suffix,
		nodeID:  "test-node-" + suffix,
		network: testutil.NetworkName(t, cli),
	}
	testutil.BuildGoImage(t, cli, "github.com/podling/podling/cmd/podling-echo", e.echo)
	testutil.BuildGoImage(t, cli, "github.com/podling/podling/cmd/podling-pause", e.pause)
	testutil.RemoveContainersAtCleanup(t, cli, runtime.LabelNodeID, e.nodeID)
	e.rt = docker.New(cli, docker.Options{NodeID: e.nodeID, Network: e.network, HostPortIP: "127.0.0.1"})
	if err := e.rt.EnsureNetwork(testContext(t)); err != nil {
		t.Fatalf("EnsureNetwork: %v", err)
	}

	t.Run("EnsureNetworkIsIdempotent", e.testEnsureNetwork)
	t.Run("ContainersShareSandboxNetwork", e.testShareNetwork)
	t.Run("HostPortOnSandbox", e.testHostPort)
	t.Run("HigherRestartCountReplaces", e.testReplace)
	t.Run("ExecReturnsExitCode", e.testExec)
	t.Run("LogsFollowUntilExit", e.testLogsFollow)
	t.Run("RemovePodRemovesAll", e.testRemovePod)
	t.Run("MissingPauseImageFailsPull", e.testMissingPause)
}

func (e *podEnv) newPodID(t *testing.T) string {
	return "20250119123456-" + testutil.RandomSuffix(t)
}

func (e *podEnv) startSandbox(t *testing.T, podID string) runtime.Container {
	t.Helper()
	sandbox, err := e.rt.StartSandbox(testContext(t), runtime.SandboxSpec{PodID: podID, Image: e.pause, PodSpec: `{"podId":"` + podID + `"}`})
	if err != nil {
		t.Fatalf("StartSandbox: %v", err)
	}
	return sandbox
}

func (e *podEnv) startMember(t *testing.T, sandbox runtime.Container, name string, args ...string) string {
	t.Helper()
	id, err := e.rt.StartPodContainer(testContext(t), runtime.PodContainerSpec{
		PodID: sandbox.PodID, Name: name, SandboxID: sandbox.ID, Image: e.echo, Args: args,
		CPUMillis: 500, MemoryBytes: 64 << 20,
	})
	if err != nil {
		t.Fatalf("StartPodContainer(%s): %v", name, err)
	}
	return id
}

func (e *podEnv) testEnsureNetwork(t *testing.T) {
	if err := e.rt.EnsureNetwork(testContext(t)); err != nil {
		t.Fatalf("second EnsureNetwork: %v", err)
	}
	info, err := e.cli.NetworkInspect(testContext(t), e.network, network.InspectOptions{})
	if err != nil {
		t.Fatalf("inspect network: %v", err)
	}
	if info.Driver != "bridge" {
		t.Errorf("network driver = %q, want bridge", info.Driver)
	}
	if info.Labels[runtime.LabelManaged] != "true" {
		t.Errorf("network labels = %v, want %s=true", info.Labels, runtime.LabelManaged)
	}
}

// The second container reaches the first over localhost, and the host
// reaches the pod at its IP on the network.
func (e *podEnv) testShareNetwork(t *testing.T) {
	podID := e.newPodID(t)
	sandbox := e.startSandbox(t, podID)
	if sandbox.IP == "" || !sandbox.Sandbox || sandbox.PodSpec == "" {
		t.Fatalf("sandbox = %+v, want an IP, the sandbox role and the pod spec", sandbox)
	}
	again := e.startSandbox(t, podID)
	if again.ID != sandbox.ID {
		t.Errorf("second StartSandbox = %s, want %s", again.ID, sandbox.ID)
	}

	server := e.startMember(t, sandbox, "server")
	waitForHTTP(t, "http://"+sandbox.IP+":8080/healthz")
	client := e.startMember(t, sandbox, "client", "-get", "http://localhost:8080/from-client")
	code, err := e.rt.Wait(testContext(t), client)
	if err != nil || code != 0 {
		t.Errorf("client container exit = %d, %v; want 0", code, err)
	}

	resp, err := e.cli.ContainerInspect(testContext(t), server)
	if err != nil {
		t.Fatalf("inspect server: %v", err)
	}
	if resp.Name != "/"+docker.PodContainerName(podID, "server") {
		t.Errorf("container name = %q, want %q", resp.Name, "/"+docker.PodContainerName(podID, "server"))
	}
	if resp.HostConfig.NanoCPUs != 500_000_000 || resp.HostConfig.Memory != 64<<20 {
		t.Errorf("limits = %d nano CPUs, %d bytes; want 500000000 and %d", resp.HostConfig.NanoCPUs, resp.HostConfig.Memory, 64<<20)
	}
	want := map[string]string{
		runtime.LabelManaged: "true", runtime.LabelNodeID: e.nodeID, runtime.LabelPodID: podID,
		runtime.LabelContainerName: "server", runtime.LabelRestartCount: "0",
	}
	for key, value := range want {
		if got := resp.Config.Labels[key]; got != value {
			t.Errorf("label %s = %q, want %q", key, got, value)
		}
	}
}

func (e *podEnv) testHostPort(t *testing.T) {
	hostPort := freePort(t)
	spec := runtime.SandboxSpec{PodID: e.newPodID(t), Image: e.pause, Ports: []runtime.PortBinding{{ContainerPort: 8080, HostPort: hostPort}}}
	sandbox, err := e.rt.StartSandbox(testContext(t), spec)
	if err != nil {
		t.Fatalf("StartSandbox: %v", err)
	}
	e.startMember(t, sandbox, "server")
	waitForHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", hostPort))
}

// freePort returns a loopback TCP port that nothing listened on a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (e *podEnv) testReplace(t *testing.T) {
	sandbox := e.startSandbox(t, e.newPodID(t))
	spec := runtime.PodContainerSpec{PodID: sandbox.PodID, Name: "app", SandboxID: sandbox.ID, Image: e.echo, Args: []string{"-exit", "1"}}
	first, err := e.rt.StartPodContainer(testContext(t), spec)
	if err != nil {
		t.Fatalf("StartPodContainer: %v", err)
	}
	same, err := e.rt.StartPodContainer(testContext(t), spec)
	if err != nil || same != first {
		t.Errorf("StartPodContainer with the same count = %s, %v; want %s", same, err, first)
	}

	spec.RestartCount = 1
	second, err := e.rt.StartPodContainer(testContext(t), spec)
	if err != nil || second == first {
		t.Fatalf("StartPodContainer with count 1 = %s, %v; want a new container", second, err)
	}
	if _, err := e.rt.Inspect(testContext(t), first); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect of replaced container: %v, want ErrNotFound", err)
	}
	c, err := e.rt.Inspect(testContext(t), second)
	if err != nil || c.RestartCount != 1 || c.Name != "app" || c.PodID != sandbox.PodID {
		t.Errorf("Inspect of replacement = %+v, %v; want restart count 1 of app in the pod", c, err)
	}
}

func (e *podEnv) testExec(t *testing.T) {
	sandbox := e.startSandbox(t, e.newPodID(t))
	id := e.startMember(t, sandbox, "app")
	waitForHTTP(t, "http://"+sandbox.IP+":8080/healthz")

	tests := []struct {
		cmd  []string
		want int
	}{
		// testutil.BuildGoImage installs the program as /app.
		{[]string{"/app", "-get", "http://localhost:8080/healthz"}, 0},
		{[]string{"/app", "-exit", "3"}, 3},
	}
	for _, tc := range tests {
		code, err := e.rt.Exec(testContext(t), id, tc.cmd)
		if err != nil || code != tc.want {
			t.Errorf("Exec(%q) = %d, %v; want %d", tc.cmd, code, err, tc.want)
		}
	}
	// The engine reports a command it cannot run with code 126 or 127.
	code, err := e.rt.Exec(testContext(t), id, []string{"/no-such-binary"})
	if err != nil || (code != 126 && code != 127) {
		t.Errorf("Exec of a missing binary = %d, %v; want 126 or 127", code, err)
	}
}

func (e *podEnv) testLogsFollow(t *testing.T) {
	sandbox := e.startSandbox(t, e.newPodID(t))
	id := e.startMember(t, sandbox, "app", "-exit", "0", "-lines", "2", "-sleep", "1s")

	logs, err := e.rt.Logs(testContext(t), id, runtime.LogOptions{Tail: 100, Follow: true})
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	defer logs.Close()
	text, err := io.ReadAll(logs)
	if err != nil {
		t.Fatalf("read followed logs: %v", err)
	}
	want := "podling-echo line 1\npodling-echo line 2\npodling-echo exiting with code 0\n"
	if string(text) != want {
		t.Errorf("followed logs = %q, want %q", text, want)
	}
}

func (e *podEnv) testRemovePod(t *testing.T) {
	sandbox := e.startSandbox(t, e.newPodID(t))
	e.startMember(t, sandbox, "one")
	e.startMember(t, sandbox, "two", "-exit", "0")

	list, err := e.rt.ListPods(testContext(t))
	if err != nil {
		t.Fatalf("ListPods: %v", err)
	}
	if n := countPod(list, sandbox.PodID); n != 3 {
		t.Errorf("ListPods has %d containers of the pod, want 3", n)
	}
	removed, err := e.rt.RemovePod(testContext(t), sandbox.PodID, time.Second)
	if err != nil || removed != 3 {
		t.Errorf("RemovePod = %d, %v; want 3", removed, err)
	}
	if n := testutil.CountContainers(t, e.cli, runtime.LabelPodID, sandbox.PodID); n != 0 {
		t.Errorf("containers labelled with the pod after RemovePod = %d, want 0", n)
	}
	removed, err = e.rt.RemovePod(testContext(t), sandbox.PodID, time.Second)
	if err != nil || removed != 0 {
		t.Errorf("second RemovePod = %d, %v; want 0", removed, err)
	}
}

func (e *podEnv) testMissingPause(t *testing.T) {
	_, err := e.rt.StartSandbox(testContext(t), runtime.SandboxSpec{PodID: e.newPodID(t), Image: missingImage})
	if !errors.Is(err, runtime.ErrImagePull) || !strings.Contains(err.Error(), missingImage) {
		t.Errorf("StartSandbox with a missing image: %v, want ErrImagePull naming %s", err, missingImage)
	}
}

func countPod(list []runtime.Container, podID string) int {
	n := 0
	for _, c := range list {
		if c.PodID == podID {
			n++
		}
	}
	return n
}

// waitForHTTP polls url from the host until it returns 200.
func waitForHTTP(t *testing.T, url string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s did not return 200 within 30s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
