package handoff

import (
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/store"
)

// The console's "who is this" card and its search (issue 15).

func (s *Service) consoleRoutes() []route {
	return append([]route{
		{"GET", "/console/assets/i18n.js", true, s.asset("i18n.js")},
		{"GET", "/console/assets/console-agent.css", true, s.asset("console-agent.css")},
		{"GET", "/console/assets/replies.js", false, s.asset("replies.js")},
		{"GET", "/api/console/lang", true, s.apiConsoleLang},
		{"GET", "/api/tickets/{id}/card", false, s.apiCard},
		{"GET", "/api/search", false, s.apiSearch},
	}, append(append(s.agentAdminRoutes(), s.replyRoutes()...), s.apiKeyRoutes()...)...)
}

// nameVars are the flow variables that hold a name the customer gave, in
// the order they are preferred.
var nameVars = []string{"name", "customer_name", "contact_name", "first_name"}

// ContactName is the name to show for a contact: the one the channel gave
// (Telegram first and last name, VK name, the web chat's), else one the
// flow collected in vars; "" when there is none, and the caller shows a
// readable fallback (ContactLabel).
func ContactName(c store.Contact, vars map[string]string) string {
	if n := strings.TrimSpace(c.Name); n != "" {
		return n
	}
	for _, k := range nameVars {
		if n := strings.TrimSpace(c.Fields[k]); n != "" {
			return n
		}
	}
	for _, k := range nameVars {
		if n := strings.TrimSpace(vars[k]); n != "" {
			return n
		}
	}
	return ""
}

// ContactLabel is ContactName or, without one, the channel and the end of
// the id ("Telegram …123456"), never the internal contact id.
func ContactLabel(c store.Contact, vars map[string]string, address string) string {
	if n := ContactName(c, vars); n != "" {
		return n
	}
	if address == "" && len(c.Identities) > 0 {
		address = c.Identities[0]
	}
	ch, id, _ := strings.Cut(address, ":")
	title := map[string]string{"telegram": "Telegram", "vk": "VK", "web": "Web visitor"}[ch]
	if title == "" {
		title = ch
	}
	if r := []rune(id); len(r) > 6 {
		id = "…" + string(r[len(r)-6:])
	}
	return strings.TrimSpace(title + " " + id)
}

