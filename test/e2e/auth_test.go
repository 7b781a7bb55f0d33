package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/testutil"
	"github.com/podling/podling/internal/types"
)

// TestE2E_AuthenticatedCluster runs masters and a worker with
// authentication on: the worker presents a worker token, masters present
// their own tokens to it, and a client needs an admin token to write.
func TestE2E_AuthenticatedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	dockerClient = testutil.RequireDocker(t)
	imgs := buildImages(t)
	bins := buildBinaries(t)
	secretFile := writeSecret(t)
	workerToken := mintToken(t, bins, secretFile, "worker")
	adminToken := mintToken(t, bins, secretFile, "admin")
	tokenFile := filepath.Join(t.TempDir(), "worker.token")
	if err := os.WriteFile(tokenFile, []byte(workerToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	lc := startMasterProcesses(t, bins, "15s", "-jwt-secret-file", secretFile)
	ws := &workerStarter{t: t, binary: bins.worker, nodeID: "e2e-auth-" + testutil.RandomSuffix(t),
		masterURLs: lc.masterURLs, network: testutil.NetworkName(t, dockerClient), pauseImage: imgs.pause,
		extra: []string{"-token-file", tokenFile, "-jwt-secret-file", secretFile}}
	testutil.RemoveContainersAtCleanup(t, dockerClient, runtime.LabelNodeID, ws.nodeID)
	ws.start()

	poll(t, 30*time.Second, "a ready master", func() bool {
		resp, err := httpClient.Get(lc.masterURLs[1] + "/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	body, _ := json.Marshal(types.CreateTaskRequest{Name: "guarded", Image: imgs.echo, Env: map[string]string{"ECHO_EXIT_CODE": "0"}})
	if status := postWithToken(t, lc.masterURLs[1]+"/api/v1/tasks", "", body); status != http.StatusUnauthorized {
		t.Errorf("create without a token: status %d, want 401", status)
	}
	var created types.Task
	poll(t, 30*time.Second, "an authenticated create", func() bool {
		return createAs(t, lc.masterURLs[1], adminToken, body, &created)
	})
	poll(t, 60*time.Second, "the task to complete", func() bool {
		var task types.Task
		return getAs(lc.masterURLs[2]+"/api/v1/tasks/"+created.TaskID, adminToken, &task) && task.Status == types.TaskCompleted
	})
}

func writeSecret(t *testing.T) string {
	t.Helper()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwt.secret")
	if err := os.WriteFile(path, []byte(hex.EncodeToString(raw)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mintToken(t *testing.T, bins binaries, secretFile, role string) string {
	t.Helper()
	out, err := exec.Command(bins.master, "token", "create", "--jwt-secret-file", secretFile, "--role", role, "--ttl", "1h").Output()
	if err != nil {
		t.Fatalf("token create --role %s: %v", role, err)
	}
	return strings.TrimSpace(string(out))
}

func postWithToken(t *testing.T, url, token string, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func createAs(t *testing.T, url, token string, body []byte, out *types.Task) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/tasks", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := httpClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusCreated && json.NewDecoder(resp.Body).Decode(out) == nil
}

func getAs(url, token string, out any) bool {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := httpClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(out) == nil
}
