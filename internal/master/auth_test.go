package master

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podling/podling/internal/auth"
	"github.com/podling/podling/internal/types"
)

func withKeys(t *testing.T) (func(*Config), *auth.Keys) {
	t.Helper()
	keys, err := auth.NewKeys([]byte(strings.Repeat("c", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return func(c *Config) { c.Keys = keys }, keys
}

// callAs is call with a bearer token and an optional HTTP client.
func callAs(t *testing.T, client *http.Client, token, method, url string, body any) httpResult {
	t.Helper()
	data, _ := json.Marshal(body)
	req, err := http.NewRequest(method, url, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return httpResult{status: resp.StatusCode, header: resp.Header, body: buf.Bytes()}
}

func TestAuth_ForwardedWritesAreCheckedOnTheLeader(t *testing.T) {
	option, keys := withKeys(t)
	tc := startCluster(t, 3, option)
	leader := tc.waitLeader()
	follower := tc.url(tc.follower(leader))
	admin, _ := keys.Sign(auth.RoleAdmin, "ops", "", time.Hour, time.Now())
	viewer, _ := keys.Sign(auth.RoleViewer, "dev", "", time.Hour, time.Now())
	client := &http.Client{Timeout: 10 * time.Second}
	task := types.CreateTaskRequest{Name: "guarded", Image: "img"}

	if res := callAs(t, client, "", http.MethodPost, follower+"/api/v1/tasks", task); res.status != http.StatusUnauthorized {
		t.Errorf("write without a token via a follower: status %d, want 401", res.status)
	}
	if res := callAs(t, client, viewer, http.MethodPost, follower+"/api/v1/tasks", task); res.status != http.StatusForbidden {
		t.Errorf("write with a viewer token via a follower: status %d, want 403", res.status)
	}
	created := callAs(t, client, admin, http.MethodPost, follower+"/api/v1/tasks", task)
	if created.status != http.StatusCreated {
		t.Fatalf("write with an admin token via a follower: status %d, body %s", created.status, created.body)
	}
	id := decode[types.Task](t, created).TaskID
	if res := callAs(t, client, viewer, http.MethodGet, follower+"/api/v1/tasks/"+id, nil); res.status != http.StatusOK {
		t.Errorf("linearizable read with a viewer token via a follower: status %d, body %s", res.status, res.body)
	}
	// Masters authenticate to each other with tokens of their own, which
	// publishing a follower's address needs.
	deadline := time.Now().Add(10 * time.Second)
	for i := range tc.masters {
		for {
			if _, ok := tc.masters[leader].FSM().MasterAddress(tc.configs[i].ID); ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("master %s did not publish its address with authentication on", tc.configs[i].ID)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestTLS_ForwardingOverTLS(t *testing.T) {
	certFile, keyFile := selfSignedCert(t)
	tc := startCluster(t, 3, func(c *Config) {
		c.TLSCertFile, c.TLSKeyFile, c.CAFile = certFile, keyFile, certFile
	})
	leader := tc.waitLeader()
	follower := tc.follower(leader)
	if !strings.HasPrefix(tc.url(follower), "https://") {
		t.Fatalf("master advertises %s, want an https URL", tc.url(follower))
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	res := callAs(t, client, "", http.MethodPost, tc.url(follower)+"/api/v1/tasks", types.CreateTaskRequest{Name: "over-tls", Image: "img"})
	if res.status != http.StatusCreated {
		t.Fatalf("write via a follower over TLS: status %d, body %s", res.status, res.body)
	}
	if got := res.header.Get("X-Podling-Served-By"); got != tc.configs[leader].ID {
		t.Errorf("served by %q, want the leader %q", got, tc.configs[leader].ID)
	}
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key.
func selfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "podling-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
