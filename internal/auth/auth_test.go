package auth

import (
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	secret      = []byte(strings.Repeat("s", 32))
	otherSecret = []byte(strings.Repeat("o", 32))
	now         = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
)

func testVerifier(t *testing.T, audience string, secrets ...[]byte) *Verifier {
	t.Helper()
	keys, err := NewKeys(secrets...)
	if err != nil {
		t.Fatalf("keys: %v", err)
	}
	v := NewVerifier(keys, audience)
	v.now = func() time.Time { return now }
	return v
}

// signRaw signs arbitrary claims with any method and key.
func signRaw(t *testing.T, method jwt.SigningMethod, claims jwt.Claims, key any) string {
	t.Helper()
	token, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return token
}

func claimsOf(role string, iat, exp time.Time) jwt.MapClaims {
	c := jwt.MapClaims{"role": role}
	if !iat.IsZero() {
		c["iat"] = iat.Unix()
	}
	if !exp.IsZero() {
		c["exp"] = exp.Unix()
	}
	return c
}

func TestVerify_RejectsBadTokens(t *testing.T) {
	hour := time.Hour
	good := claimsOf("admin", now, now.Add(hour))
	noneToken := signRaw(t, jwt.SigningMethodNone, good, jwt.UnsafeAllowNoneSignatureType)
	tests := []struct {
		name, token, reason string
	}{
		{"none algorithm", noneToken, "signature"},
		{"HS512 with the secret", signRaw(t, jwt.SigningMethodHS512, good, secret), "signature"},
		{"RS256 header signed with the secret as HMAC key", rs256HeaderWithHMAC(t), "signature"},
		{"wrong secret", signRaw(t, jwt.SigningMethodHS256, good, otherSecret), "signature"},
		{"expired", signRaw(t, jwt.SigningMethodHS256, claimsOf("admin", now.Add(-2*hour), now.Add(-hour)), secret), "expired"},
		{"not yet valid", signRaw(t, jwt.SigningMethodHS256, jwt.MapClaims{"role": "admin", "iat": now.Unix(), "exp": now.Add(2 * hour).Unix(), "nbf": now.Add(hour).Unix()}, secret), "not valid yet"},
		{"issued in the future", signRaw(t, jwt.SigningMethodHS256, claimsOf("admin", now.Add(hour), now.Add(2*hour)), secret), "not valid yet"},
		{"missing exp", signRaw(t, jwt.SigningMethodHS256, claimsOf("admin", now, time.Time{}), secret), "exp"},
		{"missing iat", signRaw(t, jwt.SigningMethodHS256, claimsOf("admin", time.Time{}, now.Add(hour)), secret), "iat"},
		{"missing role", signRaw(t, jwt.SigningMethodHS256, jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(hour).Unix()}, secret), "role"},
		{"unknown role", signRaw(t, jwt.SigningMethodHS256, claimsOf("root", now, now.Add(hour)), secret), "role"},
		{"garbage", "not.a.token", "malformed"},
	}
	v := testVerifier(t, "", secret)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(tt.token)
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("expected ErrUnauthenticated, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("expected a reason mentioning %q, got %q", tt.reason, err)
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Errorf("the error repeats the token: %q", err)
			}
		})
	}
}

// rs256HeaderWithHMAC builds a token whose header says RS256 but whose
// signature is an HMAC with the secret, the classic algorithm confusion.
func rs256HeaderWithHMAC(t *testing.T) string {
	t.Helper()
	hs := signRaw(t, jwt.SigningMethodHS256, claimsOf("admin", now, now.Add(time.Hour)), secret)
	parts := strings.Split(hs, ".")
	header := jwtEncode(`{"alg":"RS256","typ":"JWT"}`)
	signature, err := jwt.SigningMethodHS256.Sign(header+"."+parts[1], secret)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return header + "." + parts[1] + "." + jwtEncode(string(signature))
}

