package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
)

// Linking a customer's channels (docs/contacts.md). In any channel the
// customer asks for a code — "/link", "link code", "код для связи", or a
// button whose value is LinkPayload — and sends it from another channel
// within LinkConfig.TTL; the two contacts become one (store.LinkByCode
// decides which survives and merges them in the same transaction as the
// turn that answers). A Telegram deep link (/start link_...) or a VK ref
// carries a longer token the same way, so nobody types. The flow engine
// never sees these messages. A flow offers a code with a link node: the
// engine outputs flows.LinkCode and offerLink issues the code the same way
// inside the engine's turn.

// LinkPayload is the button value that asks for a link code; a flow offers
// it like any button: {text: "Link my accounts", value: "parley:link"}.
const LinkPayload = "parley:link"

// LinkConfig tunes linking. The zero value links with the defaults.
type LinkConfig struct {
	// Disabled turns the built-in command and code recognition off.
	Disabled bool
	// TTL is how long a code stays valid (default 10 minutes).
	TTL time.Duration
	// MaxAttempts is how many wrong codes a contact may send per Window
	// (defaults 5 per 15 minutes); then every code is refused until the
	// window passes.
	MaxAttempts int
	Window      time.Duration
	// TelegramBot (the bot's username) and VKGroup (the community's short
	// name or id), when set, add a deep link to the code message:
	// https://t.me/<bot>?start=<token>, https://vk.me/<group>?ref=<token>.
	TelegramBot string
	VKGroup     string
}

