// Package worker is the Podling worker agent. It serves the worker API that
// masters dispatch tasks and pods to, registers with the masters and
// heartbeats to them, runs each task's container and each pod's containers
// through a runtime.Runtime, and reports every status change back to the
// masters.
//
// Containers are keyed by task or pod ID, so a task or pod dispatched twice
// runs once, and a restarted worker adopts the containers it started before
// instead of starting new ones.
//
// A pod's containers are supervised: each one is restarted as the pod's
// restart policy says, after a growing delay, and probed by its liveness
// and readiness probes. The worker derives the pod's phase from its
// containers and reports it with their statuses.
package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/runtime"
)

// shutdownTimeout bounds how long Serve waits for in-flight requests.
const shutdownTimeout = 5 * time.Second

// Worker is one worker agent. Create it with New and start it with Run or
// Serve; a Worker serves once.
type Worker struct {
	cfg     Config
	log     hclog.Logger
	rt      runtime.Runtime
	masters *masterClient
	tasks   *taskTable
	pods    *podTable

	registered atomic.Bool
	// taskCtx is the context of task and pod goroutines, set by Serve
	// before any request can arrive.
	taskCtx   context.Context
	taskGroup sync.WaitGroup
}

// New checks cfg, fills in its defaults and returns a Worker.
func New(cfg Config) (*Worker, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Worker{
		cfg:     cfg,
		log:     cfg.Logger,
		rt:      cfg.Runtime,
		masters: newMasterClient(cfg),
		tasks:   newTaskTable(),
		pods:    newPodTable(),
	}, nil
}

// Run listens on the configured ListenAddr and then behaves like Serve.
func (w *Worker) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", w.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", w.cfg.ListenAddr, err)
	}
	return w.Serve(ctx, ln)
}

// Serve runs the worker on ln until ctx ends, and closes ln. In order, it
// creates the runtime's pod network if it is missing, adopts the task and
// pod containers the runtime lists for this node, starts serving the worker
// API, and registers and heartbeats with the masters.
//
// When ctx ends Serve leaves the cluster as leaveCluster describes, then
// stops the API server, pod supervision, probes and status reports, and
// returns nil once they have stopped. Containers are left running, and the
// next Serve of a worker with the same node ID adopts them. The exception
// is pods that the masters delete while a drain moves them. Serve returns
// an error if the network cannot be created, adoption fails or the server
// stops on its own.
func (w *Worker) Serve(ctx context.Context, ln net.Listener) error {
	// runCtx outlives ctx until the worker has left the cluster, so that
	// the API and pod supervision keep working while a drain moves pods.
	runCtx, stopRunning := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		stopRunning()
		w.taskGroup.Wait()
		for _, p := range w.pods.all() {
			p.stop()
		}
	}()
	w.taskCtx = runCtx

	// Adopt before serving, so no execute request can start a second
	// container for a task or pod that already has one.
	if err := w.prepare(ctx); err != nil {
		ln.Close()
		return err
	}

	port := w.cfg.Port
	if tcpAddr, ok := ln.Addr().(*net.TCPAddr); ok && port == 0 {
		port = tcpAddr.Port
	}
	server := w.newServer()
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(ln) }()
	w.log.Info("worker api listening", "node_id", w.cfg.NodeID, "addr", ln.Addr().String())

	heartbeatCtx, cancelHeartbeats := context.WithCancel(runCtx)
	var heartbeats sync.WaitGroup
	heartbeats.Go(func() { w.keepRegistered(heartbeatCtx, w.registration(ctx, port)) })
	stopHeartbeats := func() {
		cancelHeartbeats()
		heartbeats.Wait()
	}

	select {
	case err := <-serveErr:
		stopHeartbeats()
		return fmt.Errorf("serve worker api: %w", err)
	case <-ctx.Done():
	}
	w.leaveCluster(runCtx, stopHeartbeats)
	return w.shutdown(runCtx, server, serveErr)
}

// shutdown stops the server gracefully, closing the connections still open
// after shutdownTimeout.
func (w *Worker) shutdown(ctx context.Context, server *http.Server, serveErr <-chan error) error {
	w.log.Info("shutting down worker", "node_id", w.cfg.NodeID)
	shutdownCtx, cancel := context.WithTimeout(ctx, shutdownTimeout)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		w.log.Warn("worker api did not shut down in time, closing connections", "node_id", w.cfg.NodeID, "error", err)
		server.Close()
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve worker api: %w", err)
	}
	return nil
}

// prepare creates the pod network and adopts the containers of earlier runs.
func (w *Worker) prepare(ctx context.Context) error {
	if err := w.rt.EnsureNetwork(ctx); err != nil {
		return fmt.Errorf("prepare pod network: %w", err)
	}
	if err := w.adoptAll(ctx); err != nil {
		return err
	}
	return w.adoptPods(ctx)
}

// goTask runs fn in a task goroutine that Serve waits for before returning.
func (w *Worker) goTask(fn func()) {
	w.taskGroup.Go(fn)
}
