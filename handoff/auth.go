package handoff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/parley-chat/parley/store"
)

// AgentStore is what agent administration needs; *store.DB implements it.
type AgentStore interface {
	PutAgent(ctx context.Context, a store.Agent) error
	AgentByName(name string) (store.Agent, error)
}

var agentNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)

// NewAgent describes an account to create with AddAgent.
type NewAgent struct {
	Name, DisplayName, Role, Password string
	// Replace resets the password and role of an existing account instead of
	// failing; the account keeps its id.
	Replace bool
	// OneTime marks a password the operator did not choose (generated and
	// printed): it opens one sign-in, and the console then makes the agent
	// choose their own before anything else.
	OneTime bool
}

// MinPassword is the shortest password AddAgent accepts.
const MinPassword = 10

// AddAgent creates (or with Replace resets) an agent account with a bcrypt
// hash of the password. The name doubles as the agent id: lower-case
// letters, digits, ".", "_" and "-", at most 32.
func AddAgent(ctx context.Context, st AgentStore, n NewAgent, cost int, now time.Time) (store.Agent, error) {
	if !agentNameRe.MatchString(n.Name) {
		return store.Agent{}, fmt.Errorf("agent name %q: want 1-32 lower-case letters, digits, '.', '_' or '-'", n.Name)
	}
	switch n.Role {
	case RoleAgent, RoleLead, RoleAdmin:
	default:
		return store.Agent{}, fmt.Errorf("agent role %q: want agent, lead or admin", n.Role)
	}
	if err := checkPassword(n.Password); err != nil {
		return store.Agent{}, fmt.Errorf("password: %w", err)
	}
	if cost == 0 {
		cost = 12
	}
	existing, err := st.AgentByName(n.Name)
	found := err == nil
	switch {
	case found && !n.Replace:
		return store.Agent{}, fmt.Errorf("agent %q already exists (use --reset to set a new password)", n.Name)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return store.Agent{}, fmt.Errorf("agent %q: %w", n.Name, err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(n.Password), cost)
	if err != nil {
		return store.Agent{}, fmt.Errorf("hash password: %w", err)
	}
	a := store.Agent{ID: n.Name, Name: n.Name, DisplayName: strings.TrimSpace(n.DisplayName),
		Role: n.Role, PasswordHash: hash, PasswordOneTime: n.OneTime, CreatedAt: now}
	if found {
		a.ID, a.CreatedAt = existing.ID, existing.CreatedAt
		if a.DisplayName == "" {
			a.DisplayName = existing.DisplayName
		}
	}
	if a.DisplayName == "" {
		a.DisplayName = n.Name
	}
	if err := st.PutAgent(ctx, a); err != nil {
		return store.Agent{}, fmt.Errorf("save agent %q: %w", n.Name, err)
	}
	return a, nil
}

// checkPassword enforces the length rules on a password an agent or the
// operator chooses.
func checkPassword(pw string) error {
	if len(pw) < MinPassword {
		return fmt.Errorf("want at least %d characters", MinPassword)
	}
	if len(pw) > 72 {
		return errors.New("at most 72 bytes (bcrypt ignores the rest)")
	}
	return nil
}

// GeneratePassword returns a random 16-character password for a new account
// (about 95 bits), from an alphabet without look-alike characters.
func GeneratePassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand docs, Go 1.24+)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// AddAgent creates (or with Replace resets) an account with the configured
// bcrypt cost; a reset signs the agent out everywhere.
func (s *Service) AddAgent(ctx context.Context, n NewAgent) (store.Agent, error) {
	a, err := AddAgent(ctx, s.st, n, s.cfg.BcryptCost, s.now())
	if err == nil && n.Replace {
		s.sessions.deleteAgent(a.ID)
	}
	return a, err
}

// authenticate checks a name and password. An unknown name costs a bcrypt
// comparison too (against a hash of the configured cost, made once), so
// timing does not reveal which names exist.
func (s *Service) authenticate(name, password string) (store.Agent, bool) {
	a, err := s.st.AgentByName(strings.ToLower(strings.TrimSpace(name)))
	if err != nil {
		s.dummyOnce.Do(func() {
			s.dummyHash, _ = bcrypt.GenerateFromPassword([]byte(randomToken()), s.cfg.BcryptCost)
		})
		bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		return store.Agent{}, false
	}
	if bcrypt.CompareHashAndPassword(a.PasswordHash, []byte(password)) != nil {
		return store.Agent{}, false
	}
	return a, true
}

