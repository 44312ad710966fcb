package handoff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/parley-chat/parley/store"
)

// A generated password (parley agents add without --password-stdin, serve
// --demo-agent) was printed to a terminal and may sit in a scrollback or a
// chat with the operator, so it opens exactly one door, once and within
// Config.OneTimeTTL: the form where the agent chooses their own. Until they do, the session reaches only the
// routes below; everything else answers 403 errPasswordChange.

const errPasswordChange = "password change required"

// The one-time mark and its times live in the stored hash, ahead of the
// bcrypt part: "otp1:<issued>:<spent>:<bcrypt hash>", unix seconds, spent 0
// until the sign-in it opens. store.Agent has no fields for them, and the
// hash is the value every change of which already signs the agent out
// everywhere (PutAgent), which is what spending it must do too.
const otpPrefix = "otp1:"

// DefaultOneTimeTTL is how long a one-time password opens a sign-in.
const DefaultOneTimeTTL = 24 * time.Hour

func oneTimeHash(hash []byte, issued, spent time.Time) []byte {
	unix := func(t time.Time) string {
		if t.IsZero() {
			return "0"
		}
		return strconv.FormatInt(t.Unix(), 10)
	}
	return fmt.Appendf(nil, "%s%s:%s:%s", otpPrefix, unix(issued), unix(spent), hash)
}

// OneTime is the state of an agent's one-time password.
type OneTime struct {
	Issued, Expires time.Time
	Spent           time.Time // zero until it opened its sign-in
}

// OneTimeOf reports the state of a's one-time password with the given
// lifetime (0 = DefaultOneTimeTTL); ok is false when a chose their own. A
// one-time password stored before the times were kept counts as issued
// when the account was created.
func OneTimeOf(a store.Agent, ttl time.Duration) (o OneTime, ok bool) {
	if !a.PasswordOneTime {
		return OneTime{}, false
	}
	if ttl <= 0 {
		ttl = DefaultOneTimeTTL
	}
	o.Issued = a.CreatedAt
	if times, _ := splitOneTime(a.PasswordHash); len(times) == 2 {
		o.Issued = fromUnix(times[0])
		o.Spent = fromUnix(times[1])
	}
	o.Expires = o.Issued.Add(ttl)
	return o, true
}

func fromUnix(b []byte) time.Time {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// splitOneTime splits a stored hash (oneTimeHash) into the one-time
// password's times, issued and spent, and the bcrypt hash; times is nil
// for a hash without the one-time mark.
func splitOneTime(stored []byte) (times [][]byte, hash []byte) {
	rest, found := bytes.CutPrefix(stored, []byte(otpPrefix))
	if !found {
		return nil, stored
	}
	parts := bytes.SplitN(rest, []byte(":"), 3)
	return parts[:len(parts)-1], parts[len(parts)-1]
}

// bcryptPart is the bcrypt hash inside a stored one.
func bcryptPart(stored []byte) []byte {
	_, hash := splitOneTime(stored)
	return hash
}

// passwordMatches compares a password with a stored hash in bcrypt's time.
func passwordMatches(stored []byte, password string) bool {
	return bcrypt.CompareHashAndPassword(bcryptPart(stored), []byte(password)) == nil
}

// errOneTimeRefused ends the message of a spent or expired one-time password.
var errOneTimeRefused = errors.New("one-time password refused")

// spendOneTime lets a matching one-time password open its one sign-in:
// refused when it expired or opened one already, else marked spent before
// the session is created. The lock and the re-read make two sign-ins at
// once with the same password open one session, not two.
func (s *Service) spendOneTime(ctx context.Context, a store.Agent) (store.Agent, error) {
	s.oneTimeMu.Lock()
	defer s.oneTimeMu.Unlock()
	cur, err := s.st.Agent(a.ID)
	if err != nil || !bytes.Equal(cur.PasswordHash, a.PasswordHash) {
		return store.Agent{}, errWrongPassword // changed meanwhile
	}
	o, _ := OneTimeOf(cur, s.cfg.OneTimeTTL)
	now := s.now()
	reset := fmt.Sprintf("ask an admin for a new one (parley agents add %s --role %s --reset)", cur.Name, cur.Role)
	switch {
	case !o.Spent.IsZero():
		return store.Agent{}, fmt.Errorf("this one-time password was already used to sign in; %s: %w", reset, errOneTimeRefused)
	case !now.Before(o.Expires):
		return store.Agent{}, fmt.Errorf("this one-time password expired at %s; %s: %w", o.Expires.Format(time.RFC3339), reset, errOneTimeRefused)
	}
	cur.PasswordHash = oneTimeHash(bcryptPart(cur.PasswordHash), o.Issued, now)
	if err := s.st.PutAgent(ctx, cur); err != nil {
		return store.Agent{}, fmt.Errorf("spend one-time password of %q: %w", cur.ID, err)
	}
	return cur, nil
}

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
	if !passwordMatches(a.PasswordHash, current) {
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
	release, ok := s.signinGate(w, r, sess.agent.Name)
	if !ok {
		return
	}
	wasOneTime := sess.agent.PasswordOneTime
	a, err := s.ChangePassword(r.Context(), sess.agentID, in.Old, in.New)
	release()
	if err != nil {
		s.fail(w, err)
		return
	}
	s.sessions.deleteAgentExcept(r.Context(), a.ID, sess.token)
	s.log.Info().Str("agent", a.ID).Bool("was_one_time", wasOneTime).Msg("console password changed")
	if wasOneTime {
		s.comeOnline(r.Context(), a.ID)
	}
	s.writeJSON(w, http.StatusOK, s.meJSON(a, sess.csrf))
}

// comeOnline marks a signed-in agent online: they may take queued tickets
// at once, and colleagues' consoles learn it.
func (s *Service) comeOnline(ctx context.Context, agentID string) {
	s.presence.set(agentID, PresenceOnline)
	s.autoAssign(ctx)
	s.hub.publish(liveEvent{Type: "presence", AgentID: agentID})
}
