package handoff

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"
)

// client is one browser: its own cookie jar and CSRF token.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func (e *env) server() *httptest.Server {
	srv := httptest.NewServer(e.svc.Handler())
	e.t.Cleanup(srv.Close)
	e.t.Cleanup(func() { e.svc.Close() }) // runs first: ends open event streams
	return srv
}

func newClient(t *testing.T, srv *httptest.Server) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: srv.URL, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(method, path string, body any, hdr map[string]string) (*http.Response, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" && method != "GET" {
		req.Header.Set(csrfHeader, c.csrf)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// call does a request that must answer want and decodes the JSON into out.
func (c *client) call(method, path string, body any, want int, out any) {
	c.t.Helper()
	res, b := c.do(method, path, body, nil)
	if res.StatusCode != want {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

func (c *client) login(name string) meJSON {
	c.t.Helper()
	var me meJSON
	c.call("POST", "/api/login", map[string]string{"name": name, "password": testPassword}, 200, &me)
	c.csrf = me.CSRF
	return me
}

func TestAPITicketFlow(t *testing.T) {
	e := newEnv(t, Config{CSAT: true, Canned: []Canned{{ID: "hello", Title: "Greeting", Text: "Hello! I'm on it."}}})
	srv := e.server()
	e.agent("anna", RoleAgent)
	e.agent("bob", RoleAgent)
	e.agent("lena", RoleLead)
	cust := e.contact("web:v1", "Olga", "en")
	e.say(cust, "my parcel is broken <img src=x onerror=alert(1)>")
	e.botSays(cust, "Sorry to hear that.")
	e.say(cust, "this is unacceptable")

	anna := newClient(t, srv)
	me := anna.login("anna")
	if me.ID != "anna" || me.Role != RoleAgent || me.CSRF == "" || me.Presence != PresenceOnline {
		t.Fatalf("login = %+v", me)
	}
	tk, _ := e.escalate(cust, "negative", "high", "this is unacceptable")

	var q struct{ Tickets []ticketItem }
	anna.call("GET", "/api/queue", nil, 200, &q)
	if len(q.Tickets) != 1 || q.Tickets[0].ID != tk.ID || q.Tickets[0].Reason != "negative" || q.Tickets[0].Priority != "high" || q.Tickets[0].Channel != "web" {
		t.Fatalf("queue = %+v", q.Tickets)
	}

	var tj ticketJSON
	anna.call("POST", fmt.Sprintf("/api/tickets/%d/claim", tk.ID), nil, 200, &tj)
	if tj.Status != StatusAssigned || tj.AgentID != "anna" {
		t.Fatalf("claim = %+v", tj)
	}
	bob := newClient(t, srv)
	bob.login("bob")
	bob.call("POST", fmt.Sprintf("/api/tickets/%d/claim", tk.ID), nil, 409, nil)
	bob.call("GET", fmt.Sprintf("/api/tickets/%d", tk.ID), nil, 403, nil)
	bob.call("GET", "/api/queue", nil, 200, &q)
	if len(q.Tickets) != 0 {
		t.Errorf("bob sees anna's ticket in his queue: %+v", q.Tickets)
	}

	anna.call("POST", fmt.Sprintf("/api/tickets/%d/reply", tk.ID), map[string]string{"canned": "hello"}, 200, nil)
	anna.call("POST", fmt.Sprintf("/api/tickets/%d/reply", tk.ID), map[string]string{"canned": "nope"}, 400, nil)
	anna.call("POST", fmt.Sprintf("/api/tickets/%d/note", tk.ID), map[string]string{"text": "refund approved by lena"}, 200, nil)
	anna.call("GET", fmt.Sprintf("/api/tickets/%d", tk.ID), nil, 200, &tj)
	if tj.Contact.Name != "Olga" || !cmp.Equal(tj.Contact.Channels, []string{"web:v1"}) || !cmp.Equal(tj.Evidence, []string{"this is unacceptable"}) ||
		tj.Vars["order"] != "1234567" || len(tj.Notes) != 1 || tj.FirstReplyAt == nil || !strings.Contains(tj.Summary, "Reason: Unhappy") {
		t.Errorf("ticket = %+v", tj)
	}

	var h struct{ Messages []messageJSON }
	anna.call("GET", fmt.Sprintf("/api/tickets/%d/history", tk.ID), nil, 200, &h)
	var got []string
	for _, m := range h.Messages {
		got = append(got, m.Sender+"|"+m.SenderName+"|"+m.Text)
	}
	want := []string{
		"customer||my parcel is broken <img src=x onerror=alert(1)>",
		"bot||Sorry to hear that.",
		"customer||this is unacceptable",
		"bot||" + expand(DefaultTexts["en"].QueuedNoEstimate, "{position}", "1"),
		"bot||Anna has joined the conversation.",
		"agent|Anna|Hello! I'm on it.",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	anna.call("GET", fmt.Sprintf("/api/tickets/%d/history?after=%d&limit=1", tk.ID, h.Messages[1].Seq), nil, 200, &h)
	if len(h.Messages) != 1 || h.Messages[0].Text != "this is unacceptable" {
		t.Errorf("paged history = %+v", h.Messages)
	}
	anna.call("GET", fmt.Sprintf("/api/tickets/%d/history?limit=0", tk.ID), nil, 400, nil)

	// Transfer to bob; bob may reply, anna no longer sees it; the lead
	// reassigns it back; an agent may not use reassign.
	anna.call("POST", fmt.Sprintf("/api/tickets/%d/transfer", tk.ID), map[string]string{"agent": "bob"}, 200, nil)
	anna.call("GET", fmt.Sprintf("/api/tickets/%d", tk.ID), nil, 403, nil)
	bob.call("POST", fmt.Sprintf("/api/tickets/%d/reply", tk.ID), map[string]string{"text": "Bob here."}, 200, nil)
	bob.call("POST", fmt.Sprintf("/api/tickets/%d/reassign", tk.ID), map[string]string{"agent": "anna"}, 403, nil)
	lena := newClient(t, srv)
	lena.login("lena")
	lena.call("GET", "/api/queue", nil, 200, &q)
	if len(q.Tickets) != 1 {
		t.Errorf("the lead sees %d tickets, want 1", len(q.Tickets))
	}
	var agents struct{ Agents []agentJSON }
	lena.call("GET", "/api/agents", nil, 200, &agents)
	if len(agents.Agents) != 3 || agents.Agents[1].ID != "bob" || agents.Agents[1].Assigned == nil || *agents.Agents[1].Assigned != 1 {
		t.Errorf("lead's agents list = %+v", agents.Agents)
	}
	var agents2 struct{ Agents []agentJSON }
	bob.call("GET", "/api/agents", nil, 200, &agents2)
	if agents2.Agents[1].Assigned != nil {
		t.Error("an agent sees colleagues' load")
	}
	lena.call("POST", fmt.Sprintf("/api/tickets/%d/reassign", tk.ID), map[string]string{"agent": "anna"}, 200, nil)

	anna.call("POST", fmt.Sprintf("/api/tickets/%d/resolve", tk.ID), map[string]string{"outcome": "maybe"}, 400, nil)
	anna.call("POST", fmt.Sprintf("/api/tickets/%d/resolve", tk.ID), map[string]string{"outcome": "csat"}, 200, &tj)
	if tj.Status != StatusResolved || tj.Outcome != OutcomeCSAT {
		t.Errorf("resolved = %+v", tj)
	}
	anna.call("GET", "/api/queue?status=resolved", nil, 200, &q)
	if len(q.Tickets) != 1 || q.Tickets[0].ResolvedAt == nil {
		t.Errorf("resolved list = %+v", q.Tickets)
	}
	anna.call("GET", "/api/queue?status=bogus", nil, 400, nil)
	var canned struct{ Canned []Canned }
	anna.call("GET", "/api/canned", nil, 200, &canned)
	if len(canned.Canned) != 1 || canned.Canned[0].Title != "Greeting" {
		t.Errorf("canned = %+v", canned)
	}
	// Nothing the agents wrote in notes reached the customer.
	for _, d := range e.rec.deliveries() {
		if strings.Contains(d.Text, "refund approved") {
			t.Errorf("a note was delivered: %+v", d)
		}
	}
}

// Every route except the login page refuses a request without a session:
// 401 JSON for the API, a redirect to the login page for console pages.
func TestEveryRouteNeedsSession(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("anna", RoleAgent)
	c := e.contact("web:v", "", "en")
	e.escalate(c, "requested", "")
	paths := []struct{ method, path string }{{"GET", "/api/nope"}, {"POST", "/api/tickets/1/delete"}, {"GET", "/console"}, {"GET", "/console/other"}}
	for _, rt := range e.svc.routeTable() {
		if !rt.public {
			paths = append(paths, struct{ method, path string }{rt.method, strings.NewReplacer("{id}", "1", "{$}", "").Replace(rt.path)})
		}
	}
	for _, cookie := range []string{"", "forged-session-value"} {
		for _, p := range paths {
			req, _ := http.NewRequest(p.method, srv.URL+p.path, strings.NewReader(`{"text":"x","outcome":"end","status":"online","agent":"anna"}`))
			req.Header.Set("Content-Type", "application/json")
			if cookie != "" {
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
			}
			res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if strings.HasPrefix(p.path, "/console") && p.method == "GET" {
				if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/login" {
					t.Errorf("%s %s without session = %d %s, want 303 to the login page", p.method, p.path, res.StatusCode, res.Header.Get("Location"))
				}
				continue
			}
			if res.StatusCode != 401 || !strings.Contains(string(b), `"error":"login required"`) {
				t.Errorf("%s %s without session = %d %s, want 401", p.method, p.path, res.StatusCode, b)
			}
		}
	}
	if got := e.ticket(1); got.Status != StatusQueued {
		t.Errorf("an unauthenticated request changed the ticket: %+v", got)
	}
	// The public ones do answer.
	for _, p := range []string{"/console/login", "/console/assets/login.js", "/console/assets/console.css"} {
		res, err := http.Get(srv.URL + p)
		if err != nil || res.StatusCode != 200 {
			t.Errorf("GET %s = %v %v", p, res.StatusCode, err)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
		res.Body.Close()
	}
}

func TestCSRFRequired(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("anna", RoleAgent)
	cust := e.contact("web:v", "", "en")
	tk, _ := e.escalate(cust, "requested", "")
	c := newClient(t, srv)
	c.login("anna")
	token := c.csrf
	for _, rt := range e.svc.routeTable() {
		if rt.public || rt.method == "GET" {
			continue
		}
		path := strings.ReplaceAll(rt.path, "{id}", fmt.Sprint(tk.ID))
		for _, bad := range []string{"", "wrong-token"} {
			c.csrf = bad
			res, b := c.do(rt.method, path, map[string]string{"text": "x", "status": "away", "outcome": "end"}, nil)
			if res.StatusCode != 403 || !strings.Contains(string(b), csrfHeader) {
				t.Errorf("%s %s with CSRF token %q = %d %s, want 403", rt.method, path, bad, res.StatusCode, b)
			}
		}
	}
	c.csrf = token
	if got := e.ticket(tk.ID); got.Status != StatusQueued {
		t.Errorf("a request without CSRF token changed the ticket: %+v", got)
	}
	c.call("POST", fmt.Sprintf("/api/tickets/%d/claim", tk.ID), nil, 200, nil)
	// A form post (no JSON content type) is refused even with the token.
	res, _ := c.do("POST", fmt.Sprintf("/api/tickets/%d/note", tk.ID), nil, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("form post = %d, want 415", res.StatusCode)
	}
}

func TestLoginRateLimitAndCookies(t *testing.T) {
	e := newEnv(t, Config{SecureCookies: true, LoginEvery: time.Minute, LoginBurst: 3})
	srv := e.server()
	e.agent("anna", RoleAgent)
	c := newClient(t, srv)
	for i := 0; i < 3; i++ {
		c.call("POST", "/api/login", map[string]string{"name": "anna", "password": "guess" + fmt.Sprint(i)}, 401, nil)
	}
	res, b := c.do("POST", "/api/login", map[string]string{"name": "anna", "password": testPassword}, nil)
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("4th attempt = %d %s (Retry-After %q), want 429", res.StatusCode, b, res.Header.Get("Retry-After"))
	}
	// Another name from the same address is limited separately.
	c.call("POST", "/api/login", map[string]string{"name": "nobody", "password": "x"}, 401, nil)
	// Unknown name and wrong password look the same.
	_, b1 := c.do("POST", "/api/login", map[string]string{"name": "nobody", "password": "x"}, nil)
	if !strings.Contains(string(b1), "wrong name or password") {
		t.Errorf("unknown name answer: %s", b1)
	}
	e.clock.Advance(time.Minute)
	res, _ = c.do("POST", "/api/login", map[string]string{"name": "anna", "password": testPassword}, nil)
	if res.StatusCode != 200 {
		t.Fatalf("after waiting = %d, want 200", res.StatusCode)
	}
	var sc *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "__Host-"+sessionCookie {
			sc = ck
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || !sc.Secure || sc.Path != "/" || sc.Domain != "" {
		t.Errorf("session cookie = %+v, want __Host-parley_session, HttpOnly, SameSite=Strict, Secure, Path=/, no Domain", sc)
	}
	// Cross-site login attempts are refused.
	res, _ = c.do("POST", "/api/login", map[string]string{"name": "anna", "password": testPassword}, map[string]string{"Origin": "https://evil.example"})
	if res.StatusCode != 403 {
		t.Errorf("cross-origin login = %d, want 403", res.StatusCode)
	}
}

func TestLogoutEndsSession(t *testing.T) {
	e := newEnv(t, Config{SessionTTL: time.Hour})
	srv := e.server()
	e.agent("anna", RoleAgent)
	c := newClient(t, srv)
	c.login("anna")
	c.call("GET", "/api/me", nil, 200, nil)
	c.call("POST", "/api/logout", nil, 200, nil)
	c.call("GET", "/api/me", nil, 401, nil)
	if s := e.svc.presence.status("anna"); s != PresenceOffline {
		t.Errorf("presence after logout = %q", s)
	}
	// Idle sessions expire.
	c.login("anna")
	e.clock.Advance(61 * time.Minute)
	c.call("GET", "/api/me", nil, 401, nil)
}

func TestPresenceAPI(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("anna", RoleAgent)
	c := newClient(t, srv)
	c.login("anna")
	c.call("POST", "/api/presence", map[string]string{"status": "away"}, 200, nil)
	if _, _, online := e.svc.QueueStats(); online != 0 {
		t.Errorf("away agent counted online")
	}
	c.call("POST", "/api/presence", map[string]string{"status": "busy"}, 400, nil)
	c.call("POST", "/api/presence", map[string]string{"status": "online"}, 200, nil)
	if _, _, online := e.svc.QueueStats(); online != 1 {
		t.Errorf("online agents = %d, want 1", online)
	}
}

// The live stream announces a new ticket to an open console.
func TestLiveEvents(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("anna", RoleAgent)
	c := newClient(t, srv)
	c.login("anna")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/events", nil)
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	cust := e.contact("telegram:8", "", "en")
	// The subscription is registered before the first line is flushed.
	if l := <-lines; !strings.HasPrefix(l, "retry:") {
		t.Fatalf("first line %q", l)
	}
	tk, _ := e.escalate(cust, "requested", "")
	want := fmt.Sprintf(`data: {"type":"ticket","ticket_id":%d,"status":"queued"}`, tk.ID)
	for l := range lines {
		if l == want {
			return
		}
		if strings.HasPrefix(l, "data:") && strings.Contains(l, `"ticket"`) {
			t.Fatalf("got %q, want %q", l, want)
		}
	}
	t.Fatal("stream ended without the ticket event")
}

func TestAgentPasswordReset(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	a := e.agent("anna", RoleAgent)
	if cost, err := bcrypt.Cost(a.PasswordHash); err != nil || cost != bcrypt.MinCost {
		t.Errorf("hash cost %d %v, want the configured %d", cost, err, bcrypt.MinCost)
	}
	if bytes.Contains(a.PasswordHash, []byte(testPassword)) {
		t.Fatal("password stored in clear")
	}
	c := newClient(t, srv)
	c.login("anna")
	if _, err := e.svc.AddAgent(context.Background(), NewAgent{Name: "anna", Role: RoleLead, Password: "a brand new password", Replace: true}); err != nil {
		t.Fatal(err)
	}
	c.call("GET", "/api/me", nil, 401, nil) // signed out everywhere
	c.call("POST", "/api/login", map[string]string{"name": "anna", "password": testPassword}, 401, nil)
	var me meJSON
	c.call("POST", "/api/login", map[string]string{"name": "Anna", "password": "a brand new password"}, 200, &me)
	if me.Role != RoleLead || me.DisplayName != "Anna" {
		t.Errorf("after reset: %+v", me)
	}
	if _, err := e.svc.AddAgent(context.Background(), NewAgent{Name: "anna", Role: RoleAgent, Password: "another password"}); err == nil {
		t.Error("adding an existing name without Replace succeeded")
	}
}

// TestConsoleSessionsSurviveRestart: a new Service on the same file keeps
// signed-in consoles signed in, with the expiry they slid to, and never
// brings back a session that logged out, that a password change ended (in
// the console or offline, as the CLI does), or that expired.
func TestConsoleSessionsSurviveRestart(t *testing.T) {
	e := newEnv(t, Config{SessionTTL: 10 * time.Hour})
	e.agent("anna", RoleAgent)
	e.agent("boris", RoleAgent)
	srv := e.server()
	a1, a2, b1, b2 := newClient(t, srv), newClient(t, srv), newClient(t, srv), newClient(t, srv)
	a1.login("anna")
	a2.login("anna")
	b1.login("boris")
	b2.login("boris")
	b2.call("POST", "/api/logout", nil, 200, nil)
	a1.call("POST", "/api/password", map[string]string{"old": testPassword, "new": "a brand new password"}, 200, nil)
	a2.call("GET", "/api/me", nil, 401, nil)
	e.clock.Advance(2 * time.Hour)
	a1.call("GET", "/api/me", nil, 200, nil) // slides anna's expiry to +12h, and stores it

	restart := func() {
		t.Helper()
		e.svc.Close()
		e.svc = e.service(e.db)
		srv := httptest.NewServer(e.svc.Handler())
		t.Cleanup(srv.Close)
		for _, c := range []*client{a1, a2, b1, b2} {
			c.base = srv.URL // same host, so the cookie jars still send the cookies
		}
	}
	e.clock.Advance(time.Hour)
	restart()
	var me meJSON
	a1.call("GET", "/api/me", nil, 200, &me)
	if me.Name != "anna" || me.CSRF != a1.csrf {
		t.Errorf("anna after the restart: %+v, want her with the same CSRF token", me)
	}
	a1.call("POST", "/api/presence", map[string]string{"status": "away"}, 200, nil) // the CSRF token still works
	b1.call("GET", "/api/me", nil, 200, nil)
	a2.call("GET", "/api/me", nil, 401, nil)
	b2.call("GET", "/api/me", nil, 401, nil)

	// 11h after signing in, anna is signed in only because the expiry her
	// request at 2h slid to was stored.
	e.clock.Advance(8 * time.Hour)
	restart()
	a1.call("GET", "/api/me", nil, 200, nil)
	b1.call("GET", "/api/me", nil, 200, nil)

	// The CLI resets boris's password while the server is stopped.
	if _, err := AddAgent(context.Background(), e.db, NewAgent{Name: "boris", Role: RoleAgent,
		Password: "another long password", Replace: true}, bcrypt.MinCost, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	restart()
	b1.call("GET", "/api/me", nil, 401, nil)
	a1.call("GET", "/api/me", nil, 200, nil)

	// Anna's session ends 10h after her last request; what expired is
	// deleted from the file when the next server starts.
	e.clock.Advance(10*time.Hour + time.Minute)
	restart()
	a1.call("GET", "/api/me", nil, 401, nil)
	if left, err := e.db.ConsoleSessions(); err != nil || len(left) != 0 {
		t.Errorf("stored sessions after they all ended: %+v, %v", left, err)
	}
}

// TestLateSaveDoesNotReviveASession: a sliding-expiry save that lost the
// race with a logout does not store the session again.
func TestLateSaveDoesNotReviveASession(t *testing.T) {
	e := newEnv(t, Config{})
	ss := e.svc.sessions
	ctx := context.Background()
	_, s := ss.create(ctx, "anna")
	late := *s
	late.expires = late.expires.Add(time.Hour)
	ss.delete(ctx, s.token)
	ss.save(ctx, late)
	if left, err := e.db.ConsoleSessions(); err != nil || len(left) != 0 {
		t.Errorf("stored after logout: %+v, %v", left, err)
	}
}

// A console session ends SessionMaxAge (7 days by default) after sign-in
// however active it is, also across restarts.
func TestSessionAbsoluteLifetime(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("anna", RoleAgent)
	c := newClient(t, srv)
	c.login("anna")
	for range 14 { // 154 h, a request every 11 h
		e.clock.Advance(11 * time.Hour)
		c.call("GET", "/api/me", nil, 200, nil)
	}
	e.svc.Close()
	e.svc = e.service(e.db)
	srv2 := httptest.NewServer(e.svc.Handler())
	t.Cleanup(srv2.Close)
	c.base = srv2.URL
	e.clock.Advance(11 * time.Hour) // 165 h
	c.call("GET", "/api/me", nil, 200, nil)
	e.clock.Advance(4 * time.Hour) // 169 h: past the 7 days, 4 h after the last request
	c.call("GET", "/api/me", nil, 401, nil)
}

// An answer that cannot be encoded is a 500 and an error in the log, not a
// 200 with an empty body.
func TestWriteJSONEncodeError(t *testing.T) {
	var logs bytes.Buffer
	svc, err := New(newEnv(t, Config{}).db, Config{BcryptCost: bcrypt.MinCost}, nil, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	w := httptest.NewRecorder()
	svc.writeJSON(w, http.StatusOK, map[string]any{"x": math.Inf(1)})
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "internal error") {
		t.Errorf("unencodable answer = %d %q, want 500 internal error", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "answer not encodable") || !strings.Contains(logs.String(), "unsupported value") {
		t.Errorf("log = %q, want the encode error", logs.String())
	}
}
