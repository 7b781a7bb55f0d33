package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/podling/podling/internal/types"
)

// seedServiceBody is the example body of POST /api/v1/services in the API
// reference, kept byte for byte.
const seedServiceBody = `{
"name": "web-service",
"namespace": "default",
"selector": {
"app": "nginx"
},
"ports": [
{
"name": "http",
"port": 80,
"targetPort": 8080
}
]
}`

// createService creates a service through the API and returns it.
func createService(t *testing.T, m *master, body string) types.Service {
	t.Helper()
	rec := do(t, m.server, http.MethodPost, "/api/v1/services", body)
	wantStatus(t, rec, http.StatusCreated)
	return decodeBody[types.Service](t, rec)
}

func serviceIDs(services []types.Service) []string {
	out := make([]string, 0, len(services))
	for _, s := range services {
		out = append(out, s.ServiceID)
	}
	return out
}

func TestCreateService_SeedExample(t *testing.T) {
	m := newLeader(t, masterOptions{})

	rec := do(t, m.server, http.MethodPost, "/api/v1/services", seedServiceBody)

	wantStatus(t, rec, http.StatusCreated)
	svc := decodeBody[types.Service](t, rec)
	if !taskIDPattern.MatchString(svc.ServiceID) {
		t.Errorf("serviceId: expected the form 20250119123456-abc12345, got %q", svc.ServiceID)
	}
	if svc.Name != "web-service" || svc.Namespace != "default" {
		t.Errorf("expected web-service in default, got %s in %s", svc.Name, svc.Namespace)
	}
	if len(svc.Selector) != 1 || svc.Selector["app"] != "nginx" {
		t.Errorf("selector: expected app=nginx, got %v", svc.Selector)
	}
	if want := []types.ServicePort{{Name: "http", Port: 80, TargetPort: 8080}}; !slices.Equal(svc.Ports, want) {
		t.Errorf("ports: expected %+v, got %+v", want, svc.Ports)
	}
	if !svc.CreatedAt.Equal(baseTime) {
		t.Errorf("createdAt: expected %v from the leader's clock, got %v", baseTime, svc.CreatedAt)
	}
	if stored, ok := m.fsm.Service(svc.ServiceID); !ok || stored.Name != "web-service" {
		t.Errorf("expected the service stored in the FSM, got %+v (found %v)", stored, ok)
	}
}

func TestCreateService_Defaults(t *testing.T) {
	m := newLeader(t, masterOptions{})

	rec := do(t, m.server, http.MethodPost, "/api/v1/services", `{"name":"api","ports":[{"port":80,"targetPort":8080}]}`)

	wantStatus(t, rec, http.StatusCreated)
	if !strings.Contains(rec.Body.String(), `"selector":{}`) {
		t.Errorf("expected an omitted selector returned as {}, got %s", rec.Body.String())
	}
	svc := decodeBody[types.Service](t, rec)
	if svc.Namespace != types.DefaultNamespace {
		t.Errorf("namespace: expected %q when omitted, got %q", types.DefaultNamespace, svc.Namespace)
	}
}

func TestCreateService_DuplicateNameIs409(t *testing.T) {
	m := newLeader(t, masterOptions{})
	createService(t, m, seedServiceBody)
	before := takeSnapshot(m.fsm)

	rec := do(t, m.server, http.MethodPost, "/api/v1/services", seedServiceBody)

	wantError(t, rec, http.StatusConflict, "already_exists", "web-service")
	wantUnchanged(t, m.fsm, before)
	createService(t, m, strings.Replace(seedServiceBody, `"default"`, `"production"`, 1))
}

