package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/testutil"
	"github.com/podling/podling/internal/types"
)

// process is one podling binary started by a test.
type process struct {
	name string
	cmd  *exec.Cmd
}

func startProcess(t *testing.T, name, binary string, args ...string) *process {
	t.Helper()
	logFile, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatalf("create log for %s: %v", name, err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd}
	t.Cleanup(func() {
		p.kill(syscall.SIGTERM)
		if t.Failed() {
			data, _ := os.ReadFile(logFile.Name())
			t.Logf("log of %s:\n%s", name, lastLines(string(data), 40))
		}
		logFile.Close()
	})
	return p
}

func (p *process) kill(sig syscall.Signal) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func freeAddr(t *testing.T) string { return testutil.FreeAddr(t) }

// localCluster is three masters and one worker running as processes.
type localCluster struct {
	masters    []*process
	masterURLs []string
	worker     *process
	nodeID     string
}

// startLocalCluster starts three masters and one worker whose pods use
// the given pause image and a network of the test's own.
func startLocalCluster(t *testing.T, bins binaries, pauseImage string) *localCluster {
	t.Helper()
	lc := startMasterProcesses(t, bins, "15s")
	lc.nodeID = "e2e-worker-" + testutil.RandomSuffix(t)
	ws := &workerStarter{
		t: t, binary: bins.worker, nodeID: lc.nodeID, masterURLs: lc.masterURLs,
		network: testutil.NetworkName(t, dockerClient), pauseImage: pauseImage,
	}
	testutil.RemoveContainersAtCleanup(t, dockerClient, runtime.LabelNodeID, lc.nodeID)
	lc.worker = ws.start()
	lc.waitNodeOnline(t)
	return lc
}

// startMasterProcesses starts three masters that bootstrap together, with
// the given heartbeat TTL and any extra flags.
func startMasterProcesses(t *testing.T, bins binaries, heartbeatTTL string, extra ...string) *localCluster {
	t.Helper()
	lc := &localCluster{}
	raftAddrs := make([]string, 3)
	var peers []string
	for i := range raftAddrs {
		raftAddrs[i] = freeAddr(t)
		peers = append(peers, fmt.Sprintf("m%d=%s", i+1, raftAddrs[i]))
	}
	data := t.TempDir()
	for i, raftAddr := range raftAddrs {
		id, httpAddr := fmt.Sprintf("m%d", i+1), freeAddr(t)
		lc.masterURLs = append(lc.masterURLs, "http://"+httpAddr)
		args := []string{"-id", id, "-http-addr", httpAddr, "-raft-addr", raftAddr, "-data-dir", filepath.Join(data, id),
			"-peers", strings.Join(peers, ","), "-heartbeat-ttl", heartbeatTTL, "-log-level", "debug"}
		lc.masters = append(lc.masters, startProcess(t, id, bins.master, append(args, extra...)...))
	}
	return lc
}

func (lc *localCluster) waitNodeOnline(t *testing.T) {
	t.Helper()
	poll(t, 30*time.Second, "worker registered and online", func() bool {
		var nodes []types.Node
		if getJSON(lc.masterURLs[0]+"/api/v1/nodes", &nodes) != http.StatusOK {
			return false
		}
		for _, n := range nodes {
			if n.NodeID == lc.nodeID && n.Status == types.NodeOnline {
				return true
			}
		}
		return false
	})
}

type health struct {
	ID        string `json:"id"`
	RaftState string `json:"raftState"`
	LeaderID  string `json:"leaderId"`
}

// leaderAndFollower returns the indexes of the leader and of one follower.
func (lc *localCluster) leaderAndFollower(t *testing.T) (leader, follower int) {
	t.Helper()
	leader, follower = -1, -1
	poll(t, 15*time.Second, "a leader and a follower", func() bool {
		leader, follower = -1, -1
		for i, url := range lc.masterURLs {
			if lc.masters[i].cmd.ProcessState != nil {
				continue
			}
			var h health
			if getJSON(url+"/health", &h) != http.StatusOK {
				continue
			}
			if h.RaftState == "Leader" {
				leader = i
			} else if h.LeaderID != "" {
				follower = i
			}
		}
		return leader >= 0 && follower >= 0
	})
	return leader, follower
}

func poll(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func getJSON(url string, v any) int {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return 0
		}
	}
	return resp.StatusCode
}

func postJSON(url string, body any) (int, []byte, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	resp, err := httpClient.Post(url, "application/json", bytes.NewReader(data))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	return resp.StatusCode, answer, err
}

func submitTask(t *testing.T, url string, req types.CreateTaskRequest) types.Task {
	t.Helper()
	status, body, err := postJSON(url+"/api/v1/tasks", req)
	if err != nil || status != http.StatusCreated {
		t.Fatalf("submit task to %s: status %d, error %v, body %s", url, status, err, body)
	}
	var task types.Task
	if err := json.Unmarshal(body, &task); err != nil {
		t.Fatalf("decode created task %s: %v", body, err)
	}
	return task
}

// waitFinal polls a task on one master until it reaches a terminal status.
func waitFinal(t *testing.T, url, taskID string) types.Task {
	t.Helper()
	var task types.Task
	poll(t, 60*time.Second, "task "+taskID+" to finish", func() bool {
		return getJSON(url+"/api/v1/tasks/"+taskID, &task) == http.StatusOK && task.Status.Terminal()
	})
	return task
}

func jsonInto(body []byte, v any) bool { return json.Unmarshal(body, v) == nil }
