package fsm

import (
	"slices"
	"testing"

	"github.com/podling/podling/internal/types"
)

// newTestService returns a service with one port, 80 to 8080, named http.
func newTestService(id, name, namespace string, selector map[string]string) types.Service {
	return types.Service{
		ServiceID: id,
		Name:      name,
		Namespace: namespace,
		Selector:  selector,
		Ports:     []types.ServicePort{{Name: "http", Port: 80, TargetPort: 8080}},
		CreatedAt: at(0),
	}
}

func serviceIDs(services []types.Service) []string {
	out := make([]string, 0, len(services))
	for _, s := range services {
		out = append(out, s.ServiceID)
	}
	return out
}

func TestApply_CreateService(t *testing.T) {
	f := New(nil)
	svc := newTestService("s1", "web", "production", map[string]string{"app": "web"})
	svc.Labels = map[string]string{"team": "core"}

	res := mustApply(t, f, CreateService{Service: svc})

	got, ok := res.(types.Service)
	if !ok || show(got) != show(svc) {
		t.Errorf("result: expected %s, got %T %s", show(svc), res, show(res))
	}
	if stored, ok := f.Service("s1"); !ok || show(stored) != show(svc) {
		t.Errorf("Service(s1): expected %s, got %s (found %v)", show(svc), show(stored), ok)
	}
	if _, ok := f.Service("s-missing"); ok {
		t.Error("Service(s-missing): expected not found, got found")
	}
}

func TestApply_CreateServiceRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *types.Service)
		want   error
	}{
		{"taken ID", func(s *types.Service) { s.ServiceID = "s1" }, ErrAlreadyExists},
		{"taken name in the namespace", func(s *types.Service) { s.Name = "web" }, ErrAlreadyExists},
		{"no ID", func(s *types.Service) { s.ServiceID = "" }, ErrInvalidCommand},
		{"no name", func(s *types.Service) { s.Name = "" }, ErrInvalidCommand},
		{"no namespace", func(s *types.Service) { s.Namespace = "" }, ErrInvalidCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			mustApply(t, f, CreateService{Service: newTestService("s1", "web", types.DefaultNamespace, nil)})
			svc := newTestService("s2", "api", types.DefaultNamespace, nil)
			tt.change(&svc)

			checkRejected(t, f, CreateService{Service: svc}, tt.want)
		})
	}
}

func TestApply_DeleteService(t *testing.T) {
	f := New(nil)
	mustApply(t, f, CreateService{Service: newTestService("s1", "web", types.DefaultNamespace, nil)})
	mustApply(t, f, CreateService{Service: newTestService("s2", "web", "staging", nil)})

	res := mustApply(t, f, DeleteService{ServiceID: "s1"})

	if got, ok := res.(types.Service); !ok || got.ServiceID != "s1" {
		t.Errorf("result: expected the deleted service s1, got %s", show(res))
	}
	if _, ok := f.Service("s1"); ok {
		t.Error("Service(s1): expected not found after delete, got found")
	}
	if _, ok := f.Endpoints("s1"); ok {
		t.Error("Endpoints(s1): expected not found after delete, got found")
	}
	if got := serviceIDs(f.Services(ServiceFilter{})); !slices.Equal(got, []string{"s2"}) {
		t.Errorf("services: expected [s2], got %v", got)
	}
	// The name is free again in its namespace.
	mustApply(t, f, CreateService{Service: newTestService("s3", "web", types.DefaultNamespace, nil)})

	t.Run("unknown service", func(t *testing.T) {
		checkRejected(t, f, DeleteService{ServiceID: "s1"}, ErrNotFound)
	})
}

