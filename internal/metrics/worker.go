package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Worker holds a worker's metrics.
type Worker struct {
	registry *prometheus.Registry
	starts   *prometheus.CounterVec
	failures *prometheus.CounterVec
	probes   *prometheus.CounterVec
}

// NewWorker returns a worker's metrics, with the Go runtime and process
// collectors registered.
func NewWorker() *Worker {
	w := &Worker{
		registry: prometheus.NewRegistry(),
		starts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podling_worker_container_starts_total", Help: "Containers started, by kind (task or pod).",
		}, []string{"kind"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podling_worker_container_failures_total", Help: "Containers that could not start or exited non-zero, by kind and reason.",
		}, []string{"kind", "reason"}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podling_worker_probe_results_total", Help: "Probe results, by probe (liveness or readiness) and result (pass or fail).",
		}, []string{"probe", "result"}),
	}
	w.registry.MustRegister(w.starts, w.failures, w.probes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return w
}

// Handler serves the metrics in the Prometheus text format.
func (w *Worker) Handler() http.Handler {
	return promhttp.HandlerFor(w.registry, promhttp.HandlerOpts{Registry: w.registry})
}

// ContainerStarted records a container start.
func (w *Worker) ContainerStarted(kind string) {
	if w == nil {
		return
	}
	w.starts.WithLabelValues(kind).Inc()
}

// ContainerFailed records a container that failed to start or exited
// non-zero.
func (w *Worker) ContainerFailed(kind, reason string) {
	if w == nil {
		return
	}
	w.failures.WithLabelValues(kind, reason).Inc()
}

// ProbeResult records one probe run.
func (w *Worker) ProbeResult(probe string, passed bool) {
	if w == nil {
		return
	}
	result := "fail"
	if passed {
		result = "pass"
	}
	w.probes.WithLabelValues(probe, result).Inc()
}
