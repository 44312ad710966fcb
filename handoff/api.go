package handoff

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/store"
)

const (
	sessionCookie = "parley_session"
	csrfHeader    = "X-CSRF-Token"
	maxBody       = 64 << 10
)

// route is one entry of the console's routing table.
type route struct {
	method, path string
	public       bool // reachable without a session
	h            http.HandlerFunc
}

// routeTable lists every route; tests walk it to prove that each one
// refuses a request without a session.
func (s *Service) routeTable() []route {
	return append([]route{
		{"GET", "/console/login", true, s.page("login.html")},
		{"GET", "/console/assets/login.js", true, s.asset("login.js")},
		{"GET", "/console/assets/console.css", true, s.asset("console.css")},
		{"POST", "/api/login", true, s.apiLogin},

		{"GET", "/console/{$}", false, s.page("index.html")},
		{"GET", "/console/assets/app.js", false, s.asset("app.js")},
		{"POST", "/api/logout", false, s.apiLogout},
		{"GET", "/api/me", false, s.apiMe},
		{"POST", "/api/password", false, s.apiPassword},
		{"POST", "/api/presence", false, s.apiPresence},
		{"GET", "/api/queue", false, s.apiQueue},
		{"GET", "/api/tickets/{id}", false, s.apiTicket},
		{"GET", "/api/tickets/{id}/history", false, s.apiHistory},
		{"POST", "/api/tickets/{id}/claim", false, s.apiClaim},
		{"POST", "/api/tickets/{id}/reply", false, s.apiReply},
		{"POST", "/api/tickets/{id}/note", false, s.apiNote},
		{"POST", "/api/tickets/{id}/typing", false, s.apiTyping},
		{"POST", "/api/tickets/{id}/read", false, s.apiRead},
		{"POST", "/api/tickets/{id}/transfer", false, s.apiTransfer},
		{"POST", "/api/tickets/{id}/reassign", false, s.apiReassign},
		{"POST", "/api/tickets/{id}/resolve", false, s.apiResolve},
		{"GET", "/api/canned", false, s.apiCanned},
		{"GET", "/api/agents", false, s.apiAgents},
		{"GET", "/api/events", false, func(w http.ResponseWriter, r *http.Request) { s.serveEvents(w, r, sessionFrom(r)) }},
	}, append(append(append(append(s.dashboardRoutes(), append(s.adminRoutes(), s.missesRoutes()...)...), s.contactRoutes()...), s.consoleRoutes()...), s.fileRoutes()...)...)
}

// routes builds the console and API handler. Every route except the login
// page, its two static files and POST /api/login requires a session; the
// check runs before routing, so an unknown path without a session is a 401
// too and reveals nothing. State-changing requests also need the session's
// CSRF token in the X-CSRF-Token header.
func (s *Service) routes() http.Handler {
	authed, public := http.NewServeMux(), http.NewServeMux()
	for _, rt := range s.routeTable() {
		mux := authed
		if rt.public {
			mux = public
		}
		mux.HandleFunc(rt.method+" "+rt.path, rt.h)
	}

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		if _, pattern := public.Handler(r); pattern != "" {
			public.ServeHTTP(w, r)
			return
		}
		sess, ok := s.sessionOf(r)
		if !ok {
			if strings.HasPrefix(r.URL.Path, "/console") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				http.Redirect(w, r, "/console/login", http.StatusSeeOther)
				return
			}
			writeErr(w, http.StatusUnauthorized, "login required")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !sess.csrfOK(r.Header.Get(csrfHeader)) {
				writeErr(w, http.StatusForbidden, "missing or wrong "+csrfHeader+" header")
				return
			}
		}
		if r.URL.Path == "/console" {
			http.Redirect(w, r, "/console/", http.StatusSeeOther)
			return
		}
		if _, pattern := authed.Handler(r); passwordGate(w, r, sess.agent, pattern) {
			return
		}
		s.presence.seen(sess.agentID)
		authed.ServeHTTP(w, r.WithContext(withSession(r.Context(), sess)))
	})
}

// securityHeaders: no inline script anywhere, so even a rendering bug that
// let customer HTML into the page could not run it.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