func (c LinkConfig) withDefaults() LinkConfig {
	if c.TTL <= 0 {
		c.TTL = 10 * time.Minute
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.Window <= 0 {
		c.Window = 15 * time.Minute
	}
	return c
}

// linkStore is what linking needs beyond Store; *store.DB has it. A store
// without it (a test double) simply has no linking.
type linkStore interface {
	IssueLinkCode(ctx context.Context, contactID, kind string, ttl time.Duration) (store.LinkCode, error)
	LookupLinkCode(code, by string) (store.LinkCode, error)
	LinkAttempts(contactID string, window time.Duration) (int, error)
	LinkFailed(ctx context.Context, contactID string, window time.Duration) (int, error)
	LinkByCode(ctx context.Context, req store.LinkRequest) (store.LinkResult, error)
}

// linkCommands are the typed forms of the request for a code, normalised
// (lower case, no trailing punctuation).
var linkCommands = map[string]bool{
	"/link": true, "link": true, "link code": true, "link my accounts": true,
	"код для связи": true, "код связи": true, "связать аккаунты": true,
}

// isLinkRequest reports whether the customer asks for a link code.
func isLinkRequest(in channel.Inbound) bool {
	if in.Payload != "" {
		return in.Payload == LinkPayload
	}
	t := strings.ToLower(strings.TrimSpace(in.Text))
	t = strings.TrimRight(t, ".!?")
	if cmd, _, ok := strings.Cut(t, "@"); ok && strings.HasPrefix(cmd, "/") {
		t = cmd // "/link@ParleyBot" in Telegram groups
	}
	return linkCommands[strings.ReplaceAll(t, "ё", "е")]
}

// linkCodeIn returns the code or token a message presents, if any: a deep
// link's ref, "/link CODE", or a message that is only a code.
func linkCodeIn(in channel.Inbound) (string, bool) {
	if in.Ref != "" {
		if c, ok := store.ParseLinkCode(in.Ref); ok {
			return c, true
		}
	}
	if in.Payload != "" {
		return "", false
	}
	t := strings.TrimSpace(in.Text)
	if rest, ok := strings.CutPrefix(strings.ToLower(t), "/link "); ok {
		t = rest
	}
	return store.ParseLinkCode(t)
}

// handleLink runs a link request or a presented code as the whole turn of
// an inbox entry; handled is false for every other message.
// A flooded message (over the contact's rate) is left to the ordinary
// turn, which records it without answering.
func (r *Runtime) handleLink(ctx context.Context, c store.Contact, st flows.State, j job, in channel.Inbound) (handled bool, err error) {
	ls, ok := r.db.(linkStore)
	if !ok || r.cfg.Link.Disabled || j.item.Flooded {
		return false, nil
	}
	seq := j.seq
	if isLinkRequest(in) {
		return true, r.issueLink(ctx, ls, c, st, seq, in)
	}
	if code, ok := linkCodeIn(in); ok {
		return r.redeemLink(ctx, ls, c, st, seq, in, code)
	}
	return false, nil
}

// mayAnswerFlow reports whether a code-shaped message could be the answer
// to the question the flow waits on (an order number such as "AB234567"):
// typed without the dash the codes are shown with, not after /link, not
// from a deep link. Such a message links when it is a live code; otherwise
// it goes to the flow instead of being refused as a wrong code, or the
// customer could never give that answer.
func mayAnswerFlow(st flows.State, in channel.Inbound) bool {
	t := strings.ToLower(strings.TrimSpace(in.Text))
	return st.Waiting && !st.InHandoff && in.Ref == "" && !strings.Contains(t, "-") && !strings.HasPrefix(t, "/link")
}

// isLinkCode reports whether a message presents a link code; such messages
// always go through the inbox, since redeeming one merges contacts.
func isLinkCode(in channel.Inbound) bool {
	_, ok := linkCodeIn(in)
	return ok
}

// linkTurn starts a turn for a link message: the customer's message is
// kept in the history (a code is masked: it is a credential until used).
func (r *Runtime) linkTurn(c store.Contact, seq uint64, in channel.Inbound, code string) *turnState {
	ts := &turnState{turn: store.Turn{ContactID: c.ID, InboxSeq: seq}, contact: c, addr: in.From, inEvent: -1}
	m := inboundMessage(c.ID, in)
	if code != "" {
		m.Text = codeIn(code).ReplaceAllLiteralString(m.Text, maskCode(code))
	}
	ts.turn.Messages = append(ts.turn.Messages, m)
	return ts
}

// codeIn matches code as customers type it: in any case, and a dashed
// code also without its dash.
func codeIn(code string) *regexp.Regexp {
	pat := regexp.QuoteMeta(code)
	if a, b, ok := strings.Cut(code, "-"); ok {
		pat = regexp.QuoteMeta(a) + "-?" + regexp.QuoteMeta(b)
	}
	return regexp.MustCompile("(?i)" + pat) // quoted: always compiles
}

func maskCode(code string) string {
	if strings.HasPrefix(code, "link_") {
		return "link_…"
	}
	return "••••-••••"
}

func (r *Runtime) event(ts *turnState, typ string, data map[string]string) {
	ts.turn.Events = append(ts.turn.Events, store.Event{At: r.now(), ContactID: ts.turn.ContactID, Type: typ, Data: data})
}

func (r *Runtime) issueLink(ctx context.Context, ls linkStore, c store.Contact, st flows.State, seq uint64, in channel.Inbound) error {
	ts := r.linkTurn(c, seq, in, "")
	req := flows.DefaultLinkRequest(linkLang(c, st))
	text, codes, err := r.linkMessage(ctx, ls, c.ID, in.From.Channel, req)
	if err != nil {
		return err
	}
	r.sayMasked(ts, text, codes)
	r.event(ts, "link_requested", map[string]string{"channel": string(in.From.Channel)})
	return r.commit(ctx, ts)
}

// offerLink answers a flow's link node (a flows.LinkCode output) inside the
// engine's turn: it issues a code as the built-in command does and says
// the node's text with it, in order among the turn's other replies (the
// flow has gone on at the node's next). o.Text becomes the message sent, so
// observers (`parley chat`) show it. Where linking is off, the customer is
// told so instead of getting a message without a code.
func (r *Runtime) offerLink(ctx context.Context, ts *turnState, o *flows.Output) error {
	ls, ok := r.db.(linkStore)
	if !ok || r.cfg.Link.Disabled || o.Link == nil {
		o.Text = "Связать каналы сейчас не получится."
		if o.Link != nil && o.Link.Lang != "ru" {
			o.Text = "Linking channels is not available right now."
		}
		r.say(ts, o.Text, nil, "", "", "")
		r.event(ts, "link_failed", map[string]string{"channel": string(ts.addr.Channel), "reason": "disabled"})
		return nil
	}
	text, codes, err := r.linkMessage(ctx, ls, ts.turn.ContactID, ts.addr.Channel, o.Link)
	if err != nil {
		return err
	}
	o.Text = text
	r.sayMasked(ts, text, codes)
	r.event(ts, "link_requested", map[string]string{"channel": string(ts.addr.Channel), "via": "flow"})
	return nil
}

// linkMessage issues a link code for the contact (and a deep-link token
// when deep links into channels other than from are configured) and
// returns req's text filled with it, deep links appended, and the codes,
// which the history must not keep.
func (r *Runtime) linkMessage(ctx context.Context, ls linkStore, contactID string, from channel.Name, req *flows.LinkRequest) (string, []string, error) {
	cfg := r.cfg.Link.withDefaults()
	lc, err := ls.IssueLinkCode(ctx, contactID, store.LinkKindCode, cfg.TTL)
	if err != nil {
		return "", nil, fmt.Errorf("issue link code: %w", err)
	}
	codes := []string{lc.Code}
	// Deep links into the channels other than this one, when configured.
	var links []string
	if cfg.TelegramBot != "" && from != channel.Telegram {
		links = append(links, "https://t.me/"+cfg.TelegramBot+"?start=")
	}
	if cfg.VKGroup != "" && from != channel.VK {
		links = append(links, "https://vk.me/"+cfg.VKGroup+"?ref=")
	}
	var b strings.Builder
	b.WriteString(req.Fill(lc.Code, cfg.TTL, lc.ExpiresAt))
	if len(links) > 0 {
		tok, err := ls.IssueLinkCode(ctx, contactID, store.LinkKindToken, cfg.TTL)
		if err != nil {
			return "", nil, fmt.Errorf("issue link token: %w", err)
		}
		codes = append(codes, tok.Code)
		if req.Lang == "ru" {
			b.WriteString("\nИли просто откройте:")
		} else {
			b.WriteString("\nOr just open:")
		}
		for _, l := range links {
			b.WriteString("\n" + l + tok.Code)
		}
	}
	return b.String(), codes, nil
}

// sayMasked says text and keeps it in the history with the codes masked:
// a code is a credential until it is used.
func (r *Runtime) sayMasked(ts *turnState, text string, codes []string) {
	r.say(ts, text, nil, "", "", "")
	m := &ts.turn.Messages[len(ts.turn.Messages)-1]
	for _, c := range codes {
		m.Text = strings.ReplaceAll(m.Text, c, maskCode(c))
	}
}

// redeemLink links the contact with the owner of a presented code. handled
// is false when the message goes to the flow after all (mayAnswerFlow).
func (r *Runtime) redeemLink(ctx context.Context, ls linkStore, c store.Contact, st flows.State, seq uint64, in channel.Inbound, code string) (handled bool, err error) {
	cfg := r.cfg.Link.withDefaults()
	en := linkLang(c, st) == "en"
	answer := mayAnswerFlow(st, in)
	n, err := ls.LinkAttempts(c.ID, cfg.Window)
	if err != nil {
		return true, err
	}
	if n >= cfg.MaxAttempts {
		if answer {
			return false, nil // no code is tried: guessing stays blocked
		}
		return true, r.linkRefused(ctx, c, seq, in, code, "limit", en, false)
	}
	owner, err := ls.LookupLinkCode(code, c.ID)
	if err != nil {
		if !errors.Is(err, store.ErrLinkCode) {
			return true, err
		}
		reason := refusalReason(owner, c, r.now())
		if reason == "unknown" && answer {
			// Still an attempt, so an answer cannot be used to guess.
			if _, err := ls.LinkFailed(ctx, c.ID, cfg.Window); err != nil {
				return true, err
			}
			return false, nil
		}
		return true, r.linkRefused(ctx, c, seq, in, code, reason, en, true)
	}
	// Replies go to the channel the code came from and to the one that
	// asked for it; the store re-owns them for the surviving contact.
	ts := r.linkTurn(c, seq, in, code)
	other, err := r.replyAddress(owner.ContactID)
	if err != nil {
		return true, err
	}
	done := "Готово! Мы связали ваши каналы: теперь это одна переписка, и повторять ничего не нужно."
	if en {
		done = "Done! Your channels are linked: it is one conversation now, no need to repeat anything."
	}
	r.say(ts, done, nil, "", "", "")
	if other != in.From {
		ts.addr = other
		r.say(ts, done, nil, "", "", "")
		ts.addr = in.From
	}
	r.event(ts, "contact_linked", map[string]string{"channel": string(in.From.Channel), "to_channel": string(other.Channel)})
	// No event is recorded while the contacts merge: one recorded for the
	// absorbed contact before the merge moves with it and is queued below,
	// ahead of any recorded after it for the survivor.
	r.linkMu.Lock()
	defer r.linkMu.Unlock()
	res, err := ls.LinkByCode(ctx, store.LinkRequest{
		Code: code, By: c.ID, MaxAttempts: cfg.MaxAttempts, Window: cfg.Window,
		Turn: ts.turn, Session: mergeSessions,
	})
	switch {
	case errors.Is(err, store.ErrLinkCode), errors.Is(err, store.ErrLinkLimit):
		// Used or expired between the lookup and now.
		return true, r.linkRefused(ctx, c, seq, in, code, "unknown", en, true)
	case errors.Is(err, store.ErrTicketOpen):
		return true, r.linkRefused(ctx, c, seq, in, code, "tickets", en, false)
	case err != nil:
		return true, fmt.Errorf("link contacts: %w", err)
	}
	r.log.Info().Str("contact", res.Contact.ID).Str("absorbed", res.Absorbed).Uint64("merge", res.Record.ID).Msg("contacts linked")
	entries := make([]store.OutboxEntry, len(ts.turn.Outbox))
	for i, e := range ts.turn.Outbox {
		e.ContactID = res.Contact.ID
		if i < len(res.Turn.OutboxIDs) {
			e.ID = res.Turn.OutboxIDs[i]
		}
		entries[i] = e
	}
	r.outbox.push(entries...)
	r.pushDirect(ts.sendCtx, ts.direct, res.Turn.MessageSeqs)
	// The absorbed contact's queued messages are the survivor's now: they
	// run in its lane (the absorbed lane finds its contact gone and drops
	// them, see runJob).
	for _, e := range res.Moved {
		if e.Seq == seq {
			continue
		}
		var item inboxItem
		if err := json.Unmarshal(e.Data, &item); err != nil {
			r.log.Error().Err(err).Uint64("inbox_seq", e.Seq).Msg("undecodable inbox entry left in place")
			continue
		}
		r.turns.push(res.Contact.ID, job{seq: e.Seq, item: item})
	}
	if next, err := r.loadState(res.Contact.ID); err == nil {
		r.scheduleTimeout(res.Contact.ID, next)
	}
	return true, nil
}

// refusalReason names why a code was refused, for the event log.
func refusalReason(lc store.LinkCode, c store.Contact, now time.Time) string {
	switch {
	case lc.ContactID == "":
		return "unknown"
	case lc.ContactID == c.ID:
		return "own"
	case !lc.ExpiresAt.After(now):
		return "expired"
	}
	return "unknown"
}

// linkRefused answers a code that does not link: nothing changes but the
// history, a "link_failed" event and (count) the attempt counter.
func (r *Runtime) linkRefused(ctx context.Context, c store.Contact, seq uint64, in channel.Inbound, code, reason string, en, count bool) error {
	cfg := r.cfg.Link.withDefaults()
	if count {
		if ls, ok := r.db.(linkStore); ok {
			if _, err := ls.LinkFailed(ctx, c.ID, cfg.Window); err != nil {
				return err
			}
		}
	}
	// A refused code may still be live (the chat's own, or refused over
	// the attempt limit or open tickets): it is masked like a used one.
	ts := r.linkTurn(c, seq, in, code)
	var text string
	switch {
	case reason == "limit" && en:
		text = fmt.Sprintf("Too many wrong codes. Please try again in %d min.", int(cfg.Window/time.Minute))
	case reason == "limit":
		text = fmt.Sprintf("Слишком много неверных кодов. Попробуйте снова через %d мин.", int(cfg.Window/time.Minute))
	case reason == "tickets" && en:
		text = "We cannot link the channels right now: both have a request an operator is working on. Please try again once one of them is resolved."
	case reason == "tickets":
		text = "Сейчас не получится связать каналы: в обоих открыты обращения к оператору. Попробуйте снова, когда одно из них будет решено."
	case reason == "own" && en:
		text = "This is the code for this chat. Send it from your other channel (Telegram, VK or the website chat)."
	case reason == "own":
		text = "Это код этого же чата. Отправьте его из другого канала (Telegram, VK или чат на сайте)."
	case en:
		text = "This code is wrong or has expired. Ask for a new one with /link in the channel you want to link."
	default:
		text = "Код неверный или устарел. Получите новый командой /link в том канале, который хотите связать."
	}
	r.say(ts, text, nil, "", "", "")
	r.event(ts, "link_failed", map[string]string{"channel": string(in.From.Channel), "reason": reason})
	return r.commit(ctx, ts)
}

// linkLang is the language link messages are written in.
func linkLang(c store.Contact, st flows.State) string {
	if st.Lang != "" {
		return st.Lang
	}
	if strings.HasPrefix(c.Lang, "en") {
		return "en"
	}
	return "ru"
}

// mergeSessions is the session rule of a link (docs/contacts.md): the
// survivor's conversation goes on where it was, and it learns the
// variables it lacks from the absorbed contact's session. It is pure: the
// store may call it more than once.
func mergeSessions(into, from []byte) ([]byte, error) {
	if len(from) == 0 {
		return into, nil
	}
	if len(into) == 0 {
		return from, nil
	}
	var a, b flows.State
	if err := json.Unmarshal(into, &a); err != nil {
		return from, nil // an unreadable session would be reset anyway
	}
	if err := json.Unmarshal(from, &b); err != nil {
		return into, nil
	}
	if len(b.Vars) == 0 {
		return into, nil
	}
	vars := maps.Clone(b.Vars)
	maps.Copy(vars, a.Vars)
	a.Vars = vars
	if a.Lang == "" {
		a.Lang = b.Lang
	}
	return json.Marshal(a)
}

// flowLinkPayloads are the button values with which a flow offers a link
// code: a branch case `payload == "X"` that goes straight to a link node
// (the demo's "Link another chat", link_chat). They are read from the
// project's graph once per engine.
type flowLinkPayloads struct {
	eng *flows.Engine
	set map[string]bool
}

// linkCaseRE matches a branch condition that tests for one payload.
var linkCaseRE = regexp.MustCompile(`^\s*payload\s*==\s*(?:"([^"]+)"|'([^']+)')\s*$`)

func linkPayloadsOf(eng *flows.Engine) map[string]bool {
	p := eng.Project()
	kinds := map[string]string{} // "flow.node" -> kind
	var graphs []flows.FlowGraph
	for _, name := range p.Flows() {
		g, ok := p.Graph(name)
		if !ok {
			continue
		}
		graphs = append(graphs, g)
		for _, n := range g.Nodes {
			kinds[name+"."+n.ID] = n.Kind
		}
	}
	set := map[string]bool{}
	for _, g := range graphs {
		for _, e := range g.Edges {
			to := e.To
			if !strings.Contains(to, ".") {
				to = g.Flow + "." + to
			}
			m := linkCaseRE.FindStringSubmatch(e.Label)
			if m == nil || kinds[to] != "link" {
				continue
			}
			set[m[1]+m[2]] = true
		}
	}
	return set
}

// isFlowLinkPayload reports whether payload is one with which the current
// flow offers a link code (flowLinkPayloads).
func (r *Runtime) isFlowLinkPayload(eng *flows.Engine, payload string) bool {
	if payload == "" || eng == nil {
		return false
	}
	cur := r.linkPayloads.Load()
	if cur == nil || cur.eng != eng {
		cur = &flowLinkPayloads{eng: eng, set: linkPayloadsOf(eng)}
		r.linkPayloads.Store(cur)
	}
	return cur.set[payload]
}

// linkDuringHandoff answers a flow's link button pressed while a person
// owns the conversation: the queue would hand the tap to the agent and the
// flow stays parked, so the customer got no code. Linking is not a message
// for the agent: the runtime issues the code as for /link, in this turn
// (the tap stays in the history; the agent is not notified). It reports
// false when linking is off, and the tap goes to the agent as before.
func (r *Runtime) linkDuringHandoff(ctx context.Context, ts *turnState, st flows.State) (bool, error) {
	ls, ok := r.db.(linkStore)
	if !ok || r.cfg.Link.Disabled {
		return false, nil
	}
	req := flows.DefaultLinkRequest(linkLang(ts.contact, st))
	text, codes, err := r.linkMessage(ctx, ls, ts.turn.ContactID, ts.addr.Channel, req)
	if err != nil {
		return true, err
	}
	r.sayMasked(ts, text, codes)
	r.event(ts, "link_requested", map[string]string{"channel": string(ts.addr.Channel), "via": "handoff"})
	return true, nil
}