func TestServices_Filters(t *testing.T) {
	f := New(nil)
	for _, svc := range []types.Service{
		newTestService("s1", "web", types.DefaultNamespace, nil),
		newTestService("s2", "web", "production", nil),
		newTestService("s3", "api", "production", nil),
		newTestService("s4", "db", types.DefaultNamespace, nil),
	} {
		switch svc.ServiceID {
		case "s1", "s2":
			svc.Labels = map[string]string{"tier": "front", "team": "web"}
		case "s3":
			svc.Labels = map[string]string{"tier": "back"}
		}
		mustApply(t, f, CreateService{Service: svc})
	}

	tests := []struct {
		name   string
		filter ServiceFilter
		want   []string
	}{
		{"everything in creation order", ServiceFilter{}, []string{"s1", "s2", "s3", "s4"}},
		{"namespace", ServiceFilter{Namespace: "production"}, []string{"s2", "s3"}},
		{"unknown namespace", ServiceFilter{Namespace: "nowhere"}, []string{}},
		{"label", ServiceFilter{Labels: map[string]string{"tier": "front"}}, []string{"s1", "s2"}},
		{"every label must match", ServiceFilter{Labels: map[string]string{"tier": "front", "team": "db"}}, []string{}},
		{"namespace and label", ServiceFilter{Namespace: "production", Labels: map[string]string{"tier": "front"}}, []string{"s2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.Services(tt.filter)
			if got == nil {
				t.Fatal("expected a non-nil slice, got nil")
			}
			if ids := serviceIDs(got); !slices.Equal(ids, tt.want) {
				t.Errorf("expected %v, got %v", tt.want, ids)
			}
		})
	}
}

// endpointPods lists the pod IDs behind addresses, in order.
func endpointPods(addresses []types.EndpointAddress) []string {
	out := make([]string, 0, len(addresses))
	for _, a := range addresses {
		out = append(out, a.PodID)
	}
	return out
}

// runPod creates p, places it on n1 and reports it running with ip and
// every container ready or not.
func runPod(t *testing.T, f *FSM, p types.Pod, ip string, ready bool) {
	t.Helper()
	mustApply(t, f, CreatePod{Pod: p})
	placePod(t, f, p.PodID, "n1", p.CreatedAt)
	reportPod(t, f, p.PodID, types.PodStatusReport{Status: types.PodRunning, PodIP: ip, ContainerStatuses: containerStatuses(p, ready)}, p.CreatedAt)
}

func labelled(p types.Pod, labels map[string]string) types.Pod {
	p.Labels = labels
	return p
}

