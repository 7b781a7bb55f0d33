package docker_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/runtime/docker"
	"github.com/podling/podling/internal/testutil"
)

const missingImage = "127.0.0.1:1/podling/does-not-exist:never"

// env holds what the subtests of TestRuntime share.
type env struct {
	cli    *client.Client
	rt     *docker.Runtime
	image  string
	nodeID string
}

// TestRuntime runs against the real Docker engine. It builds the echo
// workload image once and shares it between its subtests.
func TestRuntime(t *testing.T) {
	cli := testutil.RequireDocker(t)
	suffix := testutil.RandomSuffix(t)
	e := &env{cli: cli, image: "podling/echo:test-" + suffix, nodeID: "test-node-" + suffix}
	testutil.BuildGoImage(t, cli, "github.com/podling/podling/cmd/podling-echo", e.image)
	e.rt = docker.New(cli, docker.Options{NodeID: e.nodeID})

	t.Run("StartLabelsContainer", e.testStartLabelsContainer)
	t.Run("StartTwiceReturnsSameContainer", e.testStartTwice)
	t.Run("StartStartsCreatedContainer", e.testStartCreated)
	t.Run("WaitReturnsExitCode", e.testWaitExitCode)
	t.Run("LogsTail", e.testLogsTail)
	t.Run("MissingImageFailsPull", e.testMissingImage)
	t.Run("InvalidTaskIDRejected", e.testInvalidTaskID)
	t.Run("FindUnknownTask", e.testFindUnknown)
	t.Run("Resources", e.testResources)
}

// start starts a container for a new task and removes it when the test ends.
func (e *env) start(t *testing.T, envVars map[string]string) (taskID, containerID string) {
	t.Helper()
	taskID = "20250119123456-" + testutil.RandomSuffix(t)
	t.Cleanup(func() { e.removeTask(t, taskID) })
	containerID, err := e.rt.Start(testContext(t), runtime.Spec{TaskID: taskID, Name: t.Name(), Image: e.image, Env: envVars})
	if err != nil {
		t.Fatalf("Start(%s): %v", taskID, err)
	}
	return taskID, containerID
}

