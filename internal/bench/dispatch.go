package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// DispatchResult summarizes the time from a create's 2xx response to the
// execute request reaching the worker.
type DispatchResult struct {
	Samples  int
	P50, P99 time.Duration
	// Early counts executes that arrived before the create's response, and
	// count as zero.
	Early int
}

// stubNodeID names the node the stub worker registers as.
const stubNodeID = "stub-worker"

// MeasureDispatch registers the stub as a node, then creates samples tasks
// one at a time through the leader. After each execute arrives it reports
// the task running and completed, as a worker would, so the next task
// starts from an idle node.
func MeasureDispatch(ctx context.Context, c *Cluster, client *Client, stub *StubWorker, samples int) (DispatchResult, error) {
	leader, err := c.Leader(ctx)
	if err != nil {
		return DispatchResult{}, err
	}
	body := fmt.Appendf(nil, `{"nodeId":%q,"hostname":"127.0.0.1","port":%d,"capacity":10000}`, stubNodeID, stub.Port())
	err = withRetries(ctx, func(ctx context.Context) error {
		return client.JSON(ctx, http.MethodPost, leader.URL()+"/api/v1/nodes/register", body, nil)
	})
	if err != nil {
		return DispatchResult{}, fmt.Errorf("register the stub worker: %w", err)
	}
	var res DispatchResult
	var latencies []time.Duration
	for i := range samples {
		took, err := dispatchOnce(ctx, client, leader, stub, i)
		if err != nil {
			return res, fmt.Errorf("dispatch sample %d: %w", i+1, err)
		}
		if took < 0 {
			res.Early++
			took = 0
		}
		latencies = append(latencies, took)
	}
	res.Samples = len(latencies)
	res.P50, res.P99 = Percentile(latencies, 50), Percentile(latencies, 99)
	return res, nil
}

func dispatchOnce(ctx context.Context, client *Client, leader *Master, stub *StubWorker, seq int) (time.Duration, error) {
	var id string
	err := withRetries(ctx, func(ctx context.Context) (err error) {
		id, err = createTask(ctx, client, leader, taskBody("d", 0, seq))
		return err
	})
	if err != nil {
		return 0, err
	}
	answered := time.Now()
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	arrived, err := stub.WaitArrival(waitCtx, id)
	if err != nil {
		return 0, err
	}
	if err := reportFinished(ctx, client, leader, id); err != nil {
		return 0, err
	}
	return arrived.Sub(answered), nil
}

// reportFinished reports the task running, then completed with exit code
// 0, as the worker that ran it would.
func reportFinished(ctx context.Context, client *Client, leader *Master, id string) error {
	reports := [][]byte{
		fmt.Appendf(nil, `{"status":"running","containerId":"stub-%s","nodeId":%q}`, id, stubNodeID),
		fmt.Appendf(nil, `{"status":"completed","containerId":"stub-%s","exitCode":0,"nodeId":%q}`, id, stubNodeID),
	}
	for _, report := range reports {
		err := withRetries(ctx, func(ctx context.Context) error {
			return client.JSON(ctx, http.MethodPut, leader.URL()+"/api/v1/tasks/"+id+"/status", report, nil)
		})
		if err != nil {
			return fmt.Errorf("report task %s finished: %w", id, err)
		}
	}
	return nil
}
