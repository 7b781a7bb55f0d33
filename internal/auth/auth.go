// Package auth signs and checks the JWTs that guard the Podling APIs
// (HS256 with a secret shared by every master and worker), and decides
// which role may make which call.
package auth

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Role is the set of calls a token allows.
type Role string

// Roles.
const (
	// RoleAdmin may make every call.
	RoleAdmin Role = "admin"
	// RoleViewer may only read.
	RoleViewer Role = "viewer"
	// RoleWorker may make the calls a worker needs: register, heartbeat,
	// report status and leave or drain its node.
	RoleWorker Role = "worker"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleViewer || r == RoleWorker }

// MinSecretBytes is the shortest secret accepted: 32 bytes, the size of an
// HS256 key that brute force cannot reach.
const MinSecretBytes = 32

// Leeway is the clock skew tolerated when checking exp, nbf and iat.
const Leeway = 30 * time.Second

// Errors returned by Verifier.Verify and Authorize.
var (
	// ErrUnauthenticated: the token is missing, malformed, expired or
	// badly signed. Maps to 401.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden: the token is valid but its role does not allow the
	// call. Maps to 403.
	ErrForbidden = errors.New("forbidden")
)

// Claims are the claims of a Podling token.
type Claims struct {
	Role Role `json:"role"`
	jwt.RegisteredClaims
}

// Keys holds the secrets from a secret file: the first signs, all verify,
// so a new secret can be rolled out before the old one is retired.
type Keys struct {
	secrets [][]byte
}

// LoadKeys reads a secret file: one secret per line, each at least
// MinSecretBytes long. Empty lines and surrounding white space are ignored.
func LoadKeys(path string) (*Keys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read JWT secret file: %w", err)
	}
	var keys Keys
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if len(line) < MinSecretBytes {
			return nil, fmt.Errorf("JWT secret on line %d of %s is %d bytes long; use at least %d random bytes, for example from: openssl rand -hex 32", i+1, path, len(line), MinSecretBytes)
		}
		keys.secrets = append(keys.secrets, line)
	}
	if len(keys.secrets) == 0 {
		return nil, fmt.Errorf("JWT secret file %s contains no secret; put one of at least %d random bytes on a line", path, MinSecretBytes)
	}
	return &keys, nil
}

// NewKeys returns keys from secrets given directly, first one signing.
func NewKeys(secrets ...[]byte) (*Keys, error) {
	for _, s := range secrets {
		if len(s) < MinSecretBytes {
			return nil, fmt.Errorf("JWT secret is %d bytes long, want at least %d", len(s), MinSecretBytes)
		}
	}
	if len(secrets) == 0 {
		return nil, errors.New("no JWT secret given")
	}
	return &Keys{secrets: secrets}, nil
}

// Sign returns a token for role valid for ttl from now. A non-empty
// audience goes into the aud claim.
func (k *Keys) Sign(role Role, subject, audience string, ttl time.Duration, now time.Time) (string, error) {
	if !role.Valid() {
		return "", fmt.Errorf("unknown role %q: use admin, viewer or worker", role)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("token lifetime must be positive, got %s", ttl)
	}
	claims := Claims{Role: role, RegisteredClaims: jwt.RegisteredClaims{
		Subject: subject, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	if audience != "" {
		claims.Audience = jwt.ClaimStrings{audience}
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(k.secrets[0])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signed, nil
}
