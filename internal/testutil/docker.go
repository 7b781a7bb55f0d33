// Package testutil holds helpers shared by tests that need outside
// resources, such as a Docker engine.
package testutil

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// RequireDockerEnv is the environment variable that turns a missing Docker
// engine from a skipped test into a failed one when set to 1.
const RequireDockerEnv = "PODLING_REQUIRE_DOCKER"

// RequireDocker returns a client for the Docker engine named by the
// DOCKER_HOST family of environment variables, closed when the test ends.
// If no engine responds to a ping within 5 seconds the test is skipped, or
// failed when PODLING_REQUIRE_DOCKER=1. With -short the test is skipped
// unless PODLING_REQUIRE_DOCKER=1.
func RequireDocker(t testing.TB) *client.Client {
	t.Helper()
	required := os.Getenv(RequireDockerEnv) == "1"
	if testing.Short() && !required {
		t.Skip("docker tests are skipped with -short")
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = cli.Ping(ctx)
		if err != nil {
			cli.Close()
		}
	}
	if err != nil {
		if required {
			t.Fatalf("docker engine required by %s=1 but not reachable: %v", RequireDockerEnv, err)
		}
		t.Skipf("docker engine not reachable (set %s=1 to fail instead): %v", RequireDockerEnv, err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// RandomSuffix returns 8 random lowercase hex digits, for names of test
// objects that must not collide with those of other test runs.
func RandomSuffix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("read random bytes: %v", err)
	}
	return hex.EncodeToString(b)
}

// BuildGoImage compiles the Go package pkg (an import path, or a path
// relative to the test's directory) as a static binary and builds an image
// FROM scratch that runs it, tagged tag, with the engine's classic builder.
// The image is removed when the test ends.
func BuildGoImage(t testing.TB, cli *client.Client, pkg, tag string) {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "app")
	cmd := exec.Command("go", "build", "-trimpath", "-o", binary, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}

	buildContext, err := scratchContext(binary)
	if err != nil {
		t.Fatalf("make build context for %s: %v", tag, err)
	}
	if err := buildImage(cli, buildContext, tag); err != nil {
		t.Fatalf("build image %s: %v", tag, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		opts := image.RemoveOptions{Force: true, PruneChildren: true}
		if _, err := cli.ImageRemove(ctx, tag, opts); err != nil {
			t.Logf("remove image %s: %v", tag, err)
		}
	})
}

// scratchContext returns a tar build context holding the binary as "app"
// and a Dockerfile that runs it in an otherwise empty image.
func scratchContext(binary string) (io.Reader, error) {
	program, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	dockerfile := []byte("FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n")

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, dockerfile}, {"app", 0o755, program}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}

func buildImage(cli *client.Client, buildContext io.Reader, tag string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := cli.ImageBuild(ctx, buildContext, build.ImageBuildOptions{
		Tags:        []string{tag},
		Version:     build.BuilderV1,
		Remove:      true,
		ForceRemove: true,
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return readBuildOutput(resp.Body)
}

// readBuildOutput reads the engine's build messages to the end and returns
// the first error among them.
func readBuildOutput(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		err := dec.Decode(&msg)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read build output: %w", err)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}