// sessionOf finds the session for the request's cookie and checks that the
// agent account still exists.
func (s *Service) sessionOf(r *http.Request) (*session, bool) {
	c, err := r.Cookie(s.cookieName())
	if err != nil {
		return nil, false
	}
	sess, ok := s.sessions.get(r.Context(), c.Value)
	if !ok {
		return nil, false
	}
	a, err := s.st.Agent(sess.agentID)
	if err != nil {
		s.sessions.delete(r.Context(), sess.token)
		return nil, false
	}
	sess.agent = a
	return sess, true
}

// cookieName is the session cookie's name: with the __Host- prefix when
// cookies are Secure (browsers then refuse it without Secure, with a
// Domain, or on another path).
func (s *Service) cookieName() string {
	if s.cfg.SecureCookies {
		return "__Host-" + sessionCookie
	}
	return sessionCookie
}

// clientIP is who a request counts as for the sign-in limits.
func (s *Service) clientIP(r *http.Request) string {
	if s.cfg.ClientIP != nil {
		return s.cfg.ClientIP(r)
	}
	return remoteIP(r)
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// sameOrigin rejects cross-site logins (login CSRF): a browser always sends
// Origin on a cross-origin POST.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true // not a browser cross-origin request
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (s *Service) apiLogin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeErr(w, http.StatusForbidden, "cross-origin login refused")
		return
	}
	var in struct{ Name, Password string }
	if !readJSON(w, r, &in) {
		return
	}
	release, ok := s.signinGate(w, r, in.Name)
	if !ok {
		return
	}
	a, err := s.authenticate(r.Context(), in.Name, in.Password)
	release()
	switch {
	case errors.Is(err, errWrongPassword), errors.Is(err, errOneTimeRefused):
		s.metrics.failed.Inc()
		s.log.Info().Str("name", clip(in.Name, 32)).Str("ip", s.clientIP(r)).Bool("one_time_refused", errors.Is(err, errOneTimeRefused)).Msg("console login failed")
		writeErr(w, http.StatusUnauthorized, strings.TrimSuffix(err.Error(), ": "+errOneTimeRefused.Error()))
		return
	case err != nil:
		s.fail(w, err)
		return
	}
	cookie, sess := s.sessions.create(r.Context(), a.ID)
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: cookie, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.cfg.SecureCookies || r.TLS != nil,
		MaxAge: int(s.cfg.SessionMaxAge.Seconds()),
	})
	s.log.Info().Str("agent", a.ID).Bool("one_time_password", a.PasswordOneTime).Msg("console login")
	if a.PasswordOneTime {
		s.presence.set(a.ID, PresenceOffline) // takes no tickets before choosing a password
	} else {
		s.comeOnline(r.Context(), a.ID)
	}
	s.writeJSON(w, http.StatusOK, s.meJSON(a, sess.csrf))
}

func (s *Service) apiLogout(w http.ResponseWriter, r *http.Request) {
	sess := sessionFrom(r)
	s.sessions.delete(r.Context(), sess.token)
	s.presence.set(sess.agentID, PresenceOffline)
	s.hub.publish(liveEvent{Type: "presence", AgentID: sess.agentID})
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.cfg.SecureCookies || r.TLS != nil})
	s.writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

type meJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	Presence    string `json:"presence"`
	CSRF        string `json:"csrf"`
	CSAT        bool   `json:"csat"`
	// CSATEvery: every resolve asks for a rating (the project's csat: always).
	CSATEvery bool `json:"csat_every"`
	// VarLabels are the project's labels of the variables agents see, by
	// variable then language; absent without the project's vars:.
	VarLabels map[string]map[string]string `json:"var_labels,omitempty"`
	// PasswordChangeRequired: signed in with a one-time password; only
	// POST /api/password, me and logout answer until it is changed.
	PasswordChangeRequired bool `json:"password_change_required"`
}

func (s *Service) meJSON(a store.Agent, csrf string) meJSON {
	return meJSON{ID: a.ID, Name: a.Name, DisplayName: displayName(a), Role: a.Role,
		Presence: s.presence.status(a.ID), CSRF: csrf, CSAT: s.lead().CSAT, CSATEvery: s.lead().CSATEvery, VarLabels: s.lead().VarLabels,
		PasswordChangeRequired: a.PasswordOneTime}
}

func (s *Service) apiMe(w http.ResponseWriter, r *http.Request) {
	sess := sessionFrom(r)
	s.writeJSON(w, http.StatusOK, s.meJSON(sess.agent, sess.csrf))
}

