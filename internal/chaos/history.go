package chaos

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// clock gives the workload's timestamps: nanoseconds since the run
// started, from the monotonic clock.
type clock struct{ start time.Time }

func (c clock) now() int64 { return int64(time.Since(c.start)) }

// at converts a timestamp back to a time.
func (c clock) at(t int64) time.Time { return c.start.Add(time.Duration(t)) }

// createOp is one logical create: every attempt with its idempotency key,
// from the first call to the acknowledgement, if one came.
type createOp struct {
	client int
	key    string
	call   int64
	// ret is when the acknowledgement arrived; lastTry is when the
	// acknowledged attempt was sent. Both are set only when acked.
	ret, lastTry int64
	acked        bool
	taskID       string
	attempts     int
	// rejection is a 4xx response, which no fault should cause.
	rejection string
}

// readOp is one successful list of the run's tasks through the load balancer.
type readOp struct {
	client    int
	call, ret int64
	keys      map[string]bool
}

// history records the workload's operations. It is safe for concurrent use.
type history struct {
	mu         sync.Mutex
	creates    []createOp
	reads      []readOp
	readErrors int
	// failures counts the failed create attempts by kind of failure.
	failures map[string]int
}

// attemptFailed records a failed create attempt.
func (h *history) attemptFailed(kind string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failures == nil {
		h.failures = make(map[string]int)
	}
	h.failures[kind]++
}

// failureSummary describes the failed create attempts, most frequent first.
func (h *history) failureSummary() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	kinds := make([]string, 0, len(h.failures))
	for kind := range h.failures {
		kinds = append(kinds, kind)
	}
	sort.Slice(kinds, func(i, j int) bool {
		a, b := kinds[i], kinds[j]
		return h.failures[a] > h.failures[b] || h.failures[a] == h.failures[b] && a < b
	})
	parts := make([]string, len(kinds))
	for i, kind := range kinds {
		parts[i] = fmt.Sprintf("%d x %s", h.failures[kind], kind)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func (h *history) addCreate(op createOp) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.creates = append(h.creates, op)
}

func (h *history) addRead(op readOp) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reads = append(h.reads, op)
}

func (h *history) readFailed() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.readErrors++
}

// snapshot returns copies of what was recorded so far.
func (h *history) snapshot() ([]createOp, []readOp, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]createOp(nil), h.creates...), append([]readOp(nil), h.reads...), h.readErrors
}

// firstSuccessAfter returns how long after t the first successful
// response came to a request sent at or after t: an acknowledged create or
// a linearizable read, both of which need a working leader. It returns
// false if there was none.
func firstSuccessAfter(creates []createOp, reads []readOp, t int64) (time.Duration, bool) {
	best, found := int64(0), false
	consider := func(sent, received int64) {
		if sent >= t && (!found || received-t < best) {
			best, found = received-t, true
		}
	}
	for _, op := range creates {
		if op.acked {
			consider(op.lastTry, op.ret)
		}
	}
	for _, op := range reads {
		consider(op.call, op.ret)
	}
	return time.Duration(best), found
}