func jwtEncode(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestVerify_AcceptsSignedToken(t *testing.T) {
	keys, _ := NewKeys(secret)
	token, err := keys.Sign(RoleViewer, "alice", "", time.Hour, now)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	claims, err := testVerifier(t, "", secret).Verify(token)
	if err != nil || claims.Role != RoleViewer || claims.Subject != "alice" {
		t.Errorf("verify = %+v, %v; want role viewer for alice", claims, err)
	}
}

func TestVerify_Audience(t *testing.T) {
	keys, _ := NewKeys(secret)
	other, _ := keys.Sign(RoleAdmin, "", "other", time.Hour, now)
	ours, _ := keys.Sign(RoleAdmin, "", "podling", time.Hour, now)
	v := testVerifier(t, "podling", secret)
	if _, err := v.Verify(other); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("token for another audience: expected ErrUnauthenticated, got %v", err)
	}
	if _, err := v.Verify(ours); err != nil {
		t.Errorf("token for our audience: %v", err)
	}
}

func TestVerify_OldSecretStillVerifiesDuringRotation(t *testing.T) {
	oldKeys, _ := NewKeys(otherSecret)
	token, _ := oldKeys.Sign(RoleAdmin, "", "", time.Hour, now)

	if _, err := testVerifier(t, "", secret, otherSecret).Verify(token); err != nil {
		t.Errorf("token signed with the second secret: %v", err)
	}
}

func TestFromRequest(t *testing.T) {
	tests := []struct {
		name, query string
		headers     []string
		wantErr     bool
	}{
		{"bearer", "", []string{"Bearer abc"}, false},
		{"lowercase scheme", "", []string{"bearer abc"}, false},
		{"missing", "", nil, true},
		{"no scheme", "", []string{"abc"}, true},
		{"basic", "", []string{"Basic abc"}, true},
		{"doubled bearer", "", []string{"Bearer Bearer abc"}, true},
		{"two headers", "", []string{"Bearer a", "Bearer b"}, true},
		{"token in query", "?access_token=abc", []string{"Bearer abc"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/v1/tasks"+tt.query, nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			token, err := FromRequest(r)
			if tt.wantErr != (err != nil) {
				t.Fatalf("FromRequest = %q, %v; want error %v", token, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("expected ErrUnauthenticated, got %v", err)
			}
		})
	}
}

func TestAuthorize(t *testing.T) {
	tests := []struct {
		role         Role
		method, path string
		allowed      bool
	}{
		{RoleAdmin, "DELETE", "/api/v1/pods/x", true},
		{RoleViewer, "GET", "/api/v1/tasks", true},
		{RoleViewer, "POST", "/api/v1/tasks", false},
		{RoleViewer, "GET", "/api/v1/cluster/snapshot", false},
		{RoleWorker, "POST", "/api/v1/nodes/register", true},
		{RoleWorker, "POST", "/api/v1/nodes/w1/heartbeat", true},
		{RoleWorker, "PUT", "/api/v1/tasks/t1/status", true},
		{RoleWorker, "PUT", "/api/v1/pods/p1/status", true},
		{RoleWorker, "POST", "/api/v1/tasks", false},
		{RoleWorker, "DELETE", "/api/v1/pods/p1", false},
		{RoleWorker, "GET", "/api/v1/tasks", false},
	}
	for _, tt := range tests {
		err := Authorize(tt.role, tt.method, tt.path)
		if tt.allowed != (err == nil) {
			t.Errorf("%s %s %s: error %v, want allowed %v", tt.role, tt.method, tt.path, err, tt.allowed)
		}
		if err != nil && !errors.Is(err, ErrForbidden) {
			t.Errorf("%s %s %s: expected ErrForbidden, got %v", tt.role, tt.method, tt.path, err)
		}
	}
}

func TestLoadKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	if _, err := LoadKeys(write("short", "tooshort\n")); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("short secret: error %v, want one asking for 32 bytes", err)
	}
	if _, err := LoadKeys(write("empty", "\n\n")); err == nil {
		t.Error("empty file: expected an error")
	}
	keys, err := LoadKeys(write("two", string(secret)+"\n\n"+string(otherSecret)+"\n"))
	if err != nil || len(keys.secrets) != 2 {
		t.Errorf("two secrets: keys %v, error %v", keys, err)
	}
}
