package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/podling/podling/internal/client"
	"github.com/podling/podling/internal/types"
)

var idPattern = regexp.MustCompile(`^[0-9]{14}-[a-z0-9]{8}$`)

// lines splits output into lines without the trailing empty one.
func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

// fields splits a table line into its cells.
func fields(line string) []string { return strings.Fields(line) }

// decodeJSON decodes command output into a value of type T.
func decodeJSON[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	return v
}

// TestCommands_AgainstCluster runs the commands against three masters in
// this process and a stub worker registered as a node.
func TestCommands_AgainstCluster(t *testing.T) {
	tc := startCluster(t, 3)
	startStubWorker(t, tc, "stub-1")
	masters := "--masters=" + tc.urls()

	t.Run("run and ps", func(t *testing.T) { testRunAndPs(t, masters) })
	t.Run("run wait", func(t *testing.T) { testRunWait(t, masters) })
	t.Run("get unknown", func(t *testing.T) { testGetUnknown(t, masters) })
	t.Run("pods", func(t *testing.T) { testPods(t, masters) })
	t.Run("nodes", func(t *testing.T) { testNodes(t, masters) })
	t.Run("logs", func(t *testing.T) { testLogs(t, masters) })
	t.Run("services", func(t *testing.T) { testServices(t, masters) })
	t.Run("watch", func(t *testing.T) { testWatch(t, masters) })
	t.Run("cluster", func(t *testing.T) { testClusterCommands(t, masters) })
	t.Run("snapshot", func(t *testing.T) { testSnapshot(t, masters) })
}

func testRunAndPs(t *testing.T, masters string) {
	created := runCLI(t, masters, "run", "listed", "--image", "podling/echo:dev", "-e", "A=1,2", "-l", "app=ps,tier=web", "-n", "team").wantCode(t, 0)
	id := strings.TrimSpace(created.stdout)
	if !idPattern.MatchString(id) {
		t.Fatalf("run printed %q, want a task ID", created.stdout)
	}

	table := runCLI(t, masters, "ps", "-n", "team").wantCode(t, 0)
	rows := lines(table.stdout)
	if got := fields(rows[0]); strings.Join(got, " ") != "ID NAME NAMESPACE IMAGE STATUS NODE AGE" {
		t.Errorf("header = %q", rows[0])
	}
	if len(rows) != 2 || fields(rows[1])[0] != id || fields(rows[1])[1] != "listed" || fields(rows[1])[2] != "team" {
		t.Errorf("ps table:\n%s", table.stdout)
	}

	asJSON := runCLI(t, masters, "ps", "-o", "json", "-l", "app=ps").wantCode(t, 0)
	tasks := decodeJSON[[]types.Task](t, asJSON.stdout)
	if len(tasks) != 1 || tasks[0].TaskID != id || tasks[0].Env["A"] != "1,2" || tasks[0].Labels["tier"] != "web" {
		t.Errorf("ps -o json = %+v", tasks)
	}

	wide := runCLI(t, masters, "ps", "-o", "wide", "-n", "team").wantCode(t, 0)
	if !strings.Contains(lines(wide.stdout)[0], "LABELS") || !strings.Contains(wide.stdout, "app=ps,tier=web") {
		t.Errorf("ps -o wide:\n%s", wide.stdout)
	}

	empty := runCLI(t, masters, "ps", "--status", "failed", "-n", "team").wantCode(t, 0)
	if len(lines(empty.stdout)) != 1 {
		t.Errorf("ps --status failed listed:\n%s", empty.stdout)
	}
	emptyJSON := runCLI(t, masters, "ps", "-o", "json", "-n", "nobody").wantCode(t, 0)
	if strings.TrimSpace(emptyJSON.stdout) != "[]" {
		t.Errorf("empty ps -o json = %q, want []", emptyJSON.stdout)
	}
}

func testRunWait(t *testing.T, masters string) {
	done := runWith(t, context.Background(), Streams{Terminal: true}, masters, "run", "waits", "--image", "podling/echo:dev", "--wait").wantCode(t, 0)
	id := strings.TrimSpace(done.stdout)
	if !idPattern.MatchString(id) {
		t.Fatalf("run --wait printed %q, want the task ID", done.stdout)
	}
	for _, want := range []string{id + ": pending", ": running", ": completed (exit code 0)"} {
		if !strings.Contains(done.stderr, want) {
			t.Errorf("progress on a terminal lacks %q:\n%s", want, done.stderr)
		}
	}

	quiet := runCLI(t, masters, "run", "quiet", "--image", "podling/echo:dev", "--wait", "-o", "json").wantCode(t, 0)
	if quiet.stderr != "" {
		t.Errorf("run --wait wrote %q to stderr without a terminal", quiet.stderr)
	}
	if task := decodeJSON[types.Task](t, quiet.stdout); task.Status != types.TaskCompleted {
		t.Errorf("run --wait -o json printed status %s", task.Status)
	}

	failed := runCLI(t, masters, "run", "fails", "--image", "podling/echo:dev", "-e", stubExitCode+"=3", "--wait").wantCode(t, ExitFailed)
	if !strings.Contains(failed.stderr, "failed: exited with code 3 (NonZeroExit)") {
		t.Errorf("failed task reported as %q", failed.stderr)
	}
}