func TestCreateService_InvalidInputIs400(t *testing.T) {
	manyPorts := make([]string, 33)
	for i := range manyPorts {
		manyPorts[i] = fmt.Sprintf(`{"name":"p%d","port":%d,"targetPort":8080}`, i, 1000+i)
	}
	tests := []struct {
		name     string
		body     string
		contains []string
	}{
		{"no ports", `{"name":"web","selector":{"app":"web"},"ports":[]}`, []string{"ports", "at least one"}},
		{"ports missing", `{"name":"web","selector":{"app":"web"}}`, []string{"ports"}},
		{"too many ports", `{"name":"web","ports":[` + strings.Join(manyPorts, ",") + `]}`, []string{"ports", "32"}},
		{"port 0", `{"name":"web","ports":[{"port":0,"targetPort":8080}]}`, []string{"ports[0].port"}},
		{"port 70000", `{"name":"web","ports":[{"port":70000,"targetPort":8080}]}`, []string{"ports[0].port", "70000"}},
		{"target port 0", `{"name":"web","ports":[{"port":80,"targetPort":0}]}`, []string{"ports[0].targetPort"}},
		{"target port missing", `{"name":"web","ports":[{"port":80}]}`, []string{"ports[0].targetPort"}},
		{"duplicate port names", `{"name":"web","ports":[{"name":"http","port":80,"targetPort":8080},{"name":"http","port":81,"targetPort":8081}]}`, []string{"ports[1].name", "http"}},
		{"several ports without names", `{"name":"web","ports":[{"port":80,"targetPort":8080},{"port":81,"targetPort":8081}]}`, []string{"ports[0].name", "several ports"}},
		{"second port without a name", `{"name":"web","ports":[{"name":"http","port":80,"targetPort":8080},{"port":81,"targetPort":8081}]}`, []string{"ports[1].name"}},
		{"port name with capitals", `{"name":"web","ports":[{"name":"HTTP","port":80,"targetPort":8080}]}`, []string{"ports[0].name"}},
		{"selector key with space", `{"name":"web","selector":{"bad key":"x"},"ports":[{"port":80,"targetPort":8080}]}`, []string{"selector", "bad key"}},
		{"selector value with space", `{"name":"web","selector":{"app":"x y"},"ports":[{"port":80,"targetPort":8080}]}`, []string{"selector.app"}},
		{"selector of wrong type", `{"name":"web","selector":"app=web","ports":[{"port":80,"targetPort":8080}]}`, []string{"selector"}},
		{"name with capitals", `{"name":"Web","ports":[{"port":80,"targetPort":8080}]}`, []string{"name", "Web"}},
		{"name missing", `{"ports":[{"port":80,"targetPort":8080}]}`, []string{"name", "required"}},
		{"namespace with capitals", `{"name":"web","namespace":"Prod","ports":[{"port":80,"targetPort":8080}]}`, []string{"namespace"}},
		{"label value with space", `{"name":"web","labels":{"tier":"a b"},"ports":[{"port":80,"targetPort":8080}]}`, []string{"labels.tier"}},
		{"unknown field", `{"name":"web","clusterIP":"10.0.0.1","ports":[{"port":80,"targetPort":8080}]}`, []string{"clusterIP", "unknown field"}},
		{"empty body", ``, []string{"empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newLeader(t, masterOptions{})
			before := takeSnapshot(m.fsm)

			rec := do(t, m.server, http.MethodPost, "/api/v1/services", tt.body)

			wantError(t, rec, http.StatusBadRequest, "invalid_argument", tt.contains...)
			if got := m.raft.proposalCount(); got != 0 {
				t.Errorf("expected nothing proposed for invalid input, got %d proposals", got)
			}
			wantUnchanged(t, m.fsm, before)
		})
	}
}

func TestListServices_Filters(t *testing.T) {
	m := newLeader(t, masterOptions{})
	web := createService(t, m, seedServiceBody)
	prod := createService(t, m, `{"name":"web-service","namespace":"production","labels":{"tier":"front"},"selector":{"app":"nginx"},"ports":[{"port":80,"targetPort":8080}]}`)
	backend := createService(t, m, `{"name":"api","namespace":"production","labels":{"tier":"back"},"selector":{"app":"api"},"ports":[{"port":80,"targetPort":9000}]}`)

	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"no filter in creation order", "", []string{web.ServiceID, prod.ServiceID, backend.ServiceID}},
		{"namespace", "?namespace=production", []string{prod.ServiceID, backend.ServiceID}},
		{"default namespace", "?namespace=default", []string{web.ServiceID}},
		{"unknown namespace", "?namespace=nowhere", []string{}},
		{"label", "?labelSelector=tier=front", []string{prod.ServiceID}},
		{"label and namespace", "?namespace=production&labelSelector=tier=back", []string{backend.ServiceID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, m.server, http.MethodGet, "/api/v1/services"+tt.query, "")
			wantStatus(t, rec, http.StatusOK)
			if len(tt.want) == 0 && rec.Body.String() != "[]\n" {
				t.Errorf("expected an empty JSON array, got %q", rec.Body.String())
			}
			if got := serviceIDs(decodeBody[[]types.Service](t, rec)); !slices.Equal(got, tt.want) {
				t.Errorf("expected services %v, got %v", tt.want, got)
			}
		})
	}

	for _, query := range []string{"?namespace=Prod", "?labelSelector=a!=b", "?labelSelector=novalue"} {
		t.Run("invalid "+query, func(t *testing.T) {
			rec := do(t, m.server, http.MethodGet, "/api/v1/services"+query, "")
			wantError(t, rec, http.StatusBadRequest, "invalid_argument")
		})
	}
}

