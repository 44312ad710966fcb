package handoff

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/store"
)

// Priorities as stored on a ticket.
var priorities = map[string]int{"low": 0, "normal": 1, "high": 2, "urgent": 3}

// PriorityName is the inverse of the priority names a flow writes.
func PriorityName(p int) string {
	for n, v := range priorities {
		if v == p {
			return n
		}
	}
	return strconv.Itoa(p)
}

var reasonRe = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// Limits on what reaches a ticket, so a flow or customer cannot bloat it.
const (
	maxEvidence     = 10
	maxFieldLen     = 2000
	maxSummaryLen   = 600
	maxReplyLen     = 4000
	summaryMessages = 6
)

// Escalate builds the ticket to open for a handoff output of the flow engine
// and the notices to send the customer. It writes nothing: the runtime
// commits Turn{OpenTicket, notices} and then calls Opened. A contact that
// already has an open ticket gets that ticket back with store.ErrTicketOpen.
func (s *Service) Escalate(ctx context.Context, req Request) (store.Ticket, []Notice, error) {
	if err := validateRequest(req); err != nil {
		return store.Ticket{}, nil, err
	}
	if open, ok, err := s.st.OpenTicketFor(req.ContactID); err != nil {
		return store.Ticket{}, nil, fmt.Errorf("handoff: escalate %s: %w", req.ContactID, err)
	} else if ok {
		return open, nil, fmt.Errorf("handoff: contact %s already has ticket %d: %w", req.ContactID, open.ID, store.ErrTicketOpen)
	}
	prio := priorities["normal"]
	if req.Priority != "" {
		prio = priorities[req.Priority]
	}
	last, err := s.st.LastMessages(req.ContactID, summaryMessages)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Ticket{}, nil, fmt.Errorf("handoff: escalate %s: last messages: %w", req.ContactID, err)
	}
	vars := make(map[string]string, len(req.Vars))
	for k, v := range req.Vars {
		vars[k] = clip(v, maxFieldLen)
	}
	var evidence []string
	for _, e := range req.Evidence {
		if len(evidence) < maxEvidence && strings.TrimSpace(e) != "" {
			evidence = append(evidence, clip(e, maxFieldLen))
		}
	}
	t := store.Ticket{
		ContactID:  req.ContactID,
		Address:    req.Address,
		Status:     StatusQueued,
		Reason:     req.Reason,
		Evidence:   evidence,
		Priority:   prio,
		Vars:       vars,
		Summary:    summarize(req, last, s.cfg.DefaultLang, s.lead().VarLabels),
		ResumeNode: req.ResumeNode,
		CreatedAt:  s.now(),
	}
	notices, err := s.queueNotices(req.Lang, t)
	if err != nil {
		return store.Ticket{}, nil, err
	}
	return t, notices, nil
}

func validateRequest(req Request) error {
	var errs []string
	if req.ContactID == "" {
		errs = append(errs, "contact id is empty")
	}
	if _, err := channel.ParseAddress(req.Address); err != nil {
		errs = append(errs, fmt.Sprintf("address %q: want telegram:ID, vk:ID or web:ID", req.Address))
	}
	if !reasonRe.MatchString(req.Reason) {
		errs = append(errs, fmt.Sprintf("reason %q: want a lower-case name like negative, not_understood, requested", req.Reason))
	}
	if _, ok := priorities[req.Priority]; req.Priority != "" && !ok {
		errs = append(errs, fmt.Sprintf("priority %q: want low, normal, high or urgent", req.Priority))
	}
	if len(errs) > 0 {
		return fmt.Errorf("handoff: bad escalation for contact %q: %s: %w", req.ContactID, strings.Join(errs, "; "), ErrBadRequest)
	}
	return nil
}

// summaryWords are the summary's labels in the agents' language (the
// project's default: the console's too).
var summaryWords = map[string][6]string{
	"en": {"Reason: ", " Collected: ", " Last messages: ", "Customer", "Agent", "Bot"},
	"ru": {"Причина: ", " Собрано: ", " Последние сообщения: ", "Клиент", "Оператор", "Бот"},
}

