package worker

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/runtime/fake"
	"github.com/podling/podling/internal/types"
)

// The fake runtime gives every pod the IP 127.0.0.1, so these probes reach
// servers of the test.

func TestProbes_HTTPReadinessFlips(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || !healthy.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(server.Close)

	master := newStubMaster(t)
	tw := startWorker(t, fake.New(testNodeID), master.URL())
	pod := testPod(testPodID, types.RestartAlways, "app")
	pod.Containers[0].ReadinessProbe = &types.Probe{
		HTTPGet:          &types.HTTPGetAction{Path: "/healthz", Port: portOf(t, server.Listener.Addr())},
		PeriodSeconds:    1,
		FailureThreshold: 1,
	}

	_, resp := tw.executePod(t, pod, 1)
	if resp.ContainerStatuses[0].Ready {
		t.Errorf("container ready before its first probe, want not ready")
	}
	tw.waitForPod(t, testPodID, "ready", containerReady(true))
	healthy.Store(false)
	tw.waitForPod(t, testPodID, "not ready", containerReady(false))
	waitFor(t, "a report with the container not ready", func() bool {
		reports := master.podReportsOf(testPodID)
		return len(reports) > 0 && !reports[len(reports)-1].ContainerStatuses[0].Ready
	})
}

func TestProbes_TCPReadiness(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	master := newStubMaster(t)
	tw := startWorker(t, fake.New(testNodeID), master.URL())
	pod := testPod(testPodID, types.RestartAlways, "app")
	pod.Containers[0].ReadinessProbe = &types.Probe{
		TCPSocket: &types.TCPSocketAction{Port: portOf(t, ln.Addr())}, PeriodSeconds: 1, FailureThreshold: 1,
	}

	tw.executePod(t, pod, 1)
	tw.waitForPod(t, testPodID, "ready", containerReady(true))
	ln.Close()
	tw.waitForPod(t, testPodID, "not ready", containerReady(false))
}

func TestProbes_ContainerWithoutReadinessIsReady(t *testing.T) {
	master := newStubMaster(t)
	tw := startWorker(t, fake.New(testNodeID), master.URL())

	_, resp := tw.executePod(t, testPod(testPodID, types.RestartAlways, "app"), 1)
	if c := resp.ContainerStatuses[0]; !c.Ready || c.State != types.ContainerRunning {
		t.Errorf("container = %+v, want running and ready", c)
	}
}

func TestProbes_LivenessFailureAppliesPolicy(t *testing.T) {
	tests := []struct {
		policy  types.RestartPolicy
		restart bool
	}{
		{types.RestartAlways, true},
		{types.RestartOnFailure, true},
		{types.RestartNever, false},
	}
	for _, tc := range tests {
		t.Run(string(tc.policy), func(t *testing.T) {
			master := newStubMaster(t)
			rt := fake.New(testNodeID)
			// Only the first instance of the container fails its probe.
			var commands atomic.Int32
			rt.SetExec(func(c runtime.Container, cmd []string) (int, error) {
				commands.Add(1)
				if c.RestartCount == 0 {
					return 1, nil
				}
				return 0, nil
			})
			tw := startWorker(t, rt, master.URL())
			pod := testPod(testPodID, tc.policy, "app")
			pod.Containers[0].LivenessProbe = &types.Probe{
				Exec: &types.ExecAction{Command: []string{"/app", "-get", "http://localhost:8080/healthz"}}, FailureThreshold: 1,
			}
			tw.executePod(t, pod, 1)

			if tc.restart {
				got := tw.waitForPod(t, testPodID, "a restart", restartedOnce("app"))
				if got.Status != types.PodRunning {
					t.Errorf("phase = %s, want running", got.Status)
				}
				return
			}
			got := tw.waitForPod(t, testPodID, "a final phase", func(r types.PodStatusReport) bool { return r.Status.Terminal() })
			app := containerStatus(t, got, "app")
			if got.Status != types.PodFailed || app.Reason != reasonLivenessFailed || app.RestartCount != 0 {
				t.Errorf("pod = %s with container %+v, want failed with reason %s and no restart", got.Status, app, reasonLivenessFailed)
			}
			if commands.Load() == 0 {
				t.Errorf("exec probe never ran")
			}
		})
	}
}

func TestProbeTimings_Defaults(t *testing.T) {
	got := timingsOf(&types.Probe{Exec: &types.ExecAction{Command: []string{"true"}}})
	want := probeTimings{period: defaultProbePeriod, timeout: defaultProbeTimeout,
		successThreshold: defaultSuccessThreshold, failureThreshold: defaultFailureThreshold}
	if got != want {
		t.Errorf("timings = %+v, want %+v", got, want)
	}
}

func containerReady(ready bool) func(types.PodStatusReport) bool {
	return func(r types.PodStatusReport) bool { return r.ContainerStatuses[0].Ready == ready }
}

func portOf(t *testing.T, addr net.Addr) int {
	t.Helper()
	_, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		t.Fatalf("split %s: %v", addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("port of %s: %v", addr, err)
	}
	return n
}
