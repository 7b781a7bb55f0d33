package api_test

import (
	"net/http"
	"testing"
)

func TestCreatePod_HostPortPublishedTwiceIs400(t *testing.T) {
	m := newLeader(t, masterOptions{})
	before := takeSnapshot(m.fsm)
	body := `{"name":"t","containers":[
		{"name":"x","image":"img","ports":[{"containerPort":80,"hostPort":18080}]},
		{"name":"y","image":"img","ports":[{"containerPort":81,"hostPort":18080}]}]}`

	rec := do(t, m.server, http.MethodPost, "/api/v1/pods", body)

	wantError(t, rec, http.StatusBadRequest, "invalid_argument", "containers[1].ports[0].hostPort")
	wantUnchanged(t, m.fsm, before)
}
