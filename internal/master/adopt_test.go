package master

import (
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/podling/podling/internal/types"
)

func TestRegister_AdoptsAnnouncedWork(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	url := tc.url(leader)
	worker := newStubWorker(t)
	worker.register(t, url, "stub-1")
	ended := createTask(t, url, "ended-while-away")
	waitTaskStatus(t, url, ended.TaskID, types.TaskScheduled)

	// The worker restarts and announces what it found: the placed task's
	// container exited 7 while it was away, and a container of a task the
	// cluster never heard of.
	host, port, _ := net.SplitHostPort(worker.server.Listener.Addr().String())
	portNumber, _ := strconv.Atoi(port)
	exit := 7
	stranger := "20200101000000-zzzzzzzz"
	res := call(t, http.MethodPost, url+"/api/v1/nodes/register", types.RegisterNodeRequest{
		NodeID: "stub-1", Hostname: host, Port: portNumber, Capacity: 4,
		Tasks: []types.AnnouncedTask{
			{TaskID: ended.TaskID, ContainerID: "c1", Status: types.TaskFailed, ExitCode: &exit},
			{TaskID: stranger, ContainerID: "c2", Status: types.TaskRunning},
		},
	})
	if res.status != http.StatusOK {
		t.Fatalf("register with announcements: status %d, body %s", res.status, res.body)
	}
	answer := decode[types.RegisterNodeResponse](t, res)

	if len(answer.Orphans.Tasks) != 1 || answer.Orphans.Tasks[0] != stranger {
		t.Errorf("orphan tasks = %v, want [%s]", answer.Orphans.Tasks, stranger)
	}
	got := waitTaskStatus(t, url, ended.TaskID, types.TaskFailed)
	if got.ExitCode == nil || *got.ExitCode != exit || got.ContainerID != "c1" {
		t.Errorf("adopted task exit %v container %q, want exit %d and container c1", got.ExitCode, got.ContainerID, exit)
	}
}
