package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Verifier checks tokens. It is safe for concurrent use.
type Verifier struct {
	keys     *Keys
	audience string
	now      func() time.Time
}

// NewVerifier returns a verifier. A non-empty audience must appear in the
// token's aud claim.
func NewVerifier(keys *Keys, audience string) *Verifier {
	return &Verifier{keys: keys, audience: audience, now: time.Now}
}

// Verify checks a token string and returns its claims. Only HS256 is
// accepted; exp, iat and a known role are required. Every failure wraps
// ErrUnauthenticated, and no message repeats the token.
func (v *Verifier) Verify(token string) (Claims, error) {
	var lastErr error
	for _, secret := range v.keys.secrets {
		claims, err := v.parse(token, secret)
		if err == nil {
			return claims, nil
		}
		lastErr = err
		if !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
			break // only a signature check can pass with another secret
		}
	}
	return Claims{}, fmt.Errorf("%w: %s", ErrUnauthenticated, describe(lastErr))
}

func (v *Verifier) parse(token string, secret []byte) (Claims, error) {
	options := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), jwt.WithLeeway(Leeway), jwt.WithTimeFunc(v.now),
	}
	if v.audience != "" {
		options = append(options, jwt.WithAudience(v.audience))
	}
	var claims Claims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return secret, nil }, options...)
	if err != nil {
		return Claims{}, err
	}
	if claims.IssuedAt == nil {
		return Claims{}, errMissingIssuedAt
	}
	if !claims.Role.Valid() {
		return Claims{}, fmt.Errorf("%w %q", errUnknownRole, claims.Role)
	}
	return claims, nil
}

var (
	errMissingIssuedAt = errors.New("token has no iat claim")
	errUnknownRole     = errors.New("token has an unknown role")
)

// describe turns a parse error into a short reason without token content.
func describe(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "bad signature or signing method; only HS256 is accepted"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "token has no exp claim"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "token is for another audience"
	case errors.Is(err, errMissingIssuedAt), errors.Is(err, errUnknownRole):
		return err.Error()
	}
	return "invalid token"
}

// FromRequest returns the bearer token of a request. A token in the query
// string is refused, since URLs end up in logs.
func FromRequest(r *http.Request) (string, error) {
	q := r.URL.Query()
	if q.Has("access_token") || q.Has("token") || q.Has("jwt") {
		return "", fmt.Errorf("%w: tokens in the query string are not accepted; send Authorization: Bearer <token>", ErrUnauthenticated)
	}
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return "", fmt.Errorf("%w: missing Authorization header; send Authorization: Bearer <token>", ErrUnauthenticated)
	}
	if len(values) > 1 {
		return "", fmt.Errorf("%w: more than one Authorization header", ErrUnauthenticated)
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return "", fmt.Errorf("%w: Authorization must be Bearer followed by one token", ErrUnauthenticated)
	}
	return token, nil
}