func (e *env) removeTask(t *testing.T, taskID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := e.rt.Find(ctx, taskID)
	if errors.Is(err, runtime.ErrNotFound) {
		return
	}
	if err == nil {
		err = e.rt.Remove(ctx, c.ID)
	}
	if err != nil {
		t.Errorf("remove container of task %s: %v", taskID, err)
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) testStartLabelsContainer(t *testing.T) {
	taskID, id := e.start(t, nil)

	resp, err := e.cli.ContainerInspect(testContext(t), id)
	if err != nil {
		t.Fatalf("inspect container: %v", err)
	}
	if resp.Name != "/"+docker.ContainerName(taskID) {
		t.Errorf("container name = %q, want %q", resp.Name, "/"+docker.ContainerName(taskID))
	}
	labels := resp.Config.Labels
	want := map[string]string{
		runtime.LabelTaskID:  taskID,
		runtime.LabelManaged: "true",
		runtime.LabelNodeID:  e.nodeID,
	}
	for key, value := range want {
		if labels[key] != value {
			t.Errorf("label %s = %q, want %q", key, labels[key], value)
		}
	}
	if !resp.State.Running {
		t.Errorf("container state = %s, want running", resp.State.Status)
	}
}

func (e *env) testStartTwice(t *testing.T) {
	taskID, first := e.start(t, nil)

	second, err := e.rt.Start(testContext(t), runtime.Spec{TaskID: taskID, Image: e.image})
	if err != nil {
		t.Fatalf("second Start: %v", err)
	}
	if second != first {
		t.Errorf("second Start returned container %s, want %s", second, first)
	}
	list, err := e.rt.List(testContext(t))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	count := 0
	for _, c := range list {
		if c.TaskID == taskID {
			count++
		}
	}
	if count != 1 {
		t.Errorf("List has %d containers for the task, want 1", count)
	}
}

// A worker that stopped between creating and starting a container leaves
// it in the created state; Start must start that container.
func (e *env) testStartCreated(t *testing.T) {
	taskID := "20250119123456-" + testutil.RandomSuffix(t)
	t.Cleanup(func() { e.removeTask(t, taskID) })
	labels := map[string]string{runtime.LabelTaskID: taskID, runtime.LabelManaged: "true", runtime.LabelNodeID: e.nodeID}
	created, err := e.cli.ContainerCreate(testContext(t), &container.Config{Image: e.image, Labels: labels},
		nil, nil, nil, docker.ContainerName(taskID))
	if err != nil {
		t.Fatalf("create container: %v", err)
	}

	id, err := e.rt.Start(testContext(t), runtime.Spec{TaskID: taskID, Image: e.image})
	if err != nil || id != created.ID {
		t.Fatalf("Start = %s, %v; want %s, nil", id, err, created.ID)
	}
	c, err := e.rt.Inspect(testContext(t), id)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if c.State != runtime.StateRunning {
		t.Errorf("state after Start = %s, want running", c.State)
	}
}

func (e *env) testWaitExitCode(t *testing.T) {
	taskID, id := e.start(t, map[string]string{"ECHO_EXIT_CODE": "3"})

	code, err := e.rt.Wait(testContext(t), id)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if code != 3 {
		t.Errorf("exit code = %d, want 3", code)
	}
	c, err := e.rt.Find(testContext(t), taskID)
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	if c.State != runtime.StateExited || c.ExitCode != 3 {
		t.Errorf("Find = state %s code %d, want exited with code 3", c.State, c.ExitCode)
	}
	// The engine orders lines of the two streams by arrival, so only the
	// set of lines is checked. The last line came from standard error.
	logs := e.readLogs(t, id, 100)
	for _, line := range []string{"podling-echo line 1\n", "podling-echo exiting with code 3\n"} {
		if !strings.Contains(logs, line) {
			t.Errorf("logs %q do not contain %q", logs, line)
		}
	}
	if n := strings.Count(logs, "\n"); n != 2 {
		t.Errorf("logs %q have %d lines, want 2", logs, n)
	}

	// Starting an exited task again must not run it a second time.
	again, err := e.rt.Start(testContext(t), runtime.Spec{TaskID: taskID, Image: e.image})
	if err != nil || again != id {
		t.Errorf("Start after exit = %s, %v; want %s, nil", again, err, id)
	}
}

func (e *env) testLogsTail(t *testing.T) {
	_, id := e.start(t, map[string]string{"ECHO_EXIT_CODE": "0", "ECHO_LINES": "5"})
	if _, err := e.rt.Wait(testContext(t), id); err != nil {
		t.Fatalf("Wait: %v", err)
	}

	want := "podling-echo line 5\npodling-echo exiting with code 0\n"
	if got := e.readLogs(t, id, 2); got != want {
		t.Errorf("logs with tail 2 = %q, want %q", got, want)
	}
}

func (e *env) readLogs(t *testing.T, containerID string, tail int) string {
	t.Helper()
	logs, err := e.rt.Logs(testContext(t), containerID, runtime.LogOptions{Tail: tail})
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	defer logs.Close()
	text, err := io.ReadAll(logs)
	if err != nil {
		t.Fatalf("read logs: %v", err)
	}
	return string(text)
}

func (e *env) testMissingImage(t *testing.T) {
	taskID := "20250119123456-" + testutil.RandomSuffix(t)
	t.Cleanup(func() { e.removeTask(t, taskID) })

	_, err := e.rt.Start(testContext(t), runtime.Spec{TaskID: taskID, Image: missingImage})
	if !errors.Is(err, runtime.ErrImagePull) {
		t.Fatalf("Start with missing image: error %v, want ErrImagePull", err)
	}
	if !strings.Contains(err.Error(), missingImage) {
		t.Errorf("error %q does not name image %s", err, missingImage)
	}
	if _, err := e.rt.Find(testContext(t), taskID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Find after failed pull: error %v, want ErrNotFound", err)
	}
}

func (e *env) testInvalidTaskID(t *testing.T) {
	for _, id := range []string{"", "Upper-Case", "-leading-hyphen", "has/slash", strings.Repeat("a", 64)} {
		_, err := e.rt.Start(testContext(t), runtime.Spec{TaskID: id, Image: e.image})
		if !errors.Is(err, runtime.ErrInvalidTaskID) {
			t.Errorf("Start(%q): error %v, want ErrInvalidTaskID", id, err)
		}
	}
}

func (e *env) testFindUnknown(t *testing.T) {
	_, err := e.rt.Find(testContext(t), "20250119123456-"+testutil.RandomSuffix(t))
	if !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Find unknown task: error %v, want ErrNotFound", err)
	}
	if err := e.rt.Remove(testContext(t), "no-such-container-"+testutil.RandomSuffix(t)); err != nil {
		t.Errorf("Remove unknown container: %v, want nil", err)
	}
}

func (e *env) testResources(t *testing.T) {
	res, err := e.rt.Resources(testContext(t))
	if err != nil {
		t.Fatalf("Resources: %v", err)
	}
	if res.CPUMillis < 1000 || res.MemoryBytes <= 0 {
		t.Errorf("Resources = %+v, want at least one CPU and some memory", res)
	}
}