func TestEndpoints_Selection(t *testing.T) {
	web := map[string]string{"app": "web", "tier": "front"}
	tests := []struct {
		name     string
		selector map[string]string
		setup    func(t *testing.T, f *FSM)
		ready    []string
		notReady []string
	}{
		{"matching running ready pod", web, func(t *testing.T, f *FSM) {
			runPod(t, f, labelled(newTestPod("p1", at(1)), map[string]string{"app": "web", "tier": "front", "extra": "x"}), "10.88.0.1", true)
		}, []string{"p1"}, nil},
		{"selector must match every pair", web, func(t *testing.T, f *FSM) {
			runPod(t, f, labelled(newTestPod("p1", at(1)), map[string]string{"app": "web"}), "10.88.0.1", true)
			runPod(t, f, labelled(newTestPod("p2", at(2)), map[string]string{"app": "web", "tier": "back"}), "10.88.0.2", true)
		}, nil, nil},
		{"other namespace", web, func(t *testing.T, f *FSM) {
			p := labelled(newTestPod("p1", at(1)), web)
			p.Namespace = "staging"
			runPod(t, f, p, "10.88.0.1", true)
		}, nil, nil},
		{"empty selector matches nothing", map[string]string{}, func(t *testing.T, f *FSM) {
			runPod(t, f, labelled(newTestPod("p1", at(1)), web), "10.88.0.1", true)
		}, nil, nil},
		{"nil selector matches nothing", nil, func(t *testing.T, f *FSM) {
			runPod(t, f, newTestPod("p1", at(1)), "10.88.0.1", true)
		}, nil, nil},
		{"pods that are not running", web, func(t *testing.T, f *FSM) {
			addPod(t, f, labelled(newTestPod("p-pending", at(1)), web), types.PodPending, "")
			addPod(t, f, labelled(newTestPod("p-scheduled", at(2)), web), types.PodScheduled, "n1")
			addPod(t, f, labelled(newTestPod("p-succeeded", at(3)), web), types.PodSucceeded, "n1")
			addPod(t, f, labelled(newTestPod("p-failed", at(4)), web), types.PodFailed, "n1")
		}, nil, nil},
		{"running pod without an IP", web, func(t *testing.T, f *FSM) {
			runPod(t, f, labelled(newTestPod("p1", at(1)), web), "", true)
		}, nil, nil},
		{"ready and not ready", web, func(t *testing.T, f *FSM) {
			runPod(t, f, labelled(newTestPod("p1", at(1)), web), "10.88.0.1", true)
			runPod(t, f, labelled(newTestPod("p2", at(2)), web), "10.88.0.2", false)
			runPod(t, f, labelled(newTestPod("p3", at(3)), web), "10.88.0.3", true)
		}, []string{"p1", "p3"}, []string{"p2"}},
		{"one container of two not ready", web, func(t *testing.T, f *FSM) {
			p := labelled(newTestPod("p1", at(1)), web)
			p.Containers = append(p.Containers, types.Container{Name: "sidecar", Image: "registry.local/proxy:2"})
			runPod(t, f, p, "10.88.0.1", true)
			statuses := containerStatuses(p, true)
			statuses[1].Ready = false
			reportPod(t, f, "p1", types.PodStatusReport{Status: types.PodRunning, ContainerStatuses: statuses}, at(5))
		}, nil, []string{"p1"}},
		{"container statuses missing", web, func(t *testing.T, f *FSM) {
			p := labelled(newTestPod("p1", at(1)), web)
			mustApply(t, f, CreatePod{Pod: p})
			placePod(t, f, "p1", "n1", at(2))
			reportPod(t, f, "p1", types.PodStatusReport{Status: types.PodRunning, PodIP: "10.88.0.1"}, at(3))
		}, nil, []string{"p1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			registerNode(t, f, "n1")
			tt.setup(t, f)
			mustApply(t, f, CreateService{Service: newTestService("s1", "web", types.DefaultNamespace, tt.selector)})

			got, ok := f.Endpoints("s1")

			if !ok {
				t.Fatal("Endpoints(s1): expected found, got not found")
			}
			if got.ServiceID != "s1" || got.Name != "web" || got.Namespace != types.DefaultNamespace {
				t.Errorf("expected the endpoints of s1 web in default, got %s %s in %s", got.ServiceID, got.Name, got.Namespace)
			}
			if got.Addresses == nil || got.NotReadyAddresses == nil {
				t.Errorf("expected both address lists non-nil so they encode as [], got %s", show(got))
			}
			if pods := endpointPods(got.Addresses); !slices.Equal(pods, nonNil(tt.ready)) {
				t.Errorf("ready addresses: expected pods %v, got %v", tt.ready, pods)
			}
			if pods := endpointPods(got.NotReadyAddresses); !slices.Equal(pods, nonNil(tt.notReady)) {
				t.Errorf("not-ready addresses: expected pods %v, got %v", tt.notReady, pods)
			}
		})
	}
}

