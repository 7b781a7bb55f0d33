package testutil

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// NetworkName returns a random name for a Docker network used by one test,
// and removes the network with that name when the test ends, if one
// exists then. Call it before starting containers on the network, so that
// the removal runs after their own cleanups.
func NetworkName(t testing.TB, cli *client.Client) string {
	t.Helper()
	name := "podling-test-" + RandomSuffix(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := cli.NetworkInspect(ctx, name, network.InspectOptions{}); err != nil {
			return
		}
		if err := cli.NetworkRemove(ctx, name); err != nil {
			t.Errorf("remove network %s: %v", name, err)
		}
	})
	return name
}

// CountContainers returns how many containers, in any state, carry the
// label key=value.
func CountContainers(t testing.TB, cli *client.Client, key, value string) int {
	t.Helper()
	return len(listLabelled(t, cli, key, value))
}

// RemoveContainersAtCleanup removes every container labelled key=value
// when the test ends.
func RemoveContainersAtCleanup(t testing.TB, cli *client.Client, key, value string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, c := range listLabelled(t, cli, key, value) {
			if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
				t.Errorf("remove container %s: %v", c.ID, err)
			}
		}
	})
}

func listLabelled(t testing.TB, cli *client.Client, key, value string) []container.Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := cli.ContainerList(ctx, container.ListOptions{
		All: true, Filters: filters.NewArgs(filters.Arg("label", key+"="+value)),
	})
	if err != nil {
		t.Fatalf("list containers labelled %s=%s: %v", key, value, err)
	}
	return list
}