func TestGetService(t *testing.T) {
	m := newLeader(t, masterOptions{})
	created := createService(t, m, seedServiceBody)

	t.Run("known service", func(t *testing.T) {
		rec := do(t, m.server, http.MethodGet, "/api/v1/services/"+created.ServiceID, "")
		wantStatus(t, rec, http.StatusOK)
		if got := decodeBody[types.Service](t, rec); got.ServiceID != created.ServiceID || got.Name != "web-service" {
			t.Errorf("expected the created service %+v, got %+v", created, got)
		}
	})
	t.Run("unknown service", func(t *testing.T) {
		rec := do(t, m.server, http.MethodGet, "/api/v1/services/20990101000000-zzzzzzzz", "")
		wantError(t, rec, http.StatusNotFound, "not_found", "20990101000000-zzzzzzzz")
	})
	t.Run("bad ID", func(t *testing.T) {
		rec := do(t, m.server, http.MethodGet, "/api/v1/services/web-service", "")
		wantError(t, rec, http.StatusBadRequest, "invalid_argument", "serviceId", "web-service")
	})
}

func TestDeleteService(t *testing.T) {
	m := newLeader(t, masterOptions{})
	svc := createService(t, m, seedServiceBody)

	rec := do(t, m.server, http.MethodDelete, "/api/v1/services/"+svc.ServiceID, "")

	wantStatus(t, rec, http.StatusOK)
	if got := decodeBody[types.Service](t, rec); got.ServiceID != svc.ServiceID {
		t.Errorf("expected the deleted service %s in the body, got %s", svc.ServiceID, got.ServiceID)
	}
	if _, ok := m.fsm.Service(svc.ServiceID); ok {
		t.Error("expected the service gone from the FSM, got it still there")
	}
	wantError(t, do(t, m.server, http.MethodGet, "/api/v1/services/"+svc.ServiceID, ""), http.StatusNotFound, "not_found")
	wantError(t, do(t, m.server, http.MethodDelete, "/api/v1/services/"+svc.ServiceID, ""), http.StatusNotFound, "not_found")
	wantError(t, do(t, m.server, http.MethodDelete, "/api/v1/services/bad", ""), http.StatusBadRequest, "invalid_argument", "serviceId")
	// The name can be used again.
	createService(t, m, seedServiceBody)
}

func TestEndpoints_UnknownServiceIs404(t *testing.T) {
	m := newLeader(t, masterOptions{})

	wantError(t, do(t, m.server, http.MethodGet, "/api/v1/services/20990101000000-zzzzzzzz/endpoints", ""), http.StatusNotFound, "not_found")
	wantError(t, do(t, m.server, http.MethodGet, "/api/v1/services/bad/endpoints", ""), http.StatusBadRequest, "invalid_argument", "serviceId")
}

func TestEndpoints_ListRunningReadyPod(t *testing.T) {
	m := newLeader(t, masterOptions{})
	addNode(t, m, "node-a")
	svc := createService(t, m, seedServiceBody)
	ready := createPod(t, m, `{"name":"nginx-1","labels":{"app":"nginx"},"containers":[{"name":"nginx","image":"nginx:latest"}]}`)
	starting := createPod(t, m, `{"name":"nginx-2","labels":{"app":"nginx"},"containers":[{"name":"nginx","image":"nginx:latest"}]}`)
	createPod(t, m, `{"name":"other","labels":{"app":"other"},"containers":[{"name":"app","image":"busybox"}]}`)

	rec := do(t, m.server, http.MethodGet, "/api/v1/services/"+svc.ServiceID+"/endpoints", "")
	wantStatus(t, rec, http.StatusOK)
	if body := rec.Body.String(); !strings.Contains(body, `"addresses":[]`) || !strings.Contains(body, `"notReadyAddresses":[]`) {
		t.Errorf("before any pod runs: expected both address lists as [], got %s", body)
	}

	placePod(t, m, ready.PodID, "node-a")
	runPod(t, m, ready, "10.88.0.5", true)
	placePod(t, m, starting.PodID, "node-a")
	runPod(t, m, starting, "10.88.0.6", false)

	rec = do(t, m.server, http.MethodGet, "/api/v1/services/"+svc.ServiceID+"/endpoints", "")

	wantStatus(t, rec, http.StatusOK)
	got := decodeBody[types.Endpoints](t, rec)
	if got.ServiceID != svc.ServiceID || got.Name != "web-service" || got.Namespace != "default" {
		t.Errorf("expected the endpoints of web-service in default, got %s %s in %s", got.ServiceID, got.Name, got.Namespace)
	}
	wantReady := []types.EndpointAddress{{
		Address: "10.88.0.5:8080", IP: "10.88.0.5", Port: 8080, PortName: "http",
		PodID: ready.PodID, PodName: "nginx-1", NodeID: "node-a",
	}}
	if !slices.Equal(got.Addresses, wantReady) {
		t.Errorf("addresses: expected %+v, got %+v", wantReady, got.Addresses)
	}
	if len(got.NotReadyAddresses) != 1 || got.NotReadyAddresses[0].Address != "10.88.0.6:8080" {
		t.Errorf("notReadyAddresses: expected only 10.88.0.6:8080, got %+v", got.NotReadyAddresses)
	}
}