func nonNil(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

func TestEndpoints_OneAddressPerPort(t *testing.T) {
	f := New(nil)
	registerNode(t, f, "n1")
	p := labelled(newTestPod("p1", at(1)), map[string]string{"app": "web"})
	runPod(t, f, p, "10.88.0.5", true)
	svc := newTestService("s1", "web", types.DefaultNamespace, map[string]string{"app": "web"})
	svc.Ports = []types.ServicePort{{Name: "http", Port: 80, TargetPort: 8080}, {Name: "metrics", Port: 9090, TargetPort: 9100}}
	mustApply(t, f, CreateService{Service: svc})

	got, _ := f.Endpoints("s1")

	want := []types.EndpointAddress{
		{Address: "10.88.0.5:8080", IP: "10.88.0.5", Port: 8080, PortName: "http", PodID: "p1", PodName: "name-p1", NodeID: "n1"},
		{Address: "10.88.0.5:9100", IP: "10.88.0.5", Port: 9100, PortName: "metrics", PodID: "p1", PodName: "name-p1", NodeID: "n1"},
	}
	if show(got.Addresses) != show(want) {
		t.Errorf("addresses: expected %s, got %s", show(want), show(got.Addresses))
	}
}

func TestEndpoints_IPv6Address(t *testing.T) {
	f := New(nil)
	registerNode(t, f, "n1")
	runPod(t, f, labelled(newTestPod("p1", at(1)), map[string]string{"app": "web"}), "fd00::5", true)
	mustApply(t, f, CreateService{Service: newTestService("s1", "web", types.DefaultNamespace, map[string]string{"app": "web"})})

	got, _ := f.Endpoints("s1")

	if len(got.Addresses) != 1 || got.Addresses[0].Address != "[fd00::5]:8080" {
		t.Errorf("expected the address [fd00::5]:8080, got %s", show(got.Addresses))
	}
}

func TestEndpoints_FollowPodChanges(t *testing.T) {
	f := New(nil)
	registerNode(t, f, "n1")
	registerNode(t, f, "n2")
	mustApply(t, f, CreateService{Service: newTestService("s1", "web", types.DefaultNamespace, map[string]string{"app": "web"})})
	p := labelled(newTestPod("p1", at(1)), map[string]string{"app": "web"})
	other := labelled(newTestPod("p2", at(2)), map[string]string{"app": "web"})
	other.RestartPolicy = types.RestartNever

	check := func(step string, ready, notReady []string) {
		t.Helper()
		got, _ := f.Endpoints("s1")
		if pods := endpointPods(got.Addresses); !slices.Equal(pods, nonNil(ready)) {
			t.Errorf("%s: ready addresses: expected pods %v, got %v", step, ready, pods)
		}
		if pods := endpointPods(got.NotReadyAddresses); !slices.Equal(pods, nonNil(notReady)) {
			t.Errorf("%s: not-ready addresses: expected pods %v, got %v", step, notReady, pods)
		}
	}

	runPod(t, f, p, "10.88.0.1", false)
	check("running, not ready", nil, []string{"p1"})
	reportPod(t, f, "p1", types.PodStatusReport{Status: types.PodRunning, ContainerStatuses: containerStatuses(p, true)}, at(10))
	check("ready", []string{"p1"}, nil)
	runPod(t, f, other, "10.88.0.2", true)
	check("second pod ready", []string{"p1", "p2"}, nil)
	reportPod(t, f, "p1", types.PodStatusReport{Status: types.PodRunning, ContainerStatuses: containerStatuses(p, false)}, at(11))
	check("first pod fails readiness", []string{"p2"}, []string{"p1"})
	reportPod(t, f, "p1", types.PodStatusReport{Status: types.PodRunning, PodIP: "10.88.0.9", ContainerStatuses: containerStatuses(p, true)}, at(12))
	if got, _ := f.Endpoints("s1"); len(got.Addresses) != 2 || got.Addresses[0].Address != "10.88.0.9:8080" {
		t.Errorf("new IP: expected the first address 10.88.0.9:8080, got %s", show(got.Addresses))
	}
	setNodeStatus(t, f, "n1", types.NodeOffline, at(13))
	check("node lost", nil, nil)
	placePod(t, f, "p1", "n2", at(14))
	reportPod(t, f, "p1", types.PodStatusReport{Status: types.PodRunning, PodIP: "10.88.1.1", ContainerStatuses: containerStatuses(p, true)}, at(15))
	check("rescheduled and running", []string{"p1"}, nil)
	mustApply(t, f, DeletePod{PodID: "p1"})
	check("deleted", nil, nil)
}
