// Package e2e runs Podling as real processes against the real Docker
// Engine: three masters, one worker, and tasks built from this repository's
// demo workload.
package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/podling/podling/internal/testutil"
	"github.com/podling/podling/internal/types"
)

type binaries struct {
	master, worker string
}

// buildBinaries compiles the master and the worker into a temporary dir.
func buildBinaries(t *testing.T) binaries {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator),
		"github.com/podling/podling/cmd/podling-master", "github.com/podling/podling/cmd/podling-worker")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build binaries: %v\n%s", err, out)
	}
	return binaries{master: filepath.Join(dir, "podling-master"), worker: filepath.Join(dir, "podling-worker")}
}

// dockerClient is the engine the tests check containers on.
var dockerClient *client.Client

// images holds the tags of the images a test built.
type images struct {
	echo, pause string
}

// buildImages builds the demo workload and the pause image under tags of
// this test's own, removed when it ends.
func buildImages(t *testing.T) images {
	t.Helper()
	suffix := testutil.RandomSuffix(t)
	imgs := images{echo: "podling/echo:e2e-" + suffix, pause: "podling/pause:e2e-" + suffix}
	testutil.BuildGoImage(t, dockerClient, "github.com/podling/podling/cmd/podling-echo", imgs.echo)
	testutil.BuildGoImage(t, dockerClient, "github.com/podling/podling/cmd/podling-pause", imgs.pause)
	return imgs
}

func TestE2E_TasksRunOnDockerAcrossThreeMasters(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	dockerClient = testutil.RequireDocker(t)
	imgs := buildImages(t)
	image := imgs.echo
	lc := startLocalCluster(t, buildBinaries(t), imgs.pause)

	t.Run("completed task is seen on every master", func(t *testing.T) {
		_, follower := lc.leaderAndFollower(t)
		task := submitTask(t, lc.masterURLs[follower], types.CreateTaskRequest{
			Name: "completes", Image: image, Env: map[string]string{"ECHO_EXIT_CODE": "0"},
		})
		for _, url := range lc.masterURLs {
			got := waitFinal(t, url, task.TaskID)
			if got.Status != types.TaskCompleted {
				t.Fatalf("task on %s ended %s (%s), want completed", url, got.Status, got.Message)
			}
			if got.NodeID != lc.nodeID || got.ContainerID == "" || got.ExitCode == nil || *got.ExitCode != 0 {
				t.Errorf("completed task on %s = node %q container %q exit %v, want node %q, a container and exit 0",
					url, got.NodeID, got.ContainerID, got.ExitCode, lc.nodeID)
			}
		}
	})

	t.Run("non-zero exit fails with the exit code", func(t *testing.T) {
		task := submitTask(t, lc.masterURLs[0], types.CreateTaskRequest{
			Name: "exits-3", Image: image, Env: map[string]string{"ECHO_EXIT_CODE": "3"},
		})
		got := waitFinal(t, lc.masterURLs[2], task.TaskID)
		if got.Status != types.TaskFailed {
			t.Fatalf("task ended %s, want failed", got.Status)
		}
		if got.ExitCode == nil || *got.ExitCode != 3 {
			t.Errorf("exit code = %v, want 3", got.ExitCode)
		}
	})

	t.Run("missing image fails naming the image", func(t *testing.T) {
		// A registry on a closed loopback port keeps the pull attempt on
		// this machine and makes it fail at once.
		missing := "127.0.0.1:1/podling/missing:never"
		task := submitTask(t, lc.masterURLs[1], types.CreateTaskRequest{Name: "no-image", Image: missing})
		got := waitFinal(t, lc.masterURLs[0], task.TaskID)
		if got.Status != types.TaskFailed {
			t.Fatalf("task ended %s, want failed", got.Status)
		}
		if !strings.Contains(got.Message, missing) {
			t.Errorf("failure message %q does not name the image %q", got.Message, missing)
		}
	})

	t.Run("leader killed, a survivor takes writes", func(t *testing.T) {
		leader, _ := lc.leaderAndFollower(t)
		lc.masters[leader].kill(syscall.SIGKILL)
		survivor := (leader + 1) % len(lc.masterURLs)

		var created types.Task
		poll(t, 15*time.Second, "a write accepted after the leader was killed", func() bool {
			status, body, err := postJSON(lc.masterURLs[survivor]+"/api/v1/tasks", types.CreateTaskRequest{
				Name: "after-failover", Image: image, Env: map[string]string{"ECHO_EXIT_CODE": "0"},
			})
			if err != nil || status != http.StatusCreated {
				return false
			}
			return jsonInto(body, &created)
		})
		got := waitFinal(t, lc.masterURLs[survivor], created.TaskID)
		if got.Status != types.TaskCompleted {
			t.Errorf("task submitted after failover ended %s (%s), want completed", got.Status, got.Message)
		}
	})
}
