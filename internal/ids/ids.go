// Package ids mints and checks the identifiers used in API paths. Every ID
// taken from a request is checked here before any lookup, so no path,
// container name or log line is built from raw input.
package ids

import (
	"crypto/rand"
	"regexp"
	"strings"
	"time"
)

var (
	objectIDPattern = regexp.MustCompile(`^[0-9]{14}-[a-z0-9]{8}$`)
	nodeIDPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
)

// New returns an ID of the form 20250119123456-abc12345: the UTC time to the
// second, then eight random characters from the lowercase base32 alphabet. Only the leader
// calls it, before proposing the command that carries the ID.
func New(now time.Time) string {
	suffix := strings.ToLower(rand.Text()[:8])
	return now.UTC().Format("20060102150405") + "-" + suffix
}

// ValidObject reports whether id has the form New produces.
func ValidObject(id string) bool { return objectIDPattern.MatchString(id) }

// ValidNode reports whether id is a valid node ID: 1 to 63 letters, digits,
// dots, dashes or underscores, starting with a letter or digit.
func ValidNode(id string) bool { return nodeIDPattern.MatchString(id) }
