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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/parley-chat/parley/store"
)

// ErrAgentExists is AddAgent's answer for a name that is taken, without
// NewAgent.Replace; each caller says how to reset the password its way.
var ErrAgentExists = errors.New("already exists")

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
	// printed): it opens one sign-in within Config.OneTimeTTL of now, and
	// the console then makes the agent choose their own before anything
	// else.
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
		return store.Agent{}, fmt.Errorf("agent %q %w", n.Name, ErrAgentExists)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return store.Agent{}, fmt.Errorf("agent %q: %w", n.Name, err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(n.Password), cost)
	if err != nil {
		return store.Agent{}, fmt.Errorf("hash password: %w", err)
	}
	if n.OneTime {
		hash = oneTimeHash(hash, now, time.Time{})
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
		s.sessions.deleteAgent(ctx, a.ID)
	}
	return a, err
}

// errWrongPassword is the one answer to an unknown name and a wrong
// password alike.
var errWrongPassword = errors.New("wrong name or password")

// authenticate checks a name and password; the caller holds a hashing slot.
// An unknown name costs a bcrypt comparison too (against a hash of the
// configured cost, made once), so timing does not reveal which names exist.
// A one-time password that matches is spent here (see spendOneTime); one
// already spent or expired is refused with a message saying so, which only
// someone who knows that password gets to read.
func (s *Service) authenticate(ctx context.Context, name, password string) (store.Agent, error) {
	a, err := s.st.AgentByName(normName(name))
	if err != nil {
		s.dummyOnce.Do(func() {
			s.dummyHash, _ = bcrypt.GenerateFromPassword([]byte(randomToken()), s.cfg.BcryptCost)
		})
		bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		return store.Agent{}, errWrongPassword
	}
	if !passwordMatches(a.PasswordHash, password) {
		return store.Agent{}, errWrongPassword
	}
	if a.PasswordOneTime {
		return s.spendOneTime(ctx, a)
	}
	return a, nil
}

// session is a logged-in console. The cookie carries a random token; the map
// is keyed by its SHA-256 so a timing side channel on lookups reveals
// nothing useful, and the store keeps the same key, so a restart does not
// sign agents out while a copy of the file signs nobody in.
type session struct {
	token   string // SHA-256 of the cookie value (raw bytes in a string)
	agentID string
	csrf    string
	expires time.Time   // slides with use, never past end
	end     time.Time   // sign-in + the absolute lifetime (SessionMaxAge)
	stored  time.Time   // the expiry the store has
	agent   store.Agent // filled per request by sessionOf
}

type sessionKey struct{}