func (s *Service) apiPresence(w http.ResponseWriter, r *http.Request) {
	var in struct{ Status string }
	if !readJSON(w, r, &in) {
		return
	}
	if in.Status != PresenceOnline && in.Status != PresenceAway {
		writeErr(w, http.StatusBadRequest, fmt.Sprintf("status %q: want online or away", in.Status))
		return
	}
	sess := sessionFrom(r)
	s.presence.set(sess.agentID, in.Status)
	s.hub.publish(liveEvent{Type: "presence", AgentID: sess.agentID})
	if in.Status == PresenceOnline {
		s.autoAssign(r.Context())
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"presence": s.presence.status(sess.agentID)})
}

// ticketItem is one row of the queue view.
type ticketItem struct {
	ID          uint64     `json:"id"`
	Contact     string     `json:"contact"`
	ContactName string     `json:"contact_name"`
	Channel     string     `json:"channel"`
	Address     string     `json:"address"`
	Reason      string     `json:"reason"`
	Status      string     `json:"status"`
	Priority    string     `json:"priority"`
	Level       int        `json:"priority_level"`
	AgentID     string     `json:"agent_id,omitempty"`
	Summary     string     `json:"summary"`
	CreatedAt   time.Time  `json:"created_at"`
	AssignedAt  *time.Time `json:"assigned_at,omitempty"`
	ResolvedAt  *time.Time `json:"resolved_at,omitempty"`
	WaitSeconds int        `json:"wait_seconds"`
}

func tsPtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func channelOf(address string) string {
	ch, _, _ := strings.Cut(address, ":")
	return ch
}

func (s *Service) item(t store.Ticket, names map[string]string) ticketItem {
	wait := 0
	if t.Status == StatusQueued {
		wait = int(s.now().Sub(queuedAt(t)).Seconds())
	}
	name := names[t.ContactID]
	if name == "" {
		name = ContactName(store.Contact{}, t.Vars)
	}
	return ticketItem{ID: t.ID, Contact: t.ContactID, ContactName: name,
		Channel: channelOf(t.Address), Address: t.Address, Reason: t.Reason, Status: t.Status,
		Priority: PriorityName(t.Priority), Level: t.Priority, AgentID: t.AgentID,
		Summary: clip(t.Summary, 160), CreatedAt: t.CreatedAt, AssignedAt: tsPtr(t.AssignedAt),
		ResolvedAt: tsPtr(t.ResolvedAt), WaitSeconds: wait}
}

// apiQueue lists what the agent works on: queued tickets (priority, then
// age) and their own; leads see everyone's. ?status=resolved lists recently
// resolved ones (the agent's own, or all for leads), newest first.
func (s *Service) apiQueue(w http.ResponseWriter, r *http.Request) {
	a := sessionFrom(r).agent
	status := r.URL.Query().Get("status")
	var ts []store.Ticket
	switch status {
	case "", "open":
		var err error
		if ts, err = s.ticketsIn(StatusQueued, StatusAssigned); err != nil {
			s.fail(w, err)
			return
		}
		SortQueue(ts)
	case StatusQueued, StatusAssigned, StatusResolved:
		var err error
		if ts, err = s.st.Tickets(status); err != nil {
			s.fail(w, err)
			return
		}
		SortQueue(ts)
		if status == StatusResolved {
			sort.SliceStable(ts, func(i, j int) bool { return ts[i].ResolvedAt.After(ts[j].ResolvedAt) })
		}
	default:
		writeErr(w, http.StatusBadRequest, fmt.Sprintf("status %q: want open, queued, assigned or resolved", status))
		return
	}
	names := map[string]string{}
	out := []ticketItem{}
	for _, t := range ts {
		if !canView(a, t) {
			continue
		}
		if _, ok := names[t.ContactID]; !ok {
			if c, err := s.st.Contact(t.ContactID); err == nil {
				names[t.ContactID] = ContactName(c, nil)
			} else {
				names[t.ContactID] = ""
			}
		}
		out = append(out, s.item(t, names))
		if len(out) == 200 {
			break
		}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"tickets": out})
}

type noteJSON struct {
	AgentID string    `json:"agent_id"`
	Text    string    `json:"text"`
	At      time.Time `json:"at"`
}

