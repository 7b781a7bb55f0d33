package coalesce

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestDo_ConcurrentCallersShareCalls(t *testing.T) {
	var g Group[int]
	var calls atomic.Int64
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	fn := func() (int, error) {
		n := calls.Add(1)
		if n == 1 {
			started <- struct{}{}
			<-release
		}
		return int(n), nil
	}

	first := make(chan int)
	go func() { v, _ := g.Do(context.Background(), "k", fn); first <- v }()
	<-started // the first call is under way

	var wg sync.WaitGroup
	results := make([]int, 50)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = g.Do(context.Background(), "k", fn)
		}()
	}
	// Let the late callers queue, then finish the first call.
	for waiting := 0; waiting < len(results); {
		g.mu.Lock()
		waiting = len(g.waiting["k"])
		g.mu.Unlock()
		runtime.Gosched()
	}
	close(release)
	wg.Wait()

	if v := <-first; v != 1 {
		t.Errorf("first caller got call %d, want 1", v)
	}
	for i, v := range results {
		if v != 2 {
			t.Errorf("caller %d got call %d, want 2: callers that arrive during a call share the next one", i, v)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d calls for 51 callers, want 2", n)
	}
}

func TestDo_ErrorReachesEveryCaller(t *testing.T) {
	var g Group[int]
	boom := errors.New("boom")
	if _, err := g.Do(context.Background(), "k", func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Errorf("error = %v, want boom", err)
	}
}

func TestDo_KeysAreSeparate(t *testing.T) {
	var g Group[string]
	a, _ := g.Do(context.Background(), "a", func() (string, error) { return "a", nil })
	b, _ := g.Do(context.Background(), "b", func() (string, error) { return "b", nil })
	if a != "a" || b != "b" {
		t.Errorf("results %q and %q, want a and b", a, b)
	}
}

func TestDo_CallerStopsWaitingWhenContextEnds(t *testing.T) {
	var g Group[int]
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Do(ctx, "k", func() (int, error) { <-release; return 1, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}
