package api_test

import (
	"net/http"
	"testing"
)

// fuzzEndpoint sends arbitrary bodies to one write endpoint of a leader.
// The server must never respond 5xx or panic, and a rejected body must not
// change the state.
func fuzzEndpoint(f *testing.F, method, path string, seeds ...string) {
	for _, seed := range seeds {
		f.Add([]byte(seed))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"a":1}{"b":2}`))
	f.Add([]byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, body []byte) {
		m := newLeader(t, masterOptions{})
		scheduleFixture(t, m)
		before := takeSnapshot(m.fsm)
		rec := do(t, m.server, method, path, string(body))
		if rec.Code >= 500 {
			t.Fatalf("body %q: status %d, body %s", body, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 {
			wantUnchanged(t, m.fsm, before)
		}
	})
}

// scheduleFixture gives the status endpoints a task and a pod to act on.
func scheduleFixture(t *testing.T, m *master) {
	t.Helper()
	registerNode(t, m, `{"nodeId":"n1","hostname":"n1","port":8081,"capacity":4}`)
	do(t, m.server, http.MethodPost, "/api/v1/tasks", `{"name":"fixture","image":"img"}`)
}

func FuzzCreateTask(f *testing.F) {
	fuzzEndpoint(f, http.MethodPost, "/api/v1/tasks",
		`{"name":"nginx-task","image":"nginx:latest","env":{"PORT":"8080"}}`)
}

func FuzzCreatePod(f *testing.F) {
	fuzzEndpoint(f, http.MethodPost, "/api/v1/pods",
		`{"name":"my-web-app","namespace":"production","labels":{"app":"web"},"containers":[{"name":"app","image":"myapp:1.0","ports":[{"containerPort":8080}],"readinessProbe":{"httpGet":{"path":"/","port":8080}}}]}`)
}

func FuzzCreateService(f *testing.F) {
	fuzzEndpoint(f, http.MethodPost, "/api/v1/services",
		`{"name":"web-service","selector":{"app":"nginx"},"ports":[{"name":"http","port":80,"targetPort":8080}]}`)
}

func FuzzRegisterNode(f *testing.F) {
	fuzzEndpoint(f, http.MethodPost, "/api/v1/nodes/register",
		`{"hostname":"worker-1","port":8081,"capacity":10,"tasks":[{"taskId":"20250119123456-abc12345","containerId":"c","status":"running"}]}`)
}

func FuzzTaskStatus(f *testing.F) {
	fuzzEndpoint(f, http.MethodPut, "/api/v1/tasks/20250119123456-abc12345/status",
		`{"status":"running","containerId":"abc","nodeId":"n1"}`)
}

func FuzzPodStatus(f *testing.F) {
	fuzzEndpoint(f, http.MethodPut, "/api/v1/pods/20250119123456-abc12345/status",
		`{"status":"running","podIP":"10.0.0.2","containerStatuses":[{"name":"app","state":"running","ready":true,"restartCount":0}]}`)
}
