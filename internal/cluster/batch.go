package cluster

import (
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/podling/podling/fsm"
)

// Limits on one batch of proposals. A batch is one log entry, and its size
// bounds how long applying it holds the state machine's lock. By
// BenchmarkApplyCreateTask, 128 creates take about a millisecond.
const (
	maxBatchEntries = 128
	maxBatchBytes   = 1 << 20
	// proposalQueue is the number of proposals that can wait for the batcher.
	proposalQueue = 1024
)

// proposal is one encoded command waiting to be proposed, and where its
// outcome goes.
type proposal struct {
	data []byte
	// done receives exactly one outcome.
	done chan outcome
}

// outcome is the result of a proposal: the state machine's result and the
// log index, or the reason it was not committed.
type outcome struct {
	value any
	index uint64
	err   error
}

// batcher turns concurrent proposals into as few log entries as it can.
// While Raft is busy storing one entry, proposals queue up, and the next
// entry carries all of them in one fsm.Batch. A lone proposal goes into
// the log as it is, so a quiet cluster pays only a goroutine handoff.
type batcher struct {
	// apply appends one entry to the log, as raft.Apply does.
	apply func(data []byte) raft.ApplyFuture
	queue chan *proposal
	// mu guards closed. Senders hold it for reading while they enqueue,
	// so once close holds it for writing nothing more can be enqueued.
	mu     sync.RWMutex
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

func newBatcher(apply func(data []byte) raft.ApplyFuture) *batcher {
	return &batcher{apply: apply, queue: make(chan *proposal, proposalQueue), stop: make(chan struct{}), done: make(chan struct{})}
}

func (b *batcher) start() { go b.run() }

// enqueue hands p to the batcher, waiting up to timeout for room in the
// queue. An error means p was not enqueued and will get no outcome.
func (b *batcher) enqueue(p *proposal, timeout time.Duration) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrShutdown
	}
	select {
	case b.queue <- p:
		return nil
	default:
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case b.queue <- p:
		return nil
	case <-timer.C:
		return fmt.Errorf("%w: proposal queue full for %v", ErrTimeout, timeout)
	}
}

// close stops the batcher once every queued proposal has an outcome. Call
// it after Raft has shut down, so queued proposals fail at once.
func (b *batcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	close(b.stop)
	<-b.done
}

func (b *batcher) run() {
	defer close(b.done)
	for {
		select {
		case p := <-b.queue:
			b.submit(b.collect(p))
		case <-b.stop:
			for {
				select {
				case p := <-b.queue:
					b.submit(b.collect(p))
				default:
					return
				}
			}
		}
	}
}

// collect adds to first every proposal already queued, up to the limits.
func (b *batcher) collect(first *proposal) []*proposal {
	batch, size := []*proposal{first}, len(first.data)
	for len(batch) < maxBatchEntries && size < maxBatchBytes {
		select {
		case p := <-b.queue:
			batch = append(batch, p)
			size += len(p.data)
		default:
			return batch
		}
	}
	return batch
}

// submit appends the batch to the log and hands its outcome to each
// proposal once it is known. raft.Apply returns when the leader has taken
// the entry, which is while the proposals after it queue up.
func (b *batcher) submit(batch []*proposal) {
	data := batch[0].data
	if len(batch) > 1 {
		entries := make([][]byte, len(batch))
		for i, p := range batch {
			entries[i] = p.data
		}
		data, _ = fsm.Encode(fsm.Batch{Entries: entries}) // a batch always encodes
	}
	go deliver(b.apply(data), batch)
}

// deliver waits for the entry's outcome and gives each proposal its part.
func deliver(future raft.ApplyFuture, batch []*proposal) {
	if err := future.Error(); err != nil {
		for _, p := range batch {
			p.done <- outcome{err: mapRaftError(err)}
		}
		return
	}
	index, response := future.Index(), future.Response()
	if len(batch) == 1 {
		batch[0].done <- outcome{value: response, index: index}
		return
	}
	results, ok := response.(fsm.BatchResults)
	for i, p := range batch {
		switch {
		case ok && len(results) == len(batch):
			p.done <- outcome{value: results[i], index: index}
		default:
			// Apply rejected the whole entry with one error, or returned a
			// value of a type this code does not expect.
			p.done <- outcome{value: batchRejection(response), index: index}
		}
	}
}

func batchRejection(response any) error {
	if err, ok := response.(error); ok {
		return err
	}
	return fmt.Errorf("%w: batch returned %T, expected fsm.BatchResults", fsm.ErrInvalidCommand, response)
}
