// Package channel owns the message model shared by the runtime and every
// channel adapter (Telegram, VK, web chat), and the small interfaces through
// which they meet. It is a leaf: it imports nothing of ours.
package channel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Name identifies a channel.
type Name string

// The channels Parley speaks. SMS (an HTTP gateway) and Email are
// outbound only: nothing arrives from them.
const (
	Telegram Name = "telegram"
	VK       Name = "vk"
	Web      Name = "web"
	SMS      Name = "sms"
	Email    Name = "email"
)

// Valid reports whether n is one of the known channels.
func (n Name) Valid() bool {
	return n == Telegram || n == VK || n == Web || n == SMS || n == Email
}

// OutboundOnly reports whether the channel only sends (no customer writes
// from it).
func (n Name) OutboundOnly() bool { return n == SMS || n == Email }

// Address is a customer's identity on one channel: the Telegram chat id, the
// VK peer id or the web chat visitor id. Its string form is "telegram:123".
type Address struct {
	Channel Name
	ID      string
}

func (a Address) String() string { return string(a.Channel) + ":" + a.ID }

// ParseAddress parses the "channel:id" form produced by Address.String.
func ParseAddress(s string) (Address, error) {
	ch, id, ok := strings.Cut(s, ":")
	if !ok || id == "" || !Name(ch).Valid() {
		return Address{}, fmt.Errorf("channel: bad address %q: want telegram:ID, vk:ID, web:ID, sms:PHONE or email:ADDRESS", s)
	}
	return Address{Channel: Name(ch), ID: id}, nil
}

// Attachment is a file, image or sticker the customer sent. An adapter
// gives the channel's reference (URL: a Telegram file id, a VK photo URL);
// the runtime fetches the bytes of the kinds it keeps (FileFetcher), stores
// them and sets URL to FileScheme+id, Kind to "image" or "file", Type and
// Size. Other kinds (location, contact, sticker) stay references.
type Attachment struct {
	Kind string `json:"kind"` // photo, document, audio, voice, sticker, link, ... ; image or file once stored
	URL  string `json:"url,omitempty"`
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"` // content type sniffed from the bytes, once stored
	Size int64  `json:"size,omitempty"` // bytes, once stored
}

// FileScheme prefixes the URL of an attachment Parley stored: "parley:f_…".
const FileScheme = "parley:"

// File is a stored attachment sent to a customer (Outbound.Files).
type File struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // "image" or "file"
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
	Size int64  `json:"size,omitempty"`
	// Data is the file's bytes, filled by the runtime right before Send for
	// the channels that upload them (Telegram, VK); never stored in the outbox.
	Data []byte `json:"-"`
}

// FileFetcher is implemented by channels whose customers' files are
// downloaded through the platform (Telegram getFile, VK attachment URLs).
// FetchFile returns the bytes of a, at most max of them: a larger file is
// an error wrapping ErrFileTooBig. name is the file's name if the platform
// gives one.
type FileFetcher interface {
	FetchFile(ctx context.Context, a Attachment, max int64) (data []byte, name string, err error)
}

// ErrFileTooBig: a customer's file is over the configured size limit.
var ErrFileTooBig = errors.New("file is over the size limit")

// Inbound is one event from a customer, whatever the channel.
type Inbound struct {
	From Address
	// EventID is the channel's own id of the event ("tg:42" for update_id 42,
	// "vk:<event_id>", "web:<client message id>"). The runtime processes an
	// event id once, however often the channel redelivers it.
	EventID     string
	Text        string
	Payload     string // the value of a pressed button, "" for typed text
	Attachments []Attachment
	Name        string // the customer's display name as the channel gives it
	Lang        string // language code the channel reports ("ru", "en"), may be ""
	Ref         string // deep-link parameter (Telegram /start <ref>, VK ref)
	// Profile is what the channel says about the customer now, for the
	// agent's card: "name" and "username" (Telegram), "page" and "browser"
	// (the web chat). The runtime keeps the latest per identity.
	Profile map[string]string `json:",omitempty"`
	At      time.Time
	// Queue asks the handler to record the event and answer it later, for
	// a channel that needs its acknowledgement at once (VK's Callback API
	// wants "ok" within seconds). Otherwise the handler may run the turn
	// before it returns, which costs one durable write instead of two.
	Queue bool `json:"-"`
	// Greeted says the channel showed this customer the conversation's
	// opening (the greeting and its buttons) before this event, without
	// the runtime knowing: the web chat shows it when a new visitor opens
	// the chat, before any contact exists. The runtime passes it to the
	// flow engine (flows.Input.Greeted), which then starts a new
	// conversation without repeating the greeting and answers this first
	// message, typed or a pressed opening button. It is kept with the
	// event in the inbox, so a turn that runs later sees it too.
	Greeted bool `json:",omitempty"`
}

// Button is a choice the bot offers; Value comes back as Inbound.Payload.
type Button struct {
	Text  string `json:"text"`
	Value string `json:"value"`
}

// Outbound is one reply for a customer.
type Outbound struct {
	To Address
	// Key is the stable id of the outbox entry that carries this message.
	// Adapters derive platform idempotency from it (VK random_id), so a retry
	// never posts twice.
	Key     string
	Text    string
	Buttons []Button
	Image   string // URL of an image to show, may be ""
	// Files are stored attachments sent with (or instead of) the text.
	Files []File `json:",omitempty"`
	// Sender is "" when the bot answers, or the display name of the human agent.
	Sender string
	// Unsubscribe is the link that opts the customer out of marketing on
	// this channel, set on messages nobody asked for that are not
	// transactional, for channels without a stop command (e-mail).
	Unsubscribe string `json:",omitempty"`
}

// Handler receives inbound events from an adapter. It returns nil only once
// the event is durably recorded: the adapter acknowledges the event to the
// platform after that and not before.
type Handler interface {
	HandleInbound(ctx context.Context, in Inbound) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, in Inbound) error

// HandleInbound calls f.
func (f HandlerFunc) HandleInbound(ctx context.Context, in Inbound) error { return f(ctx, in) }

// Sender delivers replies on one channel. Send returns nil once the platform
// accepted the message. Errors that say how to retry are *RetryAfterError
// and *PermanentError; any other error is retried with backoff.
type Sender interface {
	Channel() Name
	Send(ctx context.Context, out Outbound) error
}

// HistorySyncer is implemented by channels that show the stored
// conversation whenever a customer connects (the web chat). The runtime
// pushes their replies right after the turn commits instead of through the
// outbox: the committed history is their durable copy, and a reply that
// could not be pushed (no open tab, a dropped connection, a crash right
// after the commit) is shown from it on the next connect. Such a reply's
// Key is its history message's seq (a split part adds "." and the part
// number), the id the history gives it too.
type HistorySyncer interface {
	SyncsHistory()
}

// TypingSender is implemented by channels that can show "typing...".
type TypingSender interface {
	SendTyping(ctx context.Context, to Address) error
}

// RetryAfterError says the platform asked us to wait before the next try
// (Telegram 429 retry_after, VK "too many requests").
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("retry after %s: %v", e.After, e.Err)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// PermanentError says retrying cannot help (the customer blocked the bot,
// the message is malformed): the runtime drops the message and records why.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is or wraps a *PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RetryAfter returns the wait the platform asked for, if err carries one.
func RetryAfter(err error) (time.Duration, bool) {
	var r *RetryAfterError
	if errors.As(err, &r) && r.After > 0 {
		return r.After, true
	}
	return 0, false
}
