package api

import (
	"net/http"

	"github.com/podling/podling/internal/auth"
)

// publicPaths are served without a token: liveness and readiness checks come
// from load balancers and orchestrators that hold none.
var publicPaths = map[string]bool{"/health": true, "/ready": true}

// authenticate checks the request's token and its role's right to make the
// call. It returns false, having written the 401 or 403, when the request
// must stop here. With authentication off it lets everything through.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) bool {
	if s.verifier == nil || publicPaths[r.URL.Path] {
		return true
	}
	token, err := auth.FromRequest(r)
	if err == nil {
		var claims auth.Claims
		if claims, err = s.verifier.Verify(token); err == nil {
			err = auth.Authorize(claims.Role, r.Method, r.URL.Path)
		}
	}
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="podling"`)
		s.writeError(w, r, err)
		return false
	}
	return true
}