func withSession(ctx context.Context, s *session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// sessionFrom returns the session the auth check put on an authed request.
func sessionFrom(r *http.Request) *session { return r.Context().Value(sessionKey{}).(*session) }

// SessionStore keeps console sessions across restarts; *store.DB
// implements it. PutAgent with a new password hash must delete the agent's
// sessions (the store does it in the same transaction).
type SessionStore interface {
	PutConsoleSession(ctx context.Context, s store.ConsoleSession) error
	DeleteConsoleSessions(ctx context.Context, keys ...string) error
	ConsoleSessions() ([]store.ConsoleSession, error)
}

// sessions are the live console sessions. The map answers every request;
// the store is written when a session starts or ends, and when its sliding
// expiry has moved on by more than a tenth of the TTL, so an active agent
// costs a write every hour or so, not one per request.
type sessions struct {
	mu     sync.Mutex
	ttl    time.Duration
	maxAge time.Duration
	now    func() time.Time
	m      map[string]*session
	st     SessionStore
	log    zerolog.Logger
	// stMu orders the store writes: a session is saved only while it is
	// still in the map, so a save racing a logout cannot store it again
	// after its deletion (a restart would bring it back).
	stMu sync.Mutex
}

func newSessions(ttl, maxAge time.Duration, now func() time.Time, st SessionStore, log zerolog.Logger) *sessions {
	ss := &sessions{ttl: ttl, maxAge: maxAge, now: now, m: map[string]*session{}, st: st, log: log}
	ss.load()
	return ss
}

// load takes the stored sessions that have not expired and deletes the rest.
func (ss *sessions) load() {
	all, err := ss.st.ConsoleSessions()
	if err != nil {
		ss.log.Error().Err(err).Msg("console sessions not loaded; agents sign in again")
		return
	}
	now := ss.now()
	var expired []string
	for _, s := range all {
		end := ss.signedIn(s.CSRF, now).Add(ss.maxAge)
		if now.After(s.Expires) || now.After(end) {
			expired = append(expired, s.Key)
			continue
		}
		ss.m[s.Key] = &session{token: s.Key, agentID: s.AgentID, csrf: s.CSRF, expires: s.Expires, end: end, stored: s.Expires}
	}
	ss.forget(context.Background(), expired...)
}

func (ss *sessions) save(ctx context.Context, s session) {
	ss.stMu.Lock()
	defer ss.stMu.Unlock()
	ss.mu.Lock()
	_, live := ss.m[s.token]
	ss.mu.Unlock()
	if !live {
		return // ended meanwhile; its deletion is stored or on its way
	}
	err := ss.st.PutConsoleSession(context.WithoutCancel(ctx), store.ConsoleSession{Key: s.token, AgentID: s.agentID, CSRF: s.csrf, Expires: s.expires})
	if err != nil {
		// The session works until the next restart.
		ss.log.Warn().Err(err).Str("agent", s.agentID).Msg("console session not stored")
	}
}

// forget deletes sessions from the store. The caller has removed them from
// the map, so they are refused from now on whatever the store says; a
// failure is logged loudly because a restart would bring them back.
func (ss *sessions) forget(ctx context.Context, tokens ...string) {
	if len(tokens) == 0 {
		return
	}
	ss.stMu.Lock()
	defer ss.stMu.Unlock()
	if err := ss.st.DeleteConsoleSessions(context.WithoutCancel(ctx), tokens...); err != nil {
		ss.log.Error().Err(err).Int("sessions", len(tokens)).Msg("ended console sessions not deleted from the store; they come back after a restart")
	}
}

// The CSRF token carries the sign-in time after a ".", so the absolute
// lifetime survives a restart without a field in the stored session (the
// token is shown to the agent's own console only, which knows when it
// signed in).
func newCSRF(now time.Time) string {
	return randomToken() + "." + strconv.FormatInt(now.Unix(), 36)
}

// signedIn reads the sign-in time from a CSRF token; a token from before
// it was kept there counts as signed in now.
func (ss *sessions) signedIn(csrf string, now time.Time) time.Time {
	_, t, ok := strings.Cut(csrf, ".")
	if !ok {
		return now
	}
	n, err := strconv.ParseInt(t, 36, 64)
	if err != nil {
		return now
	}
	return time.Unix(n, 0)
}

// slide is the expiry after a request at now: the idle TTL on, but never
// past the session's end.
func (ss *sessions) slide(s *session, now time.Time) time.Time {
	e := now.Add(ss.ttl)
	if e.After(s.end) {
		return s.end
	}
	return e
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
func (ss *sessions) create(ctx context.Context, agentID string) (cookie string, s *session) {
	ss.mu.Lock()
	now := ss.now()
	var expired []string
	for k, v := range ss.m { // sweep expired sessions while we hold the lock
		if now.After(v.expires) {
			delete(ss.m, k)
			expired = append(expired, k)
		}
	}
	cookie = randomToken()
	s = &session{token: tokenKey(cookie), agentID: agentID, csrf: newCSRF(now), end: now.Add(ss.maxAge)}
	s.expires = ss.slide(s, now)
	s.stored = s.expires
	ss.m[s.token] = s
	cp := *s
	ss.mu.Unlock()
	ss.forget(ctx, expired...)
	ss.save(ctx, cp)
	return cookie, &cp
}

// get returns the live session for a cookie value and slides its expiry.
func (ss *sessions) get(ctx context.Context, cookie string) (*session, bool) {
	if cookie == "" {
		return nil, false
	}
	ss.mu.Lock()
	s, ok := ss.m[tokenKey(cookie)]
	if !ok {
		ss.mu.Unlock()
		return nil, false
	}
	now := ss.now()
	if now.After(s.expires) {
		delete(ss.m, s.token)
		ss.mu.Unlock()
		ss.forget(ctx, s.token)
		return nil, false
	}
	s.expires = ss.slide(s, now)
	persist := s.expires.Sub(s.stored) > ss.ttl/10
	if persist {
		s.stored = s.expires
	}
	cp := *s
	ss.mu.Unlock()
	if persist {
		ss.save(ctx, cp)
	}
	return &cp, true
}

func (ss *sessions) valid(token string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[token]
	return ok && !ss.now().After(s.expires)
}

func (ss *sessions) delete(ctx context.Context, token string) {
	ss.mu.Lock()
	delete(ss.m, token)
	ss.mu.Unlock()
	ss.forget(ctx, token)
}

// deleteAgent ends every session of an agent (password reset, removal).
func (ss *sessions) deleteAgent(ctx context.Context, agentID string) {
	ss.deleteAgentExcept(ctx, agentID, "")
}

// deleteAgentExcept ends every session of an agent but the one with token
// (the console that just changed the password stays signed in; the store
// dropped it with the others when the new password was saved, so it is
// stored again).
func (ss *sessions) deleteAgentExcept(ctx context.Context, agentID, token string) {
	ss.mu.Lock()
	var ended []string
	var kept *session
	for k, v := range ss.m {
		switch {
		case v.agentID != agentID:
		case k == token:
			cp := *v
			kept = &cp
		default:
			delete(ss.m, k)
			ended = append(ended, k)
		}
	}
	ss.mu.Unlock()
	ss.forget(ctx, ended...)
	if kept != nil {
		ss.save(ctx, *kept)
	}
}

// csrfOK compares the header token with the session's in constant time.
func (s *session) csrfOK(header string) bool {
	return header != "" && subtle.ConstantTimeCompare([]byte(header), []byte(s.csrf)) == 1
}

// loginLimiter limits attempts per key: client IP and account, so guessing
// one agent's password is slow while a shared office IP does not lock
// everyone out; and client IP alone, with a larger burst, so a stream of
// new names from one address is slow too (signin.go).
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

// allow spends one attempt for key; when none is left it says how long to
// wait.
func (l *loginLimiter) allow(key string) (bool, time.Duration) {
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
