package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"
)

// workload runs creators and readers against the load balancer until it is
// stopped, and records what they saw.
type workload struct {
	cfg *Config
	// api sends the creates; readAPI, with a shorter timeout, the reads, so
	// that a reader stuck on a frozen master soon tries again.
	api, readAPI *api
	clock        clock
	run          string
	hist         *history
	dups         *dupTracker

	stop chan struct{}
	wg   sync.WaitGroup
}

func newWorkload(cfg *Config, c clock, run string) *workload {
	return &workload{
		cfg: cfg, api: newAPI(cfg.RequestTimeout), readAPI: newAPI(cfg.ReadTimeout), clock: c, run: run,
		hist: &history{}, dups: newDupTracker(cfg.Docker), stop: make(chan struct{}),
	}
}

// start launches every client and the container sampler.
func (w *workload) start() {
	for i := range w.cfg.Creators {
		w.spawn(func() { w.creator(i) })
	}
	for i := range w.cfg.Readers {
		w.spawn(func() { w.reader(w.cfg.Creators + i) })
	}
	w.spawn(w.sampler)
}

func (w *workload) spawn(f func()) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		f()
	}()
}

// finish stops new operations and waits for those in flight, which end
// within their own retry bound.
func (w *workload) finish() {
	close(w.stop)
	w.wg.Wait()
}

// pause waits for d, or less when the workload is stopped. It reports
// whether the workload goes on.
func (w *workload) pause(d time.Duration) bool {
	select {
	case <-w.stop:
		return false
	case <-time.After(d):
		return true
	}
}

func (w *workload) creator(client int) {
	for n := 0; ; n++ {
		w.hist.addCreate(w.create(client, fmt.Sprintf("%s-c%d-%d", w.run, client, n)))
		if !w.pause(w.cfg.CreateInterval) {
			return
		}
	}
}

// create sends one create and retries it with the same idempotency key
// until it is acknowledged, rejected, or CreateGiveUp has passed.
func (w *workload) create(client int, key string) createOp {
	op := createOp{client: client, key: key, call: w.clock.now()}
	body := w.taskBody(key)
	deadline := time.Now().Add(w.cfg.CreateGiveUp)
	for time.Now().Before(deadline) {
		op.attempts++
		sent := w.clock.now()
		id, err := w.api.createTask(context.Background(), w.cfg.LB, key, body)
		if err == nil {
			op.acked, op.taskID, op.lastTry, op.ret = true, id, sent, w.clock.now()
			return op
		}
		var se *statusError
		if errors.As(err, &se) && se.rejected() {
			op.rejection = err.Error()
			return op
		}
		w.hist.attemptFailed(failureKind(err))
		time.Sleep(w.cfg.RetryDelay)
	}
	return op
}

// taskBody is the create request of key. Retries send the same bytes, as
// an idempotent retry must.
func (w *workload) taskBody(key string) []byte {
	body, _ := json.Marshal(map[string]any{
		"name":   "chaos",
		"image":  w.cfg.Image,
		"env":    map[string]string{"ECHO_EXIT_CODE": "0"},
		"labels": map[string]string{labelRun: w.run, labelKey: key},
	})
	return body
}

func (w *workload) reader(client int) {
	query := "labelSelector=" + url.QueryEscape(labelRun+"="+w.run)
	for {
		call := w.clock.now()
		l, err := w.readAPI.listTasks(context.Background(), w.cfg.LB, query)
		if err != nil {
			w.hist.readFailed()
		} else {
			w.hist.addRead(readOp{client: client, call: call, ret: w.clock.now(), keys: keySet(l)})
		}
		if !w.pause(w.cfg.ReadInterval) {
			return
		}
	}
}

func keySet(l listing) map[string]bool {
	ids, _ := l.keys()
	set := make(map[string]bool, len(ids))
	for key := range ids {
		set[key] = true
	}
	return set
}

// sampler counts containers per task now and then, so a second container
// that was removed again before the end is still seen.
func (w *workload) sampler() {
	for w.pause(w.cfg.SampleInterval) {
		_ = w.dups.sample(context.Background())
	}
}
