package api

import (
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/ids"
)

// MastersPath is the internal endpoint where a master publishes its API
// URL: PUT MastersPath/{serverId} with a MasterAddress body.
const MastersPath = "/internal/v1/masters"

// MasterAddress is the body of a PUT to MastersPath.
type MasterAddress struct {
	APIAddress string `json:"apiAddress"`
}

// setMasterAddress records the API URL of a master, so that every master
// can reach the leader's API from its Raft server ID.
func (s *Server) setMasterAddress(r *http.Request, body []byte) (reply, error) {
	id := mux.Vars(r)["serverId"]
	if !ids.ValidNode(id) {
		return reply{}, invalid("serverId", "%q is not a valid server ID", truncate(id))
	}
	var req MasterAddress
	if err := decodeStrict(body, &req); err != nil {
		return reply{}, err
	}
	if err := validateAPIAddress(req.APIAddress); err != nil {
		return reply{}, err
	}
	res, err := s.raft.Propose(r.Context(), fsm.SetMasterAddress{ServerID: id, APIAddress: req.APIAddress})
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: req, index: res.Index}, nil
}

func validateAPIAddress(raw string) error {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
		return invalid("apiAddress", "%q is not a base URL such as http://10.0.0.1:8070", truncate(raw))
	}
	return nil
}
