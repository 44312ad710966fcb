package bot

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
)

// openingTimeout bounds the flow engine's run of an opening: the start flow
// may call an HTTP node before its first wait, and a visitor opening the
// chat should see an empty chat rather than wait for a slow endpoint.
const openingTimeout = 3 * time.Second

// openingTTL is how long an opening is reused. A widget reconnects (every
// page of a shop is a new connection), and every new visitor opens the
// chat: without it each would run the start flow, and an HTTP node in it,
// which a client reconnecting in a loop could turn into a flood of calls
// to the shop's own services. Short, so a greeting that reads the time is
// at most this old.
const openingTTL = 10 * time.Second

// openings keeps the openings recently shown, per channel and language
// (the project's languages only, so the map stays that small).
type openings struct {
	mu  sync.Mutex
	eng *flows.Engine // the entries' engine: a flow reload starts afresh
	m   map[openingKey]opening
}

type openingKey struct {
	ch   channel.Name
	lang string
}

type opening struct {
	at   time.Time
	outs []channel.Outbound
}

func (o *openings) get(eng *flows.Engine, k openingKey, now time.Time) ([]channel.Outbound, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.m[k]
	if !ok || o.eng != eng || now.Sub(e.at) >= openingTTL || now.Before(e.at) {
		return nil, false
	}
	return e.outs, true
}

func (o *openings) put(eng *flows.Engine, k openingKey, now time.Time, outs []channel.Outbound) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.eng != eng || o.m == nil {
		o.eng, o.m = eng, make(map[openingKey]opening)
	}
	o.m[k] = opening{at: now, outs: outs}
}

// projectLang is lang ("en", "en-GB") when the project speaks it, else
// the project's default: the language the opening is in, and its key.
func projectLang(p *flows.Project, lang string) string {
	if p == nil {
		return ""
	}
	l, _, _ := strings.Cut(strings.ToLower(lang), "-")
	if slices.Contains(p.Languages, l) {
		return l
	}
	return p.DefaultLang
}

// Opening is what a new conversation on channel ch shows before the
// customer writes: the start flow's messages up to its first wait (the
// greeting and its buttons), in lang when the project speaks it, else in
// the project's default language. It is what the web chat shows a visitor
// who opens the chat (webchat.Opener). Nothing is stored and no contact is
// made: the conversation begins with the customer's first message, which
// the channel marks channel.Inbound.Greeted so the greeting is not
// repeated. The replies carry no address and no key; long texts are split
// as the channel takes them, like a turn's replies. The same opening is
// shown for openingTTL (callers must not modify it).
func (r *Runtime) Opening(ctx context.Context, ch channel.Name, lang string) []channel.Outbound {
	eng := r.engine.Load()
	if eng == nil || r.stopping.Load() {
		return nil
	}
	now := r.now()
	key := openingKey{ch: ch, lang: projectLang(eng.Project(), lang)}
	if outs, ok := r.opening.get(eng, key, now); ok {
		return outs
	}
	ctx, cancel := context.WithTimeout(ctx, openingTimeout)
	defer cancel()
	outs := eng.Opening(ctx, flows.Input{Channel: string(ch), Now: now, Contact: flows.Contact{Lang: key.lang}})
	var replies []channel.Outbound
	for _, o := range outs {
		if o.Kind != flows.Say {
			continue
		}
		replies = append(replies, r.openingParts(ch, o)...)
	}
	if ctx.Err() == nil {
		// Not an opening cut short by the timeout: keep it.
		r.opening.put(eng, key, now, replies)
	}
	return replies
}

// openingParts is one Say of the opening as the channel takes it, split
// like a turn's replies (replyParts).
func (r *Runtime) openingParts(ch channel.Name, o flows.Output) []channel.Outbound {
	var btns []channel.Button
	for _, b := range o.Buttons {
		btns = append(btns, channel.Button{Text: b.Text, Value: b.Value})
	}
	return replyParts(o.Text, btns, o.Image, r.maxText(ch))
}
