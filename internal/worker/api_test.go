package worker

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/podling/podling/internal/runtime/fake"
	"github.com/podling/podling/internal/types"
)

func TestAPI_RejectsBadRequests(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	const taskID = "20250119123456-abc12345"
	tw.execute(t, taskID, testImage)

	validBody := `{"task":{"taskId":"` + taskID + `","image":"` + testImage + `"}}`
	otherTask := `{"task":{"taskId":"20250119123456-other000","image":"x"}}`
	tooLarge := `{"task":{"taskId":"` + taskID + `","image":"` + strings.Repeat("x", 1<<20) + `"}}`
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int
		code   string
	}{
		{"execute upper-case id", http.MethodPost, "/api/v1/tasks/BAD-ID/execute", validBody, 400, codeInvalidTaskID},
		{"execute id with dot", http.MethodPost, "/api/v1/tasks/a.b/execute", validBody, 400, codeInvalidTaskID},
		{"execute id too long", http.MethodPost, "/api/v1/tasks/" + strings.Repeat("a", 64) + "/execute", validBody, 400, codeInvalidTaskID},
		{"status bad id", http.MethodGet, "/api/v1/tasks/_x/status", "", 400, codeInvalidTaskID},
		{"logs bad id", http.MethodGet, "/api/v1/tasks/-x/logs", "", 400, codeInvalidTaskID},
		{"execute id mismatch", http.MethodPost, "/api/v1/tasks/" + taskID + "/execute", otherTask, 400, codeInvalidRequest},
		{"execute missing image", http.MethodPost, "/api/v1/tasks/" + taskID + "/execute", `{"task":{"taskId":"` + taskID + `"}}`, 400, codeInvalidRequest},
		{"execute unknown field", http.MethodPost, "/api/v1/tasks/" + taskID + "/execute", `{"task":{"taskId":"` + taskID + `","image":"x"},"extra":1}`, 400, codeInvalidRequest},
		{"execute trailing data", http.MethodPost, "/api/v1/tasks/" + taskID + "/execute", validBody + `{}`, 400, codeInvalidRequest},
		{"execute not json", http.MethodPost, "/api/v1/tasks/" + taskID + "/execute", `task`, 400, codeInvalidRequest},
		{"execute empty body", http.MethodPost, "/api/v1/tasks/" + taskID + "/execute", ``, 400, codeInvalidRequest},
		{"execute body too large", http.MethodPost, "/api/v1/tasks/" + taskID + "/execute", tooLarge, 413, codeBodyTooLarge},
		{"logs tail zero", http.MethodGet, "/api/v1/tasks/" + taskID + "/logs?tail=0", "", 400, codeInvalidRequest},
		{"logs tail negative", http.MethodGet, "/api/v1/tasks/" + taskID + "/logs?tail=-5", "", 400, codeInvalidRequest},
		{"logs tail too large", http.MethodGet, "/api/v1/tasks/" + taskID + "/logs?tail=10001", "", 400, codeInvalidRequest},
		{"logs tail not a number", http.MethodGet, "/api/v1/tasks/" + taskID + "/logs?tail=abc", "", 400, codeInvalidRequest},
		{"logs tail empty", http.MethodGet, "/api/v1/tasks/" + taskID + "/logs?tail=", "", 400, codeInvalidRequest},
		{"logs tail twice", http.MethodGet, "/api/v1/tasks/" + taskID + "/logs?tail=1&tail=2", "", 400, codeInvalidRequest},
		{"status unknown task", http.MethodGet, "/api/v1/tasks/20250119123456-unknown0/status", "", 404, codeNotFound},
		{"logs unknown task", http.MethodGet, "/api/v1/tasks/20250119123456-unknown0/logs", "", 404, codeNotFound},
		{"unknown path", http.MethodGet, "/api/v1/nothing", "", 404, codeNotFound},
		{"wrong method", http.MethodGet, "/api/v1/tasks/" + taskID + "/execute", "", 405, codeMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, data := tw.do(t, tc.method, tc.path, []byte(tc.body))
			if status != tc.status {
				t.Errorf("status = %d, want %d (body %s)", status, tc.status, data)
			}
			var apiErr types.Error
			if err := json.Unmarshal(data, &apiErr); err != nil {
				t.Fatalf("body %q is not a JSON error: %v", data, err)
			}
			if apiErr.Code != tc.code || apiErr.Error == "" {
				t.Errorf("error = %+v, want code %q and a message", apiErr, tc.code)
			}
		})
	}
	if n := rt.Created(); n != 1 {
		t.Errorf("containers created = %d, want only the valid task's", n)
	}
}

func TestAPI_LogsTail(t *testing.T) {
	master := newStubMaster(t)
	rt := fake.New(testNodeID)
	tw := startWorker(t, rt, master.URL())
	const taskID = "20250119123456-abc12345"
	tw.execute(t, taskID, testImage)
	if err := rt.AppendLogs(taskID, "one", "two", "three"); err != nil {
		t.Fatal(err)
	}

	status, data := tw.do(t, http.MethodGet, "/api/v1/tasks/"+taskID+"/logs?tail=2", nil)
	if status != http.StatusOK || string(data) != "two\nthree\n" {
		t.Errorf("logs tail 2 = %d %q, want 200 %q", status, data, "two\nthree\n")
	}
	status, data = tw.do(t, http.MethodGet, "/api/v1/tasks/"+taskID+"/logs", nil)
	if status != http.StatusOK || string(data) != "one\ntwo\nthree\n" {
		t.Errorf("logs with default tail = %d %q, want every line", status, data)
	}
}

func TestAPI_Health(t *testing.T) {
	master := newStubMaster(t)
	tw := startWorker(t, fake.New(testNodeID), master.URL())

	status, data := tw.do(t, http.MethodGet, "/health", nil)
	var health struct {
		Status string `json:"status"`
		NodeID string `json:"nodeId"`
	}
	if err := json.Unmarshal(data, &health); err != nil {
		t.Fatalf("decode health %q: %v", data, err)
	}
	if status != http.StatusOK || health.Status != "ok" || health.NodeID != testNodeID {
		t.Errorf("health = %d %+v, want 200 ok for %s", status, health, testNodeID)
	}
}
