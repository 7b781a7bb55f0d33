package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// StubWorker is a worker API on loopback that starts nothing: it records
// when each task's execute request arrives and accepts it with 202.
type StubWorker struct {
	server   *http.Server
	listener net.Listener

	mu       sync.Mutex
	arrivals map[string]chan time.Time // task ID -> arrival time, sent once
}

// StartStubWorker listens on a free loopback port.
func StartStubWorker() (*StubWorker, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the stub worker: %w", err)
	}
	w := &StubWorker{listener: ln, arrivals: map[string]chan time.Time{}}
	w.server = &http.Server{Handler: http.HandlerFunc(w.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = w.server.Serve(ln) }()
	return w, nil
}

// Port returns the port the stub listens on.
func (w *StubWorker) Port() int { return w.listener.Addr().(*net.TCPAddr).Port }

// Close stops the stub's server.
func (w *StubWorker) Close() { _ = w.server.Close() }

func (w *StubWorker) serve(rw http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// Paths have the form api/v1/{tasks|pods}/{id}/{action}.
	if len(parts) != 5 || parts[0] != "api" || parts[1] != "v1" {
		http.NotFound(rw, r)
		return
	}
	kind, id, action := parts[2], parts[3], parts[4]
	switch {
	case r.Method == http.MethodPost && action == "execute":
		if kind == "tasks" {
			w.arrived(id, time.Now())
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(rw).Encode(map[string]any{"taskId": id, "started": true})
	case r.Method == http.MethodGet && action == "status" && w.known(id):
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(map[string]any{"taskId": id, "status": "running"})
	default:
		http.NotFound(rw, r)
	}
}

func (w *StubWorker) channel(id string) chan time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch, ok := w.arrivals[id]
	if !ok {
		ch = make(chan time.Time, 1)
		w.arrivals[id] = ch
	}
	return ch
}

func (w *StubWorker) known(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.arrivals[id]
	return ok
}

// arrived records the first execute of a task; repeated dispatches of the
// same task are ignored.
func (w *StubWorker) arrived(id string, at time.Time) {
	select {
	case w.channel(id) <- at:
	default:
	}
}

// WaitArrival returns when the first execute of the task arrived.
func (w *StubWorker) WaitArrival(ctx context.Context, id string) (time.Time, error) {
	select {
	case at := <-w.channel(id):
		return at, nil
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("execute of task %s never arrived: %w", id, ctx.Err())
	}
}
