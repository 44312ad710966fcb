package bot

import (
	"context"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
)

// openingTimeout bounds the flow engine's run of an opening: the start flow
// may call an HTTP node before its first wait, and a visitor opening the
// chat should see an empty chat rather than wait for a slow endpoint.
const openingTimeout = 3 * time.Second

// Opening is what a new conversation on channel ch shows before the
// customer writes: the start flow's messages up to its first wait (the
// greeting and its buttons), in lang when the project speaks it, else in
// the project's default language. It is what the web chat shows a visitor
// who opens the chat (webchat.Opener). Nothing is stored and no contact is
// made: the conversation begins with the customer's first message, which
// the channel marks channel.Inbound.Greeted so the greeting is not
// repeated. The replies carry no address and no key; long texts are split
// as the channel takes them, like a turn's replies.
func (r *Runtime) Opening(ctx context.Context, ch channel.Name, lang string) []channel.Outbound {
	eng := r.engine.Load()
	if eng == nil || r.stopping.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, openingTimeout)
	defer cancel()
	outs := eng.Opening(ctx, flows.Input{Channel: string(ch), Now: r.now(), Contact: flows.Contact{Lang: lang}})
	var replies []channel.Outbound
	for _, o := range outs {
		if o.Kind != flows.Say {
			continue
		}
		replies = append(replies, r.openingParts(ch, o)...)
	}
	return replies
}

// openingParts is one Say of the opening as the channel takes it: split
// like say splits a turn's replies, the image with the first part and the
// buttons with the last.
func (r *Runtime) openingParts(ch channel.Name, o flows.Output) []channel.Outbound {
	var btns []channel.Button
	for _, b := range o.Buttons {
		btns = append(btns, channel.Button{Text: b.Text, Value: b.Value})
	}
	parts := splitText(o.Text, r.maxText(ch))
	out := make([]channel.Outbound, len(parts))
	for i, p := range parts {
		out[i] = channel.Outbound{Text: p}
		if i == 0 {
			out[i].Image = o.Image
		}
		if i == len(parts)-1 {
			out[i].Buttons = btns
		}
	}
	return out
}
