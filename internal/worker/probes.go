package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/podling/podling/internal/types"
)

// Probe defaults for fields left at zero, as types.Probe documents them.
const (
	defaultProbePeriod      = 10 * time.Second
	defaultProbeTimeout     = time.Second
	defaultSuccessThreshold = 1
	defaultFailureThreshold = 3
)

// probeClient sends HTTP probes. It uses no proxy, keeps no idle
// connections to pods and does not follow redirects, because a 3xx status
// already passes.
var probeClient = &http.Client{
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// probeTimings are a probe's timings with the defaults applied.
type probeTimings struct {
	initialDelay, period, timeout time.Duration
	successThreshold              int
	failureThreshold              int
}

func timingsOf(probe *types.Probe) probeTimings {
	t := probeTimings{
		initialDelay:     time.Duration(probe.InitialDelaySeconds) * time.Second,
		period:           time.Duration(probe.PeriodSeconds) * time.Second,
		timeout:          time.Duration(probe.TimeoutSeconds) * time.Second,
		successThreshold: probe.SuccessThreshold,
		failureThreshold: probe.FailureThreshold,
	}
	if t.period == 0 {
		t.period = defaultProbePeriod
	}
	if t.timeout == 0 {
		t.timeout = defaultProbeTimeout
	}
	if t.successThreshold == 0 {
		t.successThreshold = defaultSuccessThreshold
	}
	if t.failureThreshold == 0 {
		t.failureThreshold = defaultFailureThreshold
	}
	return t
}

// startProbes runs the probes of the instance containerID of container i
// until ctx ends. Readiness results set the container's Ready flag; a
// liveness failure stops the instance.
func (p *pod) startProbes(ctx context.Context, i int, containerID string) {
	spec := p.containers[i].spec
	if probe := spec.ReadinessProbe; probe != nil {
		p.goPod(func() {
			p.runProbe(ctx, "readiness", i, containerID, probe, func(healthy bool, _ string) bool {
				p.recordReady(i, containerID, healthy)
				return false
			})
		})
	}
	if probe := spec.LivenessProbe; probe != nil {
		p.goPod(func() {
			p.runProbe(ctx, "liveness", i, containerID, probe, func(healthy bool, detail string) bool {
				if !healthy {
					p.stopUnhealthy(i, containerID, detail)
				}
				return !healthy
			})
		})
	}
}

// runProbe checks the container every period after the initial delay, and
// calls onChange when the result has held for the success or failure
// threshold and differs from the last one reported. It returns when ctx
// ends or onChange returns true.
func (p *pod) runProbe(ctx context.Context, kind string, i int, containerID string, probe *types.Probe,
	onChange func(healthy bool, detail string) bool) {
	t := timingsOf(probe)
	log := p.log.With("container", p.containers[i].spec.Name, "container_id", containerID, "probe", kind)
	if sleep(ctx, t.initialDelay) != nil {
		return
	}
	ticker := time.NewTicker(t.period)
	defer ticker.Stop()

	var successes, failures int
	var reported *bool
	for {
		err := p.check(ctx, containerID, probe, t.timeout)
		if ctx.Err() != nil {
			return
		}
		log.Debug("probe result", "success", err == nil, "error", err)
		p.cfg.Metrics.ProbeResult(kind, err == nil)

		// Count the current streak and report a result once it is long
		// enough and new.
		healthy := err == nil
		if healthy {
			successes, failures = successes+1, 0
		} else {
			successes, failures = 0, failures+1
		}
		settled := (healthy && successes >= t.successThreshold) || (!healthy && failures >= t.failureThreshold)
		if settled && (reported == nil || *reported != healthy) {
			reported = &healthy
			if onChange(healthy, errorText(err)) {
				return
			}
		}

		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// check runs one probe of the container, bounded by timeout. HTTP and TCP
// probes go to the pod's IP; the host named in the probe is ignored.
func (p *pod) check(ctx context.Context, containerID string, probe *types.Probe, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if probe.Exec != nil {
		return p.checkExec(ctx, containerID, probe.Exec.Command)
	}

	p.mu.Lock()
	podIP := p.podIP
	p.mu.Unlock()
	if podIP == "" {
		return errors.New("pod has no IP")
	}
	if probe.HTTPGet != nil {
		return checkHTTP(ctx, podIP, probe.HTTPGet)
	}
	return checkTCP(ctx, podIP, probe.TCPSocket.Port)
}

func (p *pod) checkExec(ctx context.Context, containerID string, command []string) error {
	code, err := p.rt.Exec(ctx, containerID, command)
	if err != nil {
		return fmt.Errorf("exec %q: %w", command, err)
	}
	if code != 0 {
		return fmt.Errorf("exec %q exited with code %d", command, code)
	}
	return nil
}

// checkHTTP passes when GET http://<podIP>:<port><path> returns a status
// from 200 to 399.
func checkHTTP(ctx context.Context, podIP string, action *types.HTTPGetAction) error {
	path := action.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := "http://" + net.JoinHostPort(podIP, strconv.Itoa(action.Port)) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("build request for GET %s: %w", url, err)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return fmt.Errorf("GET %s returned status %d", url, resp.StatusCode)
	}
	return nil
}

// checkTCP passes when a TCP connection to <podIP>:<port> opens.
func checkTCP(ctx context.Context, podIP string, port int) error {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(podIP, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("connect to port %d: %w", port, err)
	}
	return conn.Close()
}

// recordReady sets the Ready flag of container i if containerID is still
// its running instance.
func (p *pod) recordReady(i int, containerID string, ready bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc := p.containers[i]
	if pc.status.ContainerID != containerID || pc.status.State != types.ContainerRunning || pc.status.Ready == ready {
		return
	}
	p.log.Info("container readiness changed", "container", pc.spec.Name, "container_id", containerID, "ready", ready)
	pc.status.Ready = ready
	p.notifyLocked()
}

// stopUnhealthy stops the instance containerID of container i after its
// liveness probe failed. The instance's supervisor then records the exit
// and applies the restart policy.
func (p *pod) stopUnhealthy(i int, containerID, detail string) {
	p.mu.Lock()
	pc := p.containers[i]
	current := pc.status.ContainerID == containerID
	if current {
		pc.unhealthy = detail
	}
	p.mu.Unlock()
	if !current {
		return
	}

	p.log.Info("liveness probe failed, stopping container", "container", pc.spec.Name, "container_id", containerID, "error", detail)
	if err := p.rt.Stop(p.superviseCtx, containerID, p.cfg.StopGrace); err != nil && p.superviseCtx.Err() == nil {
		p.log.Warn("failed to stop unhealthy container", "container", pc.spec.Name, "container_id", containerID, "error", err)
	}
}