type contactJSON struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Lang     string            `json:"lang"`
	Channels []string          `json:"channels"`
	Fields   map[string]string `json:"fields"`
}

type ticketJSON struct {
	ticketItem
	Contact      contactJSON       `json:"contact"`
	Evidence     []string          `json:"evidence"`
	Vars         map[string]string `json:"vars"`
	Summary      string            `json:"summary"`
	ResumeNode   string            `json:"resume_node,omitempty"`
	Notes        []noteJSON        `json:"notes"`
	CSAT         int               `json:"csat"`
	Outcome      string            `json:"outcome,omitempty"`
	FirstReplyAt *time.Time        `json:"first_reply_at,omitempty"`
	ReopenedAt   *time.Time        `json:"reopened_at,omitempty"`
	// AgentReadAt, CustomerSeenAt: read marks (web chat only).
	AgentReadAt    *time.Time `json:"agent_read_at,omitempty"`
	CustomerSeenAt *time.Time `json:"customer_seen_at,omitempty"`
	// ReplyVia is where a reply goes unless the agent picks another of
	// Contact.Channels: the channel the customer wrote from last. Empty
	// for a resolved ticket, and when the ticket's channel belongs to
	// another contact now (a reply is refused then).
	ReplyVia string `json:"reply_via,omitempty"`
}

func (s *Service) ticketJSON(t store.Ticket) ticketJSON {
	c, err := s.st.Contact(t.ContactID)
	if err != nil {
		c = store.Contact{ID: t.ContactID}
	}
	names := map[string]string{t.ContactID: ContactName(c, nil)}
	out := ticketJSON{ticketItem: s.item(t, names),
		Contact:  contactJSON{ID: c.ID, Name: c.Name, Lang: c.Lang, Channels: c.Identities, Fields: c.Fields},
		Evidence: t.Evidence, Vars: t.Vars, Summary: t.Summary, ResumeNode: t.ResumeNode,
		Notes: []noteJSON{}, CSAT: t.CSAT, Outcome: t.Outcome,
		FirstReplyAt: tsPtr(t.FirstReplyAt), ReopenedAt: tsPtr(t.ReopenedAt),
		AgentReadAt: tsPtr(t.AgentReadAt), CustomerSeenAt: tsPtr(t.CustomerSeenAt)}
	if out.Contact.Channels == nil {
		out.Contact.Channels = []string{t.Address}
	}
	if out.Evidence == nil {
		out.Evidence = []string{}
	}
	if out.Vars == nil {
		out.Vars = map[string]string{}
	}
	for _, n := range t.Notes {
		out.Notes = append(out.Notes, noteJSON{AgentID: n.AgentID, Text: n.Text, At: n.At})
	}
	if t.Status != StatusResolved && (t.Address == "" || slices.Contains(c.Identities, t.Address)) {
		if via, err := s.replyVia(t, ""); err == nil {
			out.ReplyVia = via
		} else {
			s.log.Warn().Err(err).Uint64("ticket", t.ID).Msg("ticket's reply channel not shown")
		}
	}
	return out
}

// ticketsIn reads the tickets of the given statuses, in that order.
func (s *Service) ticketsIn(statuses ...string) ([]store.Ticket, error) {
	var ts []store.Ticket
	for _, st := range statuses {
		part, err := s.st.Tickets(st)
		if err != nil {
			return nil, err
		}
		ts = append(ts, part...)
	}
	return ts, nil
}

