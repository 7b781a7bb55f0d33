package master

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// writeLoad creates tasks from a few clients through the masters that are
// in rotation, as a load balancer would send them, and records every
// outcome.
type writeLoad struct {
	urls     []string
	client   *http.Client
	inRota   []atomic.Bool
	inFlight []atomic.Int64

	mu        sync.Mutex
	successes []time.Time
	failures  []string
	retries   []string // 503 no_leader responses, after which the write was sent again

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startWriteLoad(t *testing.T, urls []string, clients int) *writeLoad {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writeLoad{
		urls: urls, client: newTestClient(t, 10*time.Second), cancel: cancel,
		inRota: make([]atomic.Bool, len(urls)), inFlight: make([]atomic.Int64, len(urls)),
	}
	for i := range urls {
		w.inRota[i].Store(true)
	}
	for c := range clients {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.write(ctx, c)
		}()
	}
	return w
}

func (w *writeLoad) write(ctx context.Context, client int) {
	name := ""
	for n := 0; ctx.Err() == nil; n++ {
		if name == "" {
			name = fmt.Sprintf("load-%d-%d", client, n)
		}
		i := rand.IntN(len(w.urls))
		// Count the request before checking the rotation, so that
		// takeOut waits for every request that chose the master.
		w.inFlight[i].Add(1)
		if !w.inRota[i].Load() {
			w.inFlight[i].Add(-1)
			continue
		}
		id, res, err := createTaskVia(w.client, w.urls[i], name, nil)
		w.inFlight[i].Add(-1)
		w.mu.Lock()
		switch {
		case id != "":
			w.successes = append(w.successes, time.Now())
			name = ""
		case err == nil && res.status == http.StatusServiceUnavailable && res.code() == "no_leader":
			// The same write is sent again: see the test's comment.
			w.retries = append(w.retries, fmt.Sprintf("via %s: %s", w.urls[i], res.body))
		default:
			w.failures = append(w.failures, fmt.Sprintf("via %s: status %d, error %v, body %s", w.urls[i], res.status, err, res.body))
			name = ""
		}
		w.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
}

// takeOut removes master i from the rotation and waits until no request
// to it is in flight.
func (w *writeLoad) takeOut(i int) error {
	w.inRota[i].Store(false)
	deadline := time.Now().Add(leaderWait)
	for w.inFlight[i].Load() > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("requests to %s still in flight after %s", w.urls[i], leaderWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

func (w *writeLoad) putBack(i int) { w.inRota[i].Store(true) }

// stop ends the load and returns the number of successful writes, the
// failures, the retries and the longest time between two successful writes.
func (w *writeLoad) stop() (int, []string, []string, time.Duration) {
	w.cancel()
	w.wg.Wait()
	sort.Slice(w.successes, func(a, b int) bool { return w.successes[a].Before(w.successes[b]) })
	var gap time.Duration
	for k := 1; k < len(w.successes); k++ {
		gap = max(gap, w.successes[k].Sub(w.successes[k-1]))
	}
	return len(w.successes), w.failures, w.retries, gap
}

// waitCaughtUp polls until master i is ready to serve and has applied as
// much as the leader had when the wait began.
func (fc *faultCluster) waitCaughtUp(i int) error {
	leader, err := fc.leader(leaderWait)
	if err != nil {
		return err
	}
	target := fc.masters[leader].FSM().AppliedIndex()
	deadline := time.Now().Add(leaderWait)
	for {
		ready, reason := fc.masters[i].Cluster().Ready()
		if ready && fc.masters[i].FSM().AppliedIndex() >= target {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not caught up to index %d within %s: %s", fc.ids[i], target, leaderWait, reason)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The load clients send a write again after 503 no_leader. The API returns
// no_leader only when nothing was proposed, so the retry cannot apply a
// write twice. During a graceful handover a follower may forward a write to
// the old leader just after it stepped down, and the old leader returns
// no_leader instead of forwarding a second time. The retries are counted
// and logged.
func TestFault_RollingRestartFailsNoWrite(t *testing.T) {
	fc := startFaultCluster(t, 3)
	if _, err := fc.leader(leaderWait); err != nil {
		t.Fatal(err)
	}
	load := startWriteLoad(t, fc.urls, 2)
	started := time.Now()
	time.Sleep(time.Second)

	for i := range fc.masters {
		wasLeader := fc.masters[i].Cluster().IsLeader()
		if err := load.takeOut(i); err != nil {
			t.Fatal(err)
		}
		if err := fc.stopWithin(i, true); err != nil {
			load.stop()
			fc.skipIfStuck(t)
			t.Fatal(err)
		}
		if err := fc.restart(i); err != nil {
			t.Fatal(err)
		}
		if err := fc.waitCaughtUp(i); err != nil {
			t.Fatal(err)
		}
		load.putBack(i)
		t.Logf("restarted %s (leader before: %v)", fc.ids[i], wasLeader)
		time.Sleep(time.Second)
	}

	writes, failures, retries, gap := load.stop()
	t.Logf("rolling restart of %d masters in %s: %d writes succeeded, %d failed, %d retried after no_leader, longest gap between successful writes %s",
		len(fc.masters), time.Since(started).Round(time.Millisecond), writes, len(failures), len(retries), gap.Round(time.Millisecond))
	for _, r := range retries {
		t.Logf("retried: %s", r)
	}
	if writes == 0 {
		t.Error("no write succeeded during the rolling restart")
	}
	for _, f := range failures {
		t.Errorf("write failed during the rolling restart: %s", f)
	}
}
