package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/podling/podling/internal/types"
)

// parsePairs reads key=value flags into a map. With splitCommas, one flag
// may also hold several pairs separated by commas, as labels can; values
// of environment variables may contain commas, so they cannot.
func parsePairs(flag string, values []string, splitCommas bool) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	pairs := map[string]string{}
	for _, value := range values {
		items := []string{value}
		if splitCommas {
			items = strings.Split(value, ",")
		}
		for _, item := range items {
			key, val, ok := strings.Cut(item, "=")
			if !ok || key == "" {
				return nil, usageErrorf("invalid --%s %q: want KEY=VALUE", flag, item)
			}
			pairs[key] = val
		}
	}
	return pairs, nil
}

// parsePort reads a service port given as [NAME=]PORT[:TARGETPORT]; the
// target port defaults to the port.
func parsePort(spec string) (types.ServicePort, error) {
	var port types.ServicePort
	rest := spec
	if name, numbers, ok := strings.Cut(spec, "="); ok {
		port.Name, rest = name, numbers
	}
	portText, targetText, hasTarget := strings.Cut(rest, ":")
	if !hasTarget {
		targetText = portText
	}
	var err error
	if port.Port, err = strconv.Atoi(portText); err != nil || port.Port < 1 || port.Port > 65535 {
		return port, usageErrorf("invalid --port %q: want [NAME=]PORT[:TARGETPORT] with ports from 1 to 65535", spec)
	}
	if port.TargetPort, err = strconv.Atoi(targetText); err != nil || port.TargetPort < 1 || port.TargetPort > 65535 {
		return port, usageErrorf("invalid --port %q: want [NAME=]PORT[:TARGETPORT] with ports from 1 to 65535", spec)
	}
	return port, nil
}

// readManifest decodes a JSON or YAML file, or standard input for "-",
// into out. Unknown fields are an error that names them, so a typing
// mistake does not silently drop a setting.
func readManifest(path string, stdin io.Reader, out any) error {
	data, err := readFileOrStdin(path, stdin)
	if err != nil {
		return err
	}
	// YAML is a superset of JSON, so one conversion reads both.
	asJSON, err := yaml.YAMLToJSON(data)
	if err != nil {
		return fmt.Errorf("invalid manifest %s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(asJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("invalid manifest %s: %w", path, err)
	}
	return nil
}

func readFileOrStdin(path string, stdin io.Reader) ([]byte, error) {
	in, err := openFileOrStdin(path, stdin)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// openFileOrStdin opens path, or returns stdin for "-".
func openFileOrStdin(path string, stdin io.Reader) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(stdin), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open input file: %w", err)
	}
	return f, nil
}
