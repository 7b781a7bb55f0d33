package auth

import (
	"fmt"
	"net/http"
	"regexp"
)

// workerCalls are the calls a worker token may make.
var workerCalls = []struct {
	method string
	path   *regexp.Regexp
}{
	{http.MethodPost, regexp.MustCompile(`^/api/v1/nodes/register$`)},
	{http.MethodPost, regexp.MustCompile(`^/api/v1/nodes/[^/]+/(heartbeat|leave|drain)$`)},
	{http.MethodPut, regexp.MustCompile(`^/api/v1/(tasks|pods)/[^/]+/status$`)},
	{http.MethodGet, regexp.MustCompile(`^/internal/v1/read-index$`)},
}

// adminOnlyReads are reads a viewer may not make, because they expose
// the whole state, secrets in environment variables included.
var adminOnlyReads = regexp.MustCompile(`^/api/v1/cluster/snapshot$`)

// Authorize returns nil when role may make the call, else an error
// wrapping ErrForbidden that names the role and the call.
func Authorize(role Role, method, path string) error {
	if allowed(role, method, path) {
		return nil
	}
	return fmt.Errorf("%w: role %s may not %s %s", ErrForbidden, role, method, path)
}

func allowed(role Role, method, path string) bool {
	read := method == http.MethodGet || method == http.MethodHead
	switch role {
	case RoleAdmin:
		return true
	case RoleViewer:
		return read && !adminOnlyReads.MatchString(path)
	case RoleWorker:
		for _, call := range workerCalls {
			if call.method == method && call.path.MatchString(path) {
				return true
			}
		}
	}
	return false
}
