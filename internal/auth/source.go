package auth

import (
	"sync"
	"time"
)

// TokenSource mints the token a master presents on its own calls to other
// masters and to workers, and renews it before it expires. It is safe for
// concurrent use.
type TokenSource struct {
	keys     *Keys
	role     Role
	subject  string
	audience string
	ttl      time.Duration

	token   string
	expires time.Time
	mu      sync.Mutex
}

// NewTokenSource returns a source of tokens for role and audience, each
// valid for ttl.
func NewTokenSource(keys *Keys, role Role, subject, audience string, ttl time.Duration) *TokenSource {
	return &TokenSource{keys: keys, role: role, subject: subject, audience: audience, ttl: ttl}
}

// Authorization returns the value of an Authorization header carrying a
// current token, minting a new token when less than a quarter of the
// lifetime of the last one is left.
func (s *TokenSource) Authorization() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.token == "" || now.Add(s.ttl/4).After(s.expires) {
		token, err := s.keys.Sign(s.role, s.subject, s.audience, s.ttl, now)
		if err != nil {
			return "", err
		}
		s.token, s.expires = token, now.Add(s.ttl)
	}
	return "Bearer " + s.token, nil
}
