// Package logging builds the hclog root logger of a Podling binary from its
// -log-level and -log-json flags.
package logging

import (
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"
)

// New returns a logger named name that writes to standard error at the
// given level, as JSON when json is set. An unknown level is an error.
func New(name, level string, json bool) (hclog.Logger, error) {
	lvl := hclog.LevelFromString(level)
	if lvl == hclog.NoLevel {
		return nil, fmt.Errorf("invalid log level %q: use trace, debug, info, warn or error", level)
	}
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: lvl, JSONFormat: json, Output: os.Stderr}), nil
}