func testGetUnknown(t *testing.T, masters string) {
	const id = "20250119123456-zzzzzzzz"
	res := runCLI(t, masters, "get", "task", id).wantCode(t, ExitFailed)
	if want := "podling: task " + id + ": not found (not_found)\n"; res.stderr != want {
		t.Errorf("stderr = %q, want %q", res.stderr, want)
	}
	invalid := runCLI(t, masters, "get", "pod", "not-an-id").wantCode(t, ExitFailed)
	if !strings.Contains(invalid.stderr, "(invalid_argument)") {
		t.Errorf("stderr = %q, want the server's invalid_argument", invalid.stderr)
	}
	node := runCLI(t, masters, "get", "node", "nowhere").wantCode(t, ExitFailed)
	if node.stderr != "podling: node nowhere: not found (not_found)\n" {
		t.Errorf("stderr = %q", node.stderr)
	}
	runCLI(t, masters, "get", "volume", id).wantCode(t, ExitUsage)
}

const podYAML = `# a pod with one container
name: web-pod
namespace: shop
labels:
  app: web
restartPolicy: OnFailure
containers:
  - name: echo
    image: podling/echo:dev
    env:
      GREETING: "hello: world"
    ports:
      - containerPort: 8080
`

func testPods(t *testing.T, masters string) {
	file := filepath.Join(t.TempDir(), "pod.yaml")
	if err := os.WriteFile(file, []byte(podYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	created := runCLI(t, masters, "pod", "create", "-f", file).wantCode(t, 0)
	id := strings.TrimSpace(created.stdout)
	if !idPattern.MatchString(id) {
		t.Fatalf("pod create printed %q", created.stdout)
	}

	table := runCLI(t, masters, "pods", "-n", "shop").wantCode(t, 0)
	rows := lines(table.stdout)
	if strings.Join(fields(rows[0]), " ") != "ID NAME NAMESPACE STATUS READY RESTARTS NODE AGE" {
		t.Errorf("header = %q", rows[0])
	}
	if len(rows) != 2 || fields(rows[1])[0] != id || fields(rows[1])[1] != "web-pod" {
		t.Errorf("pods table:\n%s", table.stdout)
	}

	pods := decodeJSON[[]types.Pod](t, runCLI(t, masters, "pods", "-o", "json", "-l", "app=web").wantCode(t, 0).stdout)
	if len(pods) != 1 || pods[0].Containers[0].Env["GREETING"] != "hello: world" || pods[0].RestartPolicy != types.RestartOnFailure {
		t.Errorf("pods -o json = %+v", pods)
	}

	asYAML := runCLI(t, masters, "get", "pod", id, "-o", "yaml").wantCode(t, 0)
	var pod types.Pod
	if err := yaml.Unmarshal([]byte(asYAML.stdout), &pod); err != nil || pod.PodID != id || !strings.Contains(asYAML.stdout, "podId: "+id) {
		t.Errorf("get pod -o yaml = %q, %v", asYAML.stdout, err)
	}

	again := runCLI(t, masters, "pod", "create", "-f", file).wantCode(t, ExitFailed)
	if !strings.Contains(again.stderr, "(already_exists)") {
		t.Errorf("second create: %q", again.stderr)
	}
	typo := filepath.Join(t.TempDir(), "typo.yaml")
	os.WriteFile(typo, []byte("name: x\ncontaners: []\n"), 0o600)
	if res := runCLI(t, masters, "pod", "create", "-f", typo).wantCode(t, ExitFailed); !strings.Contains(res.stderr, `unknown field "contaners"`) {
		t.Errorf("typo in manifest: %q", res.stderr)
	}

	removed := runCLI(t, masters, "pod", "rm", id).wantCode(t, 0)
	if strings.TrimSpace(removed.stdout) != id {
		t.Errorf("pod rm printed %q", removed.stdout)
	}
	runCLI(t, masters, "get", "pod", id).wantCode(t, ExitFailed)
}

func testNodes(t *testing.T, masters string) {
	table := runCLI(t, masters, "nodes").wantCode(t, 0)
	rows := lines(table.stdout)
	if strings.Join(fields(rows[0]), " ") != "ID STATUS SCHEDULABLE ADDRESS TASKS PODS CAPACITY AGE" {
		t.Errorf("header = %q", rows[0])
	}
	if len(rows) != 2 || fields(rows[1])[0] != "stub-1" || fields(rows[1])[1] != "online" || fields(rows[1])[2] != "yes" {
		t.Errorf("nodes table:\n%s", table.stdout)
	}
	nodes := decodeJSON[[]types.Node](t, runCLI(t, masters, "nodes", "-o", "json").wantCode(t, 0).stdout)
	if len(nodes) != 1 || nodes[0].NodeID != "stub-1" || nodes[0].Capacity != 8 {
		t.Errorf("nodes -o json = %+v", nodes)
	}

	drained := runCLI(t, masters, "node", "drain", "stub-1").wantCode(t, 0)
	if !strings.HasPrefix(drained.stdout, "node stub-1 drained; moved pods: ") {
		t.Errorf("drain printed %q", drained.stdout)
	}
	if row := lines(runCLI(t, masters, "node", "ls").stdout)[1]; !strings.Contains(row, "no (Drained)") {
		t.Errorf("drained node listed as %q", row)
	}
	runCLI(t, masters, "node", "uncordon", "stub-1").wantCode(t, 0)
	node := decodeJSON[types.Node](t, runCLI(t, masters, "get", "node", "stub-1", "-o", "json").wantCode(t, 0).stdout)
	if node.Unschedulable {
		t.Error("node still cordoned after uncordon")
	}
}

func testLogs(t *testing.T, masters string) {
	id := strings.TrimSpace(runCLI(t, masters, "run", "logged", "--image", "podling/echo:dev", "--wait").wantCode(t, 0).stdout)
	logs := runCLI(t, masters, "logs", id, "--tail", "2").wantCode(t, 0)
	if logs.stdout != "tasks "+id+": line 1\ntasks "+id+": line 2\n" {
		t.Errorf("task logs = %q", logs.stdout)
	}

	file := filepath.Join(t.TempDir(), "pod.json")
	os.WriteFile(file, []byte(`{"name":"logged-pod","containers":[{"name":"c","image":"podling/echo:dev"}]}`), 0o600)
	podID := strings.TrimSpace(runCLI(t, masters, "pod", "create", "-f", file).wantCode(t, 0).stdout)
	api := tcClient(t, masters)
	waitFor(t, 10*time.Second, "pod placement", func() bool {
		pod, _, err := api.GetPod(context.Background(), podID, client.ReadOptions{})
		return err == nil && pod.NodeID != ""
	})
	podLogs := runCLI(t, masters, "logs", podID).wantCode(t, 0)
	if !strings.HasPrefix(podLogs.stdout, "pods "+podID+": line 1") {
		t.Errorf("pod logs = %q", podLogs.stdout)
	}

	unknown := runCLI(t, masters, "logs", "20250119123456-zzzzzzzz").wantCode(t, ExitFailed)
	if !strings.Contains(unknown.stderr, "task 20250119123456-zzzzzzzz: not found; pod 20250119123456-zzzzzzzz: not found (not_found)") {
		t.Errorf("logs of an unknown ID: %q", unknown.stderr)
	}
}

func tcClient(t *testing.T, masters string) *client.Client {
	t.Helper()
	c, err := client.New(client.Options{Masters: strings.Split(strings.TrimPrefix(masters, "--masters="), ",")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testServices(t *testing.T, masters string) {
	created := runCLI(t, masters, "service", "create", "web", "--selector", "app=web", "--port", "http=80:8080", "--port", "metrics=9090", "-n", "shop").wantCode(t, 0)
	id := strings.TrimSpace(created.stdout)
	if !idPattern.MatchString(id) {
		t.Fatalf("service create printed %q", created.stdout)
	}
	table := runCLI(t, masters, "services", "-n", "shop").wantCode(t, 0)
	if row := lines(table.stdout)[1]; !strings.Contains(row, "app=web") || !strings.Contains(row, "http=80:8080,metrics=9090:9090") {
		t.Errorf("services row = %q", row)
	}
	endpoints := runCLI(t, masters, "service", "endpoints", id).wantCode(t, 0)
	if strings.Join(fields(lines(endpoints.stdout)[0]), " ") != "ADDRESS READY POD POD ID NODE PORT NAME" {
		t.Errorf("endpoints:\n%s", endpoints.stdout)
	}
	svc := decodeJSON[types.Service](t, runCLI(t, masters, "service", "get", id, "-o", "json").wantCode(t, 0).stdout)
	if svc.Ports[0] != (types.ServicePort{Name: "http", Port: 80, TargetPort: 8080}) {
		t.Errorf("service ports = %+v", svc.Ports)
	}
	runCLI(t, masters, "service", "create", "no-port", "--selector", "app=web").wantCode(t, ExitUsage)
	runCLI(t, masters, "service", "create", "bad", "--port", "80:http").wantCode(t, ExitUsage)
	runCLI(t, masters, "service", "rm", id).wantCode(t, 0)
	runCLI(t, masters, "service", "get", id).wantCode(t, ExitFailed)
}

func testWatch(t *testing.T, masters string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{masters, "ps", "-n", "watched", "--watch"}, Streams{Out: &stdout, Err: &stderr}, noEnv)
	}()
	waitFor(t, 10*time.Second, "first render", func() bool { return strings.Contains(stdout.String(), "NAMESPACE") })

	runCLI(t, masters, "run", "appears", "-n", "watched", "--image", "podling/echo:dev").wantCode(t, 0)
	waitFor(t, 15*time.Second, "second render", func() bool { return strings.Contains(stdout.String(), "appears") })
	if n := strings.Count(stdout.String(), "NAMESPACE"); n < 2 {
		t.Errorf("watch printed %d tables, want a second one:\n%s", n, stdout.String())
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("watch ended with code %d, stderr %q", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not stop after its context was cancelled")
	}
}

func testClusterCommands(t *testing.T, masters string) {
	members := runCLI(t, masters, "cluster", "members").wantCode(t, 0)
	rows := lines(members.stdout)
	if len(rows) != 4 {
		t.Fatalf("cluster members:\n%s", members.stdout)
	}
	leaders := 0
	for _, row := range rows[1:] {
		cells := fields(row)
		if cells[1] == "yes" {
			leaders++
		}
		if cells[2] != "yes" || cells[3] != "yes" {
			t.Errorf("member row %q: want a healthy voter", row)
		}
	}
	if leaders != 1 {
		t.Errorf("%d leaders in:\n%s", leaders, members.stdout)
	}

	info := decodeJSON[client.ClusterInfo](t, runCLI(t, masters, "cluster", "status", "-o", "json").wantCode(t, 0).stdout)
	if info.LeaderID == "" || len(info.Members) != 3 {
		t.Errorf("cluster status -o json = %+v", info)
	}
	status := runCLI(t, masters, "cluster", "status").wantCode(t, 0)
	if !strings.Contains(status.stdout, "3 (3 voters, 3 healthy)") {
		t.Errorf("cluster status:\n%s", status.stdout)
	}

	failovers := decodeJSON[[]types.LeaderChange](t, runCLI(t, masters, "cluster", "failovers", "-o", "json").wantCode(t, 0).stdout)
	if len(failovers) == 0 || failovers[len(failovers)-1].LeaderID != info.LeaderID {
		t.Errorf("failovers = %+v, want the current leader last", failovers)
	}

	runCLI(t, masters, "cluster", "remove", "m9").wantCode(t, ExitFailed)
}

func testSnapshot(t *testing.T, masters string) {
	file := filepath.Join(t.TempDir(), "backup.json")
	saved := runCLI(t, masters, "snapshot", "save", file).wantCode(t, 0)
	if saved.stdout != "" || saved.stderr != "" {
		t.Errorf("snapshot save without a terminal printed %q and %q", saved.stdout, saved.stderr)
	}
	if info, err := os.Stat(file); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("snapshot file: %v, %v; want mode 0600", info, err)
	}
	shown := runWith(t, context.Background(), Streams{Terminal: true}, masters, "snapshot", "save", file).wantCode(t, 0)
	if !strings.Contains(shown.stderr, "saved snapshot to "+file) {
		t.Errorf("snapshot save on a terminal showed %q", shown.stderr)
	}
	want := decodeJSON[[]types.Task](t, runCLI(t, masters, "ps", "-o", "json").wantCode(t, 0).stdout)

	fresh := startCluster(t, 1)
	target := "--masters=" + fresh.urls()
	restored := runCLI(t, target, "snapshot", "restore", file).wantCode(t, 0)
	if !strings.HasPrefix(restored.stdout, "restored ") {
		t.Errorf("restore printed %q", restored.stdout)
	}
	var got []types.Task
	waitFor(t, 15*time.Second, "restored tasks", func() bool {
		res := runCLI(t, target, "ps", "-o", "json")
		return res.code == 0 && json.Unmarshal([]byte(res.stdout), &got) == nil && len(got) == len(want)
	})
	for i := range want {
		if got[i].TaskID != want[i].TaskID {
			t.Errorf("restored task %d is %s, want %s", i, got[i].TaskID, want[i].TaskID)
		}
	}

	damaged := filepath.Join(t.TempDir(), "damaged.json")
	os.WriteFile(damaged, []byte(`{"version":`), 0o600)
	if res := runCLI(t, target, "snapshot", "restore", damaged).wantCode(t, ExitFailed); !strings.Contains(res.stderr, "(invalid_argument)") {
		t.Errorf("damaged restore: %q", res.stderr)
	}
}