// session is a logged-in console. The cookie carries a random token; the map
// is keyed by its SHA-256 so a timing side channel on lookups reveals
// nothing useful. Sessions live in memory: a restart logs agents out.
type session struct {
	token   string // SHA-256 of the cookie value (raw bytes in a string)
	agentID string
	csrf    string
	expires time.Time
	agent   store.Agent // filled per request by sessionOf
}

type sessionKey struct{}

func withSession(ctx context.Context, s *session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// sessionFrom returns the session the auth check put on an authed request.
func sessionFrom(r *http.Request) *session { return r.Context().Value(sessionKey{}).(*session) }

type sessions struct {
	mu  sync.Mutex
	ttl time.Duration
	now func() time.Time
	m   map[string]*session
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, m: map[string]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenKey(cookie string) string {
	h := sha256.Sum256([]byte(cookie))
	return string(h[:])
}

// create starts a session and returns the cookie value.
func (ss *sessions) create(agentID string) (cookie string, s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	for k, v := range ss.m { // sweep expired sessions while we hold the lock
		if now.After(v.expires) {
			delete(ss.m, k)
		}
	}
	cookie = randomToken()
	s = &session{token: tokenKey(cookie), agentID: agentID, csrf: randomToken(), expires: now.Add(ss.ttl)}
	ss.m[s.token] = s
	return cookie, s
}

// get returns the live session for a cookie value and slides its expiry.
func (ss *sessions) get(cookie string) (*session, bool) {
	if cookie == "" {
		return nil, false
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[tokenKey(cookie)]
	if !ok {
		return nil, false
	}
	now := ss.now()
	if now.After(s.expires) {
		delete(ss.m, s.token)
		return nil, false
	}
	s.expires = now.Add(ss.ttl)
	cp := *s
	return &cp, true
}

func (ss *sessions) valid(token string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[token]
	return ok && !ss.now().After(s.expires)
}

func (ss *sessions) delete(token string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, token)
}

// deleteAgent ends every session of an agent (password reset, removal).
func (ss *sessions) deleteAgent(agentID string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, v := range ss.m {
		if v.agentID == agentID {
			delete(ss.m, k)
		}
	}
}

// deleteAgentExcept ends every session of an agent but the one with token
// (the console that just changed the password stays signed in).
func (ss *sessions) deleteAgentExcept(agentID, token string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, v := range ss.m {
		if v.agentID == agentID && k != token {
			delete(ss.m, k)
		}
	}
}

// csrfOK compares the header token with the session's in constant time.
func (s *session) csrfOK(header string) bool {
	return header != "" && subtle.ConstantTimeCompare([]byte(header), []byte(s.csrf)) == 1
}

// loginLimiter limits login attempts per client IP and agent name, so
// guessing one agent's password is slow while a shared office IP does not
// lock everyone out.
type loginLimiter struct {
	mu    sync.Mutex
	every time.Duration
	burst int
	now   func() time.Time
	m     map[string]*limitEntry
}

type limitEntry struct {
	lim  *rate.Limiter
	last time.Time
}

func newLoginLimiter(every time.Duration, burst int, now func() time.Time) *loginLimiter {
	return &loginLimiter{every: every, burst: burst, now: now, m: map[string]*limitEntry{}}
}

// allow spends one attempt for ip+name; when none is left it says how long
// to wait.
func (l *loginLimiter) allow(ip, name string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.m) > 10000 { // forget idle entries so random names cannot grow the map forever
		for k, e := range l.m {
			if now.Sub(e.last) > time.Duration(l.burst)*l.every {
				delete(l.m, k)
			}
		}
	}
	key := ip + "\x00" + strings.ToLower(name)
	e := l.m[key]
	if e == nil {
		e = &limitEntry{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.m[key] = e
	}
	e.last = now
	r := e.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
