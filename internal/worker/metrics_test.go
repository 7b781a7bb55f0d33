package worker

import (
	"net/http"
	"strings"
	"testing"

	"github.com/podling/podling/internal/metrics"
	"github.com/podling/podling/internal/runtime/fake"
	"github.com/podling/podling/internal/types"
)

func TestMetrics_CountStartsAndFailures(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	cfg := testConfig(t, rt, master.URL())
	cfg.Metrics = metrics.NewWorker()
	tw := startWorkerWith(t, cfg)
	const taskID = "20250119123456-abc12345"

	tw.execute(t, taskID, testImage)
	waitForStatuses(t, master, taskID, types.TaskRunning)
	if err := rt.ExitTask(taskID, 3); err != nil {
		t.Fatal(err)
	}
	waitForStatuses(t, master, taskID, types.TaskRunning, types.TaskFailed)

	status, body := tw.do(t, http.MethodGet, "/metrics", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", status)
	}
	for _, want := range []string{
		`podling_worker_container_starts_total{kind="task"} 1`,
		`podling_worker_container_failures_total{kind="task",reason="NonZeroExit"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("worker metrics lack %q", want)
		}
	}
}