// earlierJSON is one of the contact's tickets on the card.
type earlierJSON struct {
	ID         uint64     `json:"id"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason"`
	Outcome    string     `json:"outcome,omitempty"`
	CSAT       int        `json:"csat,omitempty"`
	AgentID    string     `json:"agent_id,omitempty"`
	Channel    string     `json:"channel"`
	CreatedAt  time.Time  `json:"created_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
}

// apiCard answers who the ticket's customer is: every linked identity and
// the contact's other tickets, newest first, with their outcomes and
// ratings. Agents see their colleagues' tickets of the same customer here
// as a line of history, not their content.
func (s *Service) apiCard(w http.ResponseWriter, r *http.Request) {
	id, ok := ticketID(w, r)
	if !ok {
		return
	}
	t, err := s.Visible(sessionFrom(r).agent, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	c, err := s.st.Contact(t.ContactID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(w, err)
		return
	}
	ts, err := s.ticketsIn(StatusQueued, StatusAssigned, StatusResolved)
	if err != nil {
		s.fail(w, err)
		return
	}
	earlier := []earlierJSON{}
	for _, o := range ts {
		if o.ContactID != t.ContactID || o.ID == t.ID {
			continue
		}
		earlier = append(earlier, earlierJSON{ID: o.ID, Status: o.Status, Reason: o.Reason, Outcome: o.Outcome,
			CSAT: o.CSAT, AgentID: o.AgentID, Channel: channelOf(o.Address), CreatedAt: o.CreatedAt, ResolvedAt: tsPtr(o.ResolvedAt)})
	}
	sort.Slice(earlier, func(i, j int) bool { return earlier[i].CreatedAt.After(earlier[j].CreatedAt) })
	if len(earlier) > 50 {
		earlier = earlier[:50]
	}
	ids := c.Identities
	if ids == nil {
		ids = []string{t.Address}
	}
	profiles := make([]profileJSON, 0, len(ids))
	for _, id := range ids {
		profiles = append(profiles, cardProfile(id, c.Profiles[id]))
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"name": ContactName(c, t.Vars), "label": ContactLabel(c, t.Vars, t.Address),
		"identities": ids, "profiles": profiles, "fields": c.Fields, "tickets": earlier})
}

// profileJSON is one of the customer's channels on the card: what the
// channel says about them (store.Profile) and a link to their profile on
// it, when there is one.
type profileJSON struct {
	Identity string `json:"identity"`
	Name     string `json:"name,omitempty"`
	Username string `json:"username,omitempty"`
	Link     string `json:"link,omitempty"` // https://t.me/<username>, https://vk.com/id<N>
	Page     string `json:"page,omitempty"` // the web page the visitor was on last
	Browser  string `json:"browser,omitempty"`
}

var (
	tgUsername = regexp.MustCompile(`^[A-Za-z0-9_]{3,32}$`)
	digits     = regexp.MustCompile(`^[0-9]{1,20}$`)
)

// cardProfile makes an identity's profile safe to show: links only to the
// channel's own site, built from a checked username or id, and a page only
// when it is an http(s) address.
func cardProfile(identity string, p store.Profile) profileJSON {
	out := profileJSON{Identity: identity, Name: p["name"], Browser: p["browser"]}
	ch, id, _ := strings.Cut(identity, ":")
	switch ch {
	case "telegram":
		if u := strings.TrimPrefix(p["username"], "@"); tgUsername.MatchString(u) {
			out.Username, out.Link = u, "https://t.me/"+u
		}
	case "vk":
		if digits.MatchString(id) {
			out.Link = "https://vk.com/id" + id
		}
	case "web":
		if pg := p["page"]; strings.HasPrefix(pg, "https://") || strings.HasPrefix(pg, "http://") {
			out.Page = pg
		}
	}
	return out
}

// searchHit is a ticket that matches, with the first matching text.
type searchHit struct {
	ticketItem
	Match string `json:"match"`
}

// apiSearch finds the tickets the agent may see whose customer name,
// reason, summary, variables or messages contain q (case-insensitive),
// newest first, at most 50. It reads the histories of at most 500 tickets,
// each contact's once.
func (s *Service) apiSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	if len([]rune(q)) < 2 {
		writeErr(w, http.StatusBadRequest, "search: type at least 2 characters")
		return
	}
	a := sessionFrom(r).agent
	ts, err := s.ticketsIn(StatusQueued, StatusAssigned, StatusResolved)
	if err != nil {
		s.fail(w, err)
		return
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].CreatedAt.After(ts[j].CreatedAt) })
	names := map[string]string{}
	inHistory := map[string]string{} // contact -> the snippet of its history, "" for none
	hits := []searchHit{}
	for i, t := range ts {
		if i == 500 || len(hits) == 50 {
			break
		}
		if !canView(a, t) {
			continue
		}
		c, _ := s.st.Contact(t.ContactID)
		names[t.ContactID] = ContactName(c, t.Vars)
		m := match(q, t, names[t.ContactID])
		if m == "" {
			h, seen := inHistory[t.ContactID]
			if !seen {
				h = s.historyMatch(q, t.ContactID)
				inHistory[t.ContactID] = h
			}
			m = h
		}
		if m != "" {
			hits = append(hits, searchHit{ticketItem: s.item(t, names), Match: m})
		}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"tickets": hits})
}

// match returns the first of the ticket's own texts (customer name, reason,
// summary, variables) that contains q, clipped around it, or "".
func match(q string, t store.Ticket, name string) string {
	texts := []string{name, t.Reason, t.Summary}
	for k, v := range t.Vars {
		texts = append(texts, k+": "+v)
	}
	for _, x := range texts {
		if m := snippet(x, q); m != "" {
			return m
		}
	}
	return ""
}

// historyMatch returns the first message of the contact's history that
// contains q, clipped around it, or "".
func (s *Service) historyMatch(q, contactID string) string {
	msgs, err := s.st.History(contactID, 0, 1000)
	if err != nil {
		return ""
	}
	for _, m := range msgs {
		if sn := snippet(m.Text, q); sn != "" {
			return sn
		}
	}
	return ""
}

// snippet returns about 140 characters of x around the first place that
// contains q (lower case), or "" when x does not contain it.
func snippet(x, q string) string {
	rs, lower := []rune(x), []rune(strings.ToLower(x))
	if len(rs) != len(lower) { // a rare case change that changes the length
		lower = rs
	}
	i := strings.Index(string(lower), q)
	if i < 0 {
		return ""
	}
	at := len([]rune(string(lower)[:i]))
	from, to := max(0, at-40), min(len(rs), at+len([]rune(q))+100)
	out := string(rs[from:to])
	if from > 0 {
		out = "…" + out
	}
	if to < len(rs) {
		out += "…"
	}
	return out
}

// ConsoleLangs are the languages of the console's texts.
var ConsoleLangs = []string{"ru", "en"}

// apiConsoleLang answers the console's language before an agent chose one
// in their browser: the project's default language when the console speaks
// it, else English. Public: the sign-in page needs it.
func (s *Service) apiConsoleLang(w http.ResponseWriter, r *http.Request) {
	lang := "en"
	for _, l := range ConsoleLangs {
		if strings.EqualFold(s.cfg.DefaultLang, l) {
			lang = l
		}
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"lang": lang})
}

var templateVar = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.]+)\s*\}\}`)

// FillReply puts a ticket's values into a saved reply's variables, as the
// console does: {{ contact.name }}, {{ agent.name }}, {{ ticket.id }} and
// {{ vars.NAME }}. A variable without a value stays as written, so the
// agent sees what is missing instead of a silent gap.
func FillReply(text string, t store.Ticket, c store.Contact, a store.Agent) string {
	return templateVar.ReplaceAllStringFunc(text, func(all string) string {
		k := templateVar.FindStringSubmatch(all)[1]
		var v string
		switch {
		case k == "contact.name":
			v = ContactName(c, t.Vars)
		case k == "agent.name":
			v = displayName(a)
		case k == "ticket.id":
			v = strconv.FormatUint(t.ID, 10)
		case strings.HasPrefix(k, "vars."):
			v = t.Vars[strings.TrimPrefix(k, "vars.")]
		}
		if v == "" {
			return all
		}
		return v
	})
}
