package handoff

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/parley-chat/parley/store"
)

// A generated password (parley agents add without --password-stdin, serve
// --demo-agent) was printed to a terminal and may sit in a scrollback or a
// chat with the operator, so it opens exactly one door: the form where the
// agent chooses their own. Until they do, the session reaches only the
// routes below; everything else answers 403 errPasswordChange.

const errPasswordChange = "password change required"

// passwordChangeRoutes are the API routes a session signed in with a
// one-time password may use (the patterns of routeTable).
var passwordChangeRoutes = map[string]bool{
	"GET /api/me":        true,
	"POST /api/logout":   true,
	"POST /api/password": true,
}

// passwordGate answers a request from an agent who still has a one-time
// password and reports whether it did. API routes other than
// passwordChangeRoutes are refused; the console page and its static files
// are served (the page shows only the change form); other console pages
// send the browser to the console page.
func passwordGate(w http.ResponseWriter, r *http.Request, a store.Agent, pattern string) bool {
	if !a.PasswordOneTime || passwordChangeRoutes[pattern] {
		return false
	}
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		if pattern == "GET /console/{$}" || strings.HasPrefix(r.URL.Path, "/console/assets/") {
			return false
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			http.Redirect(w, r, "/console/", http.StatusSeeOther)
			return true
		}
	}
	writeErr(w, http.StatusForbidden, errPasswordChange)
	return true
}

// ChangePassword sets a password the agent chose, after checking the
// current one, and clears the one-time mark. The new password follows the
// rules of AddAgent and must differ from the current one. A wrong current
// password is ErrForbidden, a bad new one ErrBadRequest.
func (s *Service) ChangePassword(ctx context.Context, agentID, current, next string) (store.Agent, error) {
	a, err := s.st.Agent(agentID)
	if err != nil {
		return store.Agent{}, err
	}
	if bcrypt.CompareHashAndPassword(a.PasswordHash, []byte(current)) != nil {
		return store.Agent{}, fmt.Errorf("current password is wrong: %w", ErrForbidden)
	}
	if err := checkPassword(next); err != nil {
		return store.Agent{}, fmt.Errorf("new password: %v: %w", err, ErrBadRequest)
	}
	if next == current {
		return store.Agent{}, fmt.Errorf("new password: must differ from the current one: %w", ErrBadRequest)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(next), s.cfg.BcryptCost)
	if err != nil {
		return store.Agent{}, fmt.Errorf("hash password: %w", err)
	}
	a.PasswordHash, a.PasswordOneTime = hash, false
	if err := s.st.PutAgent(ctx, a); err != nil {
		return store.Agent{}, fmt.Errorf("save agent %q: %w", a.ID, err)
	}
	return a, nil
}

// apiPassword is POST /api/password {"old","new"}. Attempts count against
// the sign-in limit, so a left-open console cannot be used to guess the
// current password quickly. On success the agent's other sessions end, and
// an agent who signed in with a one-time password comes online only now.
func (s *Service) apiPassword(w http.ResponseWriter, r *http.Request) {
	var in struct{ Old, New string }
	if !readJSON(w, r, &in) {
		return
	}
	sess := sessionFrom(r)
	if ok, wait := s.logins.allow(clientIP(r), sess.agent.Name); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		writeErr(w, http.StatusTooManyRequests, "too many attempts; try again later")
		return
	}
	wasOneTime := sess.agent.PasswordOneTime
	a, err := s.ChangePassword(r.Context(), sess.agentID, in.Old, in.New)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.sessions.deleteAgentExcept(r.Context(), a.ID, sess.token)
	s.log.Info().Str("agent", a.ID).Bool("was_one_time", wasOneTime).Msg("console password changed")
	if wasOneTime {
		s.comeOnline(r.Context(), a.ID)
	}
	writeJSON(w, http.StatusOK, s.meJSON(a, sess.csrf))
}

// comeOnline marks a signed-in agent online: they may take queued tickets
// at once, and colleagues' consoles learn it.
func (s *Service) comeOnline(ctx context.Context, agentID string) {
	s.presence.set(agentID, PresenceOnline)
	s.autoAssign(ctx)
	s.hub.publish(liveEvent{Type: "presence", AgentID: agentID})
}