// reasonWords are the summary's words for the reasons bots and flows give,
// as the console's LABELS.reason shows them; another reason stays its code.
var reasonWords = map[string]map[string]string{
	"en": {"requested": "Asked for a person", "negative": "Unhappy", "sentiment": "Unhappy", "complaint": "Complaint",
		"order_number": "Order number not recognised", "bad_number": "Wrong order number", "timeout": "Did not answer in time",
		"fallback": "The bot did not understand", "out_of_scope": "Question the bot cannot answer", "link_code": "Linking accounts"},
	"ru": {"requested": "Попросил оператора", "negative": "Недоволен", "sentiment": "Недоволен", "complaint": "Жалоба",
		"order_number": "Не распознан номер заказа", "bad_number": "Неверный номер заказа", "timeout": "Не ответил вовремя",
		"fallback": "Бот не понял", "out_of_scope": "Вопрос вне компетенции бота", "link_code": "Привязка аккаунтов"},
}

// summarize is the first thing an agent reads: why, what the bot collected
// and the last few messages, so the customer never has to repeat themselves.
func summarize(req Request, last []store.Message, lang string, labels map[string]map[string]string) string {
	w, ok := summaryWords[lang]
	if !ok {
		w = summaryWords["en"]
	}
	var b strings.Builder
	reason := req.Reason
	if words, ok := reasonWords[lang]; ok && words[reason] != "" {
		reason = words[reason]
	} else if words := reasonWords["en"]; !ok && words[reason] != "" {
		reason = words[reason]
	}
	b.WriteString(w[0] + reason)
	if len(req.Evidence) > 0 {
		b.WriteString(" (" + clip(req.Evidence[0], 120) + ")")
	}
	b.WriteString(".")
	if req.Note != "" {
		b.WriteString(" " + clip(req.Note, 200))
	}
	if len(req.Vars) > 0 {
		keys := make([]string, 0, len(req.Vars))
		for k := range req.Vars {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			if l := labels[k][lang]; l != "" { // the project's label (vars:)
				parts[i] = l + ": " + clip(req.Vars[k], 60)
			} else {
				parts[i] = k + "=" + clip(req.Vars[k], 60)
			}
		}
		b.WriteString(w[1] + strings.Join(parts, ", ") + ".")
	}
	var lines []string
	for _, m := range last {
		if strings.TrimSpace(m.Text) == "" {
			continue
		}
		who := w[3]
		switch {
		case m.Dir == "out" && strings.HasPrefix(m.Sender, "agent:"):
			who = w[4]
		case m.Dir == "out":
			who = w[5]
		}
		lines = append(lines, who+": "+clip(m.Text, 100))
	}
	if len(lines) > 0 {
		b.WriteString(w[2] + strings.Join(lines, " / "))
	}
	return clip(b.String(), maxSummaryLen)
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// queueNotices tells the customer what happens next: out of hours, nobody
// online, or their place in the queue with an expected wait.
func (s *Service) queueNotices(lang string, t store.Ticket) ([]Notice, error) {
	tx := s.texts(lang)
	now := s.now()
	if !s.lead().Hours.Open(now) {
		return []Notice{{Text: expand(tx.OutOfHours, "{opens}", s.opens(tx, now))}}, nil
	}
	q, err := s.queueView()
	if err != nil {
		return nil, err
	}
	if q.online == 0 {
		return []Notice{{Text: tx.NoAgent}}, nil
	}
	pos := q.position(t)
	p := strconv.Itoa(pos)
	mins := q.minutes(pos)
	if mins == 0 {
		return []Notice{{Text: expand(tx.QueuedNoEstimate, "{position}", p)}}, nil
	}
	wait := expand(tx.Minutes, "{n}", strconv.Itoa(mins))
	return []Notice{{Text: expand(tx.Queued, "{position}", p, "{wait}", wait)}}, nil
}

// opens renders when the team is back ("tomorrow at 09:00").
func (s *Service) opens(tx Texts, now time.Time) string {
	next, ok := s.lead().Hours.NextOpen(now)
	if !ok {
		return "?"
	}
	loc := s.lead().Hours.Location()
	ln := now.In(loc)
	hm := next.Format("15:04")
	today := time.Date(ln.Year(), ln.Month(), ln.Day(), 0, 0, 0, 0, loc)
	switch {
	case next.Before(today.AddDate(0, 0, 1)):
		return expand(tx.OpensToday, "{time}", hm)
	case next.Before(today.AddDate(0, 0, 2)):
		return expand(tx.OpensTomorrow, "{time}", hm)
	default:
		return expand(tx.OpensOn, "{time}", hm, "{date}", next.Format("02.01"))
	}
}

// Opened is called by the runtime once the ticket from Escalate is
// committed: it records the event, updates live consoles and, with
// auto-assignment on, hands the queue out.
func (s *Service) Opened(ctx context.Context, t store.Ticket) {
	s.logEvents(ctx, s.event(t, "ticket.queued", "reason", t.Reason, "priority", PriorityName(t.Priority)))
	s.hub.publish(liveEvent{Type: "ticket", TicketID: t.ID, Status: t.Status})
	s.autoAssign(ctx)
}

// CustomerMessage is called by the runtime after it committed a customer
// message that Route gave to a ticket; consoles showing it refresh live.
func (s *Service) CustomerMessage(ctx context.Context, t store.Ticket, m store.Message) {
	s.hub.publish(liveEvent{Type: "message", TicketID: t.ID, Status: t.Status, AgentID: t.AgentID, From: "customer"})
	if t.Status == StatusQueued {
		s.autoAssign(ctx) // a reopened ticket re-enters the queue
	}
}

// Route decides, before the flow engine runs, who handles a customer's
// message: an open ticket keeps the bot silent; the answer to a CSAT
// question is recorded; a message within the reopen window after a ticket
// that ended reopens it; anything else goes to the bot.
func (s *Service) Route(ctx context.Context, contactID, text, payload string) (Decision, error) {
	ts, err := s.st.TicketStateFor(contactID)
	if err != nil {
		return Decision{}, fmt.Errorf("handoff: route %s: %w", contactID, err)
	}
	if ts.HasOpen {
		return Decision{Owner: OwnerTicket, Ticket: ts.Open}, nil
	}
	last := ts.Last
	if !ts.HasLast || last.Status != StatusResolved {
		return Decision{Owner: OwnerBot}, nil
	}
	now := s.now()
	within := s.cfg.ReopenWindow > 0 && now.Sub(last.ResolvedAt) <= s.cfg.ReopenWindow
	switch {
	case last.Outcome == OutcomeCSAT && last.CSAT == 0:
		return s.routeCSAT(contactID, last, text, payload, within)
	case last.Outcome == OutcomeEnd && within:
		return s.routeReopen(contactID, last)
	case last.Outcome == OutcomeEnd:
		// The conversation ended without handing back to the bot; the flow
		// session may still be parked in the handoff. Resuming a flow that
		// is not in a handoff does nothing, so this is safe to repeat.
		return Decision{Owner: OwnerBot, Ticket: last, Resume: true}, nil
	}
	return Decision{Owner: OwnerBot}, nil
}

func (s *Service) routeCSAT(contactID string, t store.Ticket, text, payload string, within bool) (Decision, error) {
	score, comment, valid := parseCSAT(text, payload)
	if !within {
		valid = false // an answer days later is a new conversation, not a rating
	}
	// Not a rating: the customer moved on, so the ticket's outcome becomes
	// "bot" (CSAT stays 0) and the message goes to the resumed bot; the
	// event log keeps that the question was asked and skipped.
	change := &store.TicketChange{ID: t.ID, Fn: func(x *store.Ticket) error {
		if x.Status != StatusResolved || x.Outcome != OutcomeCSAT || x.CSAT != 0 {
			return nil // already recorded: never fail the customer's message over it
		}
		if valid {
			x.CSAT = score
		} else {
			x.Outcome = OutcomeBot
		}
		return nil
	}}
	if !valid {
		t.Outcome = OutcomeBot
		return Decision{Owner: OwnerBot, Ticket: t, Change: change, Resume: true,
			Events: []store.Event{s.event(t, "ticket.csat_skipped")}}, nil
	}
	t.CSAT = score
	tx := s.texts(s.contactLang(contactID))
	ev := s.event(t, "ticket.csat", "score", strconv.Itoa(score))
	if comment != "" {
		ev.Data["comment"] = comment // erased by forget like other customer text
	}
	return Decision{Owner: OwnerCSAT, Ticket: t, Change: change, Resume: true,
		Notices: []Notice{{Text: tx.CSATThanks}},
		Events:  []store.Event{ev}}, nil
}

// parseCSAT accepts the button payload "csat:N", a bare digit 1..5 ("4",
// "4/5", "4.") or 1..5 stars, optionally followed by a comment after a
// punctuation mark ("4 — быстро и вежливо", "5, спасибо!", "⭐⭐⭐⭐ всё хорошо").
// A digit followed by words without punctuation ("3 дня жду") is not a
// rating: it reads as a new message.
func parseCSAT(text, payload string) (score int, comment string, ok bool) {
	if v, ok := strings.CutPrefix(payload, "csat:"); ok {
		text = v
	}
	text = strings.TrimSpace(text)
	if n := strings.Count(text, "⭐"); n > 0 && strings.HasPrefix(text, "⭐") {
		rest := strings.TrimLeft(text, "⭐ ")
		return n, csatComment(rest), n <= 5
	}
	if text == "" || text[0] < '1' || text[0] > '5' {
		return 0, "", false
	}
	score, rest := int(text[0]-'0'), text[1:]
	rest = strings.TrimPrefix(strings.TrimPrefix(rest, "/5"), "/ 5")
	if rest == "" || rest == "." || rest == "!" {
		return score, "", true
	}
	r, _ := utf8.DecodeRuneInString(strings.TrimLeft(rest, " "))
	switch r {
	case ',', '.', '!', ')', ':', ';', '-', '–', '—':
		return score, csatComment(strings.TrimLeft(rest, " ")[utf8.RuneLen(r):]), true
	}
	return 0, "", false
}

// maxCSATComment bounds the comment kept with a rating, in runes.
const maxCSATComment = 500

func csatComment(s string) string {
	s = strings.TrimSpace(strings.TrimLeft(s, " ,.!):;-–—"))
	if r := []rune(s); len(r) > maxCSATComment {
		s = string(r[:maxCSATComment])
	}
	return s
}

func (s *Service) routeReopen(contactID string, t store.Ticket) (Decision, error) {
	now := s.now()
	// Back to the same agent if they are still at work: they know the case.
	agent := ""
	if t.AgentID != "" && s.presence.isOnline(t.AgentID) {
		agent = t.AgentID
	}
	change := &store.TicketChange{ID: t.ID, Fn: func(x *store.Ticket) error {
		if x.Status != StatusResolved {
			return nil // already open again: the message simply joins it
		}
		x.Status, x.AgentID = StatusQueued, ""
		if agent != "" {
			x.Status, x.AgentID, x.AssignedAt = StatusAssigned, agent, now
		}
		x.ReopenedAt, x.ResolvedAt, x.Outcome = now, time.Time{}, ""
		return nil
	}}
	t.Status, t.AgentID, t.ReopenedAt, t.ResolvedAt, t.Outcome = StatusQueued, "", now, time.Time{}, ""
	if agent != "" {
		t.Status, t.AgentID, t.AssignedAt = StatusAssigned, agent, now
	}
	tx := s.texts(s.contactLang(contactID))
	return Decision{Owner: OwnerTicket, Ticket: t, Change: change,
		Notices: []Notice{{Text: tx.Reopened}},
		Events:  []store.Event{s.event(t, "ticket.reopened", "agent", agent)}}, nil
}

func (s *Service) contactLang(contactID string) string {
	c, err := s.st.Contact(contactID)
	if err != nil {
		return ""
	}
	return c.Lang
}

// maxWaitSamples is how many recent queue waits the estimate averages.
const maxWaitSamples = 50

// noteWait remembers how long a ticket waited before its first agent.
func (s *Service) noteWait(t store.Ticket) {
	if t.AssignedAt.Before(queuedAt(t)) {
		return
	}
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	s.waits = append(s.waits, waitSample{t.ID, t.AssignedAt.Sub(queuedAt(t)), t.AssignedAt})
	if len(s.waits) > maxWaitSamples {
		s.waits = s.waits[len(s.waits)-maxWaitSamples:]
	}
}

// recentWaits returns the waits of tickets assigned within the last day,
// by ticket id.
func (s *Service) recentWaits() map[uint64]time.Duration {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	out := map[uint64]time.Duration{}
	now := s.now()
	for _, w := range s.waits {
		if now.Sub(w.at) < 24*time.Hour {
			out[w.id] = w.wait
		}
	}
	return out
}

type waitSample struct {
	id   uint64
	wait time.Duration
	at   time.Time
}

// queuedAt is when the ticket last entered the queue: opened or reopened.
func queuedAt(t store.Ticket) time.Time {
	if t.ReopenedAt.After(t.CreatedAt) {
		return t.ReopenedAt
	}
	return t.CreatedAt
}