func ticketID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		writeErr(w, http.StatusBadRequest, fmt.Sprintf("ticket id %q: want a positive number", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

func (s *Service) apiTicket(w http.ResponseWriter, r *http.Request) {
	id, ok := ticketID(w, r)
	if !ok {
		return
	}
	t, err := s.Visible(sessionFrom(r).agent, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, s.ticketJSON(t))
}

type messageJSON struct {
	Seq         uint64         `json:"seq"`
	Dir         string         `json:"dir"`
	Channel     string         `json:"channel"`
	Text        string         `json:"text"`
	Payload     string         `json:"payload,omitempty"`
	Buttons     []store.Button `json:"buttons,omitempty"`
	Attachments []string       `json:"attachments,omitempty"`
	Files       []fileJSON     `json:"files,omitempty"` // the stored ones of Attachments (files.go)
	Sender      string         `json:"sender"`          // customer, bot or agent
	SenderID    string         `json:"sender_id,omitempty"`
	SenderName  string         `json:"sender_name,omitempty"`
	At          time.Time      `json:"at"`
}

// apiHistory returns the contact's whole history across channels, bot
// messages included and marked, oldest first; ?after=SEQ&limit=N pages.
func (s *Service) apiHistory(w http.ResponseWriter, r *http.Request) {
	id, ok := ticketID(w, r)
	if !ok {
		return
	}
	t, err := s.Visible(sessionFrom(r).agent, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	q := r.URL.Query()
	after, limit := uint64(0), 500
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Sprintf("after %q: want a message sequence number", v))
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			writeErr(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want 1..1000", v))
			return
		}
	}
	msgs, err := s.st.History(t.ContactID, after, limit)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(w, err)
		return
	}
	out := make([]messageJSON, 0, len(msgs))
	for _, m := range msgs {
		sender, sid := m.Sender, ""
		if id, ok := strings.CutPrefix(m.Sender, "agent:"); ok {
			sender, sid = "agent", id
		}
		if sender == "" {
			sender = map[string]string{"in": "customer", "out": "bot"}[m.Dir]
		}
		ch := m.Channel
		if ch == "" {
			ch = channelOf(m.Address)
		}
		out = append(out, messageJSON{Seq: m.Seq, Dir: m.Dir, Channel: ch, Text: m.Text, Payload: m.Payload,
			Buttons: m.Buttons, Attachments: m.Attachments, Files: s.messageFiles(m.Attachments), Sender: sender, SenderID: sid,
			SenderName: m.SenderName, At: m.At})
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"messages": out})
}

// ticketOp runs one state-changing operation and answers with the ticket.
func (s *Service) ticketOp(w http.ResponseWriter, r *http.Request, in any, op func(a store.Agent, id uint64) (store.Ticket, error)) {
	id, ok := ticketID(w, r)
	if !ok {
		return
	}
	if in != nil && !readJSON(w, r, in) {
		return
	}
	t, err := op(sessionFrom(r).agent, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, s.ticketJSON(t))
}

func (s *Service) apiClaim(w http.ResponseWriter, r *http.Request) {
	s.ticketOp(w, r, nil, func(a store.Agent, id uint64) (store.Ticket, error) { return s.Claim(r.Context(), a, id) })
}

func (s *Service) apiReply(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Text   string `json:"text"`
		Canned string `json:"canned"`
		// Address, when set, is the contact's channel this reply takes
		// instead of the one the customer wrote from last.
		Address string `json:"address"`
	}
	s.ticketOp(w, r, &in, func(a store.Agent, id uint64) (store.Ticket, error) {
		text := in.Text
		if in.Canned != "" {
			c, ok := s.canned(in.Canned)
			if !ok {
				return store.Ticket{}, fmt.Errorf("canned reply %q does not exist: %w", in.Canned, ErrBadRequest)
			}
			if text == "" {
				t, err := s.Visible(a, id)
				if err != nil {
					return store.Ticket{}, err
				}
				ct, _ := s.st.Contact(t.ContactID)
				text = FillReply(c.Text, t, ct, a)
			}
		}
		return s.ReplyVia(r.Context(), a, id, text, in.Address)
	})
}

