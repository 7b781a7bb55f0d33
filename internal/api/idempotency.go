package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"time"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/cluster"
)

// IdempotencyHeader names the header that makes a create safe to retry.
const IdempotencyHeader = "Idempotency-Key"

var idempotencyKeyPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// idempotencyFrom reads the Idempotency-Key header of a create. The
// request hash covers the method, path and body, so the same key sent
// with another request is detected.
func idempotencyFrom(r *http.Request, body []byte, now time.Time) (*fsm.Idempotency, error) {
	key := r.Header.Get(IdempotencyHeader)
	if key == "" {
		return nil, nil
	}
	if !idempotencyKeyPattern.MatchString(key) {
		return nil, invalid(IdempotencyHeader, "must be 1 to 128 letters, digits, '.', '_', ':' or '-'")
	}
	sum := sha256.New()
	sum.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	sum.Write(body)
	return &fsm.Idempotency{Key: key, RequestHash: hex.EncodeToString(sum.Sum(nil)), Time: now}, nil
}

// createdReply returns the reply to a create: 201 with the new object, or 200 with the
// object an earlier request with the same Idempotency-Key created.
func createdReply(res cluster.Result) reply {
	if replayed, ok := res.Value.(fsm.Replayed); ok {
		return reply{status: http.StatusOK, body: replayed.Object, index: res.Index}
	}
	return reply{status: http.StatusCreated, body: res.Value, index: res.Index}
}
