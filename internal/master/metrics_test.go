package master

import (
	"strings"
	"testing"
)

func TestMetrics_ServedInPrometheusFormat(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	createTask(t, tc.url(tc.follower(leader)), "counted")

	body := string(getBytes(t, tc.url(leader)+"/metrics"))

	for _, want := range []string{
		`podling_http_requests_total{code="201",method="POST",route="/api/v1/tasks"} 1`,
		`podling_raft_state{state="Leader"} 1`,
		`podling_objects{kind="task",status="pending"} 1`,
		`podling_raft_apply_duration_seconds_count{command="create_task"} 1`,
		"podling_raft_term ",
		"podling_raft_applied_index ",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	followerBody := string(getBytes(t, tc.url(tc.follower(leader))+"/metrics"))
	if !strings.Contains(followerBody, `podling_forwarded_requests_total{outcome="relayed"} 1`) {
		t.Error("the follower did not count the create it forwarded")
	}
}