// apiRead: the agent holding the ticket has read the conversation (the
// console says so while the ticket is on screen); the customer's web chat
// marks their messages read.
func (s *Service) apiRead(w http.ResponseWriter, r *http.Request) {
	id, ok := ticketID(w, r)
	if !ok {
		return
	}
	if err := s.AgentRead(r.Context(), sessionFrom(r).agent, id); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiTyping: the agent is typing a reply (the console sends it at most
// every few seconds); the customer's web chat shows it.
func (s *Service) apiTyping(w http.ResponseWriter, r *http.Request) {
	id, ok := ticketID(w, r)
	if !ok {
		return
	}
	if err := s.AgentTyping(r.Context(), sessionFrom(r).agent, id); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) apiNote(w http.ResponseWriter, r *http.Request) {
	var in struct{ Text string }
	s.ticketOp(w, r, &in, func(a store.Agent, id uint64) (store.Ticket, error) { return s.Note(r.Context(), a, id, in.Text) })
}

func (s *Service) apiTransfer(w http.ResponseWriter, r *http.Request) {
	var in struct{ Agent string }
	s.ticketOp(w, r, &in, func(a store.Agent, id uint64) (store.Ticket, error) {
		return s.Transfer(r.Context(), a, id, in.Agent)
	})
}

func (s *Service) apiReassign(w http.ResponseWriter, r *http.Request) {
	var in struct{ Agent string }
	s.ticketOp(w, r, &in, func(a store.Agent, id uint64) (store.Ticket, error) {
		if !isLead(a) {
			return store.Ticket{}, fmt.Errorf("reassign is for leads and admins: %w", ErrForbidden)
		}
		return s.Transfer(r.Context(), a, id, in.Agent)
	})
}

func (s *Service) apiResolve(w http.ResponseWriter, r *http.Request) {
	var in struct{ Outcome string }
	s.ticketOp(w, r, &in, func(a store.Agent, id uint64) (store.Ticket, error) {
		return s.Resolve(r.Context(), a, id, in.Outcome)
	})
}

type agentJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	Presence    string `json:"presence"`
	Assigned    *int   `json:"assigned,omitempty"` // leads only
}

// agentJSON is a as colleagues see it, with the tickets it holds when load
// is given (heldTickets).
func (s *Service) agentJSON(a store.Agent, load map[string]int) agentJSON {
	j := agentJSON{ID: a.ID, Name: a.Name, DisplayName: displayName(a), Role: a.Role, Presence: s.presence.status(a.ID)}
	if load != nil {
		n := load[a.ID]
		j.Assigned = &n
	}
	return j
}

// apiAgents lists colleagues for the transfer menu; leads also see each
// agent's load.
func (s *Service) apiAgents(w http.ResponseWriter, r *http.Request) {
	me := sessionFrom(r).agent
	agents, err := s.st.Agents()
	if err != nil {
		s.fail(w, err)
		return
	}
	var load map[string]int // nil: the load is not shown
	if isLead(me) {
		if load, err = s.heldTickets(); err != nil {
			s.fail(w, err)
			return
		}
	}
	out := []agentJSON{}
	for _, a := range agents {
		out = append(out, s.agentJSON(a, load))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	s.writeJSON(w, http.StatusOK, map[string]any{"agents": out})
}

// readJSON decodes a JSON body of at most maxBody bytes. Requiring the JSON
// content type means a cross-site HTML form cannot post here at all.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeErr(w, http.StatusUnsupportedMediaType, "want Content-Type: application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		writeErr(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return false
	}
	return true
}

// writeJSON answers v as JSON. It is encoded before anything is written,
// so a value that cannot be encoded (a bug) is logged and answered with a
// 500 rather than a 200 with a cut body; a failed write means the client
// has gone, which is logged at debug.
func (s *Service) writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error().Err(err).Int("status", code).Msg("console api: answer not encodable")
		writeErr(w, http.StatusInternalServerError, "internal error")
		return
	}
	if err := writeBody(w, code, append(b, '\n')); err != nil {
		s.log.Debug().Err(err).Msg("console api: answer not written")
	}
}

// writeErr answers {"error": msg}; a string map always encodes.
func writeErr(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	writeBody(w, code, append(b, '\n'))
}

func writeBody(w http.ResponseWriter, code int, b []byte) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, err := w.Write(b)
	return err
}

// fail maps an operation error to an HTTP status; internal errors are logged
// and not shown.
// storeAs returns the store as T, the optional part of the store a route
// needs, or answers 501 with missing and reports false.
func storeAs[T any](s *Service, w http.ResponseWriter, missing string) (T, bool) {
	v, ok := s.st.(T)
	if !ok {
		writeErr(w, http.StatusNotImplemented, missing)
	}
	return v, ok
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrBadRequest):
		writeErr(w, http.StatusBadRequest, strings.TrimSuffix(err.Error(), ": "+ErrBadRequest.Error()))
	case errors.Is(err, ErrForbidden):
		writeErr(w, http.StatusForbidden, strings.TrimSuffix(err.Error(), ": "+ErrForbidden.Error()))
	case errors.Is(err, store.ErrNotFound):
		writeErr(w, http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrConflict):
		writeErr(w, http.StatusConflict, err.Error())
	default:
		s.log.Error().Err(err).Msg("console api")
		writeErr(w, http.StatusInternalServerError, "internal error")
	}
}
