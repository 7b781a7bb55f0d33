// Package metrics defines the Prometheus metrics of masters and workers.
// Each master or worker has a registry of its own, so several can run in
// one process, as they do in tests. Every method is safe on a nil
// receiver, which records nothing.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Master holds a master's metrics.
type Master struct {
	registry   *prometheus.Registry
	requests   *prometheus.CounterVec
	durations  *prometheus.HistogramVec
	forwarded  *prometheus.CounterVec
	heartbeats prometheus.Counter
	dispatches *prometheus.CounterVec
	applies    *prometheus.HistogramVec
}

// NewMaster returns a master's metrics, with the Go runtime and process
// collectors registered. state is read at every scrape.
func NewMaster(state StateSource) *Master {
	m := &Master{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podling_http_requests_total", Help: "API requests served, by route, method and status code.",
		}, []string{"route", "method", "code"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "podling_http_request_duration_seconds", Help: "Time to serve API requests, by route and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podling_forwarded_requests_total", Help: "Requests a follower sent to the leader, by outcome.",
		}, []string{"outcome"}),
		heartbeats: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podling_heartbeats_received_total", Help: "Worker heartbeats this master recorded as leader.",
		}),
		dispatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podling_dispatches_total", Help: "Dispatches of tasks and pods to workers, by kind and outcome.",
		}, []string{"kind", "outcome"}),
		applies: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "podling_raft_apply_duration_seconds", Help: "Time from proposing a command to its application here, by command type.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"command"}),
	}
	m.registry.MustRegister(m.requests, m.durations, m.forwarded, m.heartbeats, m.dispatches, m.applies,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&stateCollector{source: state})
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Master) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// ObserveRequest records one served API request. route is the route's
// template, such as /api/v1/tasks/{taskId}, never the raw path.
func (m *Master) ObserveRequest(route, method string, code int, took time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.durations.WithLabelValues(route, method).Observe(took.Seconds())
}

// Forwarded records a request sent to the leader.
func (m *Master) Forwarded(outcome string) {
	if m == nil {
		return
	}
	m.forwarded.WithLabelValues(outcome).Inc()
}

// Heartbeat records a heartbeat received by the leader.
func (m *Master) Heartbeat() {
	if m == nil {
		return
	}
	m.heartbeats.Inc()
}

// Dispatch records the outcome of a dispatch: kind is task or pod.
func (m *Master) Dispatch(kind, outcome string) {
	if m == nil {
		return
	}
	m.dispatches.WithLabelValues(kind, outcome).Inc()
}

// Applied records how long a command took from proposal to application.
func (m *Master) Applied(command string, took time.Duration) {
	if m == nil {
		return
	}
	m.applies.WithLabelValues(command).Observe(took.Seconds())
}
