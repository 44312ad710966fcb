package handoff

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/parley-chat/parley/store"
)

const oneTimePassword = "Gen3ratedPassw0rd"

// oneTimeAgent creates an agent the way `parley agents add` without
// --password-stdin does: a printed, one-time password.
func (e *env) oneTimeAgent(name, role string) store.Agent {
	e.t.Helper()
	a, err := AddAgent(context.Background(), e.db, NewAgent{Name: name, Role: role, Password: oneTimePassword, OneTime: true},
		bcrypt.MinCost, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (c *client) loginWith(name, password string) meJSON {
	c.t.Helper()
	var me meJSON
	c.call("POST", "/api/login", map[string]string{"name": name, "password": password}, 200, &me)
	c.csrf = me.CSRF
	return me
}

// A generated password opens one sign-in; until the agent chooses their own
// password the session reaches only me, logout and the change itself. The
// agent takes no tickets meanwhile, and the old password stops working.
func TestOneTimePasswordMustBeChanged(t *testing.T) {
	e := newEnv(t, Config{AutoAssign: true, LoginBurst: 50})
	srv := e.server()
	if a := e.oneTimeAgent("anna", RoleAgent); !a.PasswordOneTime {
		t.Fatalf("AddAgent with OneTime stored %+v", a)
	}
	cust := e.contact("web:v1", "Olga", "en")
	tk, _ := e.escalate(cust, "requested", "")

	anna := newClient(t, srv)
	me := anna.loginWith("anna", oneTimePassword)
	if !me.PasswordChangeRequired || me.Presence != PresenceOffline {
		t.Fatalf("login with a one-time password = %+v, want password_change_required and offline", me)
	}
	if got := e.ticket(tk.ID); got.Status != StatusQueued {
		t.Fatalf("an agent who must change the password was auto-assigned: %+v", got)
	}
	other := newClient(t, srv) // a second console cannot sign in with the same printed password
	other.call("POST", "/api/login", map[string]string{"name": "anna", "password": oneTimePassword}, 401, nil)

	// Every API route but the three answers 403 with the same message.
	for _, rt := range e.svc.routeTable() {
		if rt.public || !strings.HasPrefix(rt.path, "/api/") || passwordChangeRoutes[rt.method+" "+rt.path] {
			continue
		}
		path := strings.NewReplacer("{id}", fmt.Sprint(tk.ID), "{$}", "").Replace(rt.path)
		res, b := anna.do(rt.method, path, map[string]string{"text": "x", "status": "online", "outcome": "end"}, nil)
		if res.StatusCode != http.StatusForbidden || strings.TrimSpace(string(b)) != `{"error":"password change required"}` {
			t.Errorf("%s %s before the change = %d %s, want 403 password change required", rt.method, path, res.StatusCode, b)
		}
	}
	anna.call("GET", "/api/me", nil, 200, &me)
	if !me.PasswordChangeRequired {
		t.Errorf("me = %+v, want password_change_required", me)
	}
	// The console page loads (it shows only the change form); other
	// console pages lead back to it.
	if res, _ := anna.do("GET", "/console/", nil, nil); res.StatusCode != 200 {
		t.Errorf("GET /console/ = %d, want 200", res.StatusCode)
	}
	if res, _ := anna.do("GET", "/console/assets/app.js", nil, nil); res.StatusCode != 200 {
		t.Errorf("GET /console/assets/app.js = %d, want 200", res.StatusCode)
	}
	if res, _ := anna.do("GET", "/console/dashboard", nil, nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/" {
		t.Errorf("GET /console/dashboard = %d to %q, want 303 to /console/", res.StatusCode, res.Header.Get("Location"))
	}
	if got := e.ticket(tk.ID); got.Status != StatusQueued {
		t.Fatalf("a refused request changed the ticket: %+v", got)
	}

	// Bad changes say what is wrong and change nothing.
	for _, c := range []struct {
		old, new string
		code     int
		msg      string
	}{
		{"not the password", "my own good password", 403, "current password is wrong"},
		{oneTimePassword, "short", 400, "new password: want at least 10 characters"},
		{oneTimePassword, strings.Repeat("x", 73), 400, "new password: at most 72 bytes (bcrypt ignores the rest)"},
		{oneTimePassword, oneTimePassword, 400, "new password: must differ from the current one"},
	} {
		var errBody struct{ Error string }
		anna.call("POST", "/api/password", map[string]string{"old": c.old, "new": c.new}, c.code, &errBody)
		if errBody.Error != c.msg {
			t.Errorf("change %q -> %q: error %q, want %q", c.old, c.new, errBody.Error, c.msg)
		}
	}
	if a, _ := e.db.Agent("anna"); !a.PasswordOneTime {
		t.Fatal("a refused change cleared the one-time mark")
	}

	const mine = "anna's very own secret"
	anna.call("POST", "/api/password", map[string]string{"old": oneTimePassword, "new": mine}, 200, &me)
	if me.PasswordChangeRequired || me.Presence != PresenceOnline {
		t.Errorf("after the change me = %+v, want no change required and online", me)
	}
	if got := e.ticket(tk.ID); got.Status != StatusAssigned || got.AgentID != "anna" {
		t.Errorf("after the change the queued ticket = %+v, want auto-assigned to anna", got)
	}
	var q struct{ Tickets []ticketItem }
	anna.call("GET", "/api/queue", nil, 200, &q)
	if len(q.Tickets) != 1 {
		t.Errorf("queue after the change = %+v", q.Tickets)
	}
	other.call("GET", "/api/me", nil, 401, nil)

	anna.call("POST", "/api/logout", nil, 200, nil)
	anna.call("POST", "/api/login", map[string]string{"name": "anna", "password": oneTimePassword}, 401, nil)
	me = anna.loginWith("anna", mine)
	if me.PasswordChangeRequired {
		t.Errorf("signing in with the chosen password = %+v", me)
	}
	anna.call("GET", "/api/queue", nil, 200, nil)

	// A reset issues a new one-time password and signs the agent out.
	if _, err := e.svc.AddAgent(context.Background(), NewAgent{Name: "anna", Role: RoleAgent, Password: oneTimePassword, Replace: true, OneTime: true}); err != nil {
		t.Fatal(err)
	}
	anna.call("GET", "/api/me", nil, 401, nil)
	if me := anna.loginWith("anna", oneTimePassword); !me.PasswordChangeRequired {
		t.Errorf("after a reset me = %+v, want password_change_required", me)
	}
	anna.call("GET", "/api/queue", nil, 403, nil)
}

// A password the operator chose (--password-stdin) is not one-time; such an
// agent may still change it, which keeps their session.
func TestOperatorPasswordIsNotOneTime(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	if a := e.agent("bob", RoleAgent); a.PasswordOneTime {
		t.Fatalf("operator-set password stored as one-time: %+v", a)
	}
	bob := newClient(t, srv)
	if me := bob.login("bob"); me.PasswordChangeRequired || me.Presence != PresenceOnline {
		t.Fatalf("login = %+v, want no change required and online", me)
	}
	bob.call("GET", "/api/queue", nil, 200, nil)
	bob.call("POST", "/api/password", map[string]string{"old": testPassword, "new": "bob picks another one"}, 200, nil)
	bob.call("GET", "/api/queue", nil, 200, nil)
	bob.call("POST", "/api/logout", nil, 200, nil)
	bob.loginWith("bob", "bob picks another one")
}

// Guessing the current password through a signed-in console is limited
// like sign-in is.
func TestPasswordChangeRateLimited(t *testing.T) {
	e := newEnv(t, Config{LoginBurst: 3})
	srv := e.server()
	e.agent("bob", RoleAgent)
	bob := newClient(t, srv)
	bob.login("bob") // spends one attempt of the same budget
	for range 2 {
		bob.call("POST", "/api/password", map[string]string{"old": "guess guess guess", "new": "whatever you like"}, 403, nil)
	}
	res, _ := bob.do("POST", "/api/password", map[string]string{"old": testPassword, "new": "whatever you like"}, nil)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("third attempt = %d (Retry-After %q), want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
}

// A one-time password opens exactly one sign-in: a second one with it is
// refused with a message that says what to do, also after a restart, and
// the console it opened can still choose the agent's own password.
func TestOneTimePasswordUsed(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.oneTimeAgent("anna", RoleAgent)
	first := newClient(t, srv)
	first.loginWith("anna", oneTimePassword)

	second := newClient(t, srv)
	var errBody struct{ Error string }
	second.call("POST", "/api/login", map[string]string{"name": "anna", "password": oneTimePassword}, 401, &errBody)
	if !strings.Contains(errBody.Error, "already used") || !strings.Contains(errBody.Error, "parley agents add anna --role agent --reset") {
		t.Errorf("second sign-in with the one-time password: %q, want it to say it was used and how to get a new one", errBody.Error)
	}
	// A wrong password still gets the usual answer: the message above is
	// only for whoever knows the printed password.
	second.call("POST", "/api/login", map[string]string{"name": "anna", "password": "not the password"}, 401, &errBody)
	if errBody.Error != "wrong name or password" {
		t.Errorf("wrong password for a used one-time password: %q", errBody.Error)
	}

	e.svc.Close()
	e.svc = e.service(e.db)
	srv2 := httptest.NewServer(e.svc.Handler())
	t.Cleanup(srv2.Close)
	first.base, second.base = srv2.URL, srv2.URL
	second.call("POST", "/api/login", map[string]string{"name": "anna", "password": oneTimePassword}, 401, nil)
	var me meJSON
	first.call("POST", "/api/password", map[string]string{"old": oneTimePassword, "new": "anna's very own secret"}, 200, &me)
	if me.PasswordChangeRequired {
		t.Errorf("after the change me = %+v", me)
	}
	second.loginWith("anna", "anna's very own secret")
}

// A one-time password expires (OneTimeTTL, 24 h by default) whether or not
// it was used; a reset issues a fresh one.
func TestOneTimePasswordExpires(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.oneTimeAgent("anna", RoleAgent)
	e.clock.Advance(24*time.Hour + time.Minute)
	c := newClient(t, srv)
	var errBody struct{ Error string }
	c.call("POST", "/api/login", map[string]string{"name": "anna", "password": oneTimePassword}, 401, &errBody)
	if !strings.Contains(errBody.Error, "expired") || !strings.Contains(errBody.Error, "parley agents add anna --role agent --reset") {
		t.Errorf("sign-in with an expired one-time password: %q, want it to say it expired and how to get a new one", errBody.Error)
	}
	if _, err := e.svc.AddAgent(context.Background(), NewAgent{Name: "anna", Role: RoleAgent, Password: oneTimePassword, Replace: true, OneTime: true}); err != nil {
		t.Fatal(err)
	}
	if me := c.loginWith("anna", oneTimePassword); !me.PasswordChangeRequired {
		t.Errorf("after a reset me = %+v, want password_change_required", me)
	}
}
