// Package telegram owns Parley's Telegram channel: it receives updates by long
// polling or by webhook, turns them into channel.Inbound events, acknowledges
// them to Telegram only after the runtime recorded them, and sends replies
// (text, inline keyboards, photos) within Telegram's rate limits.
//
// The Bot API is reached through github.com/go-telegram-bot-api/telegram-bot-api/v5
// for its types and request building, with a context-aware HTTP client of our
// own and a poll loop of our own: the library's GetUpdatesChan has no context,
// ignores retry_after and spins on 409 (see ../../../shared/DEPENDENCIES.md).
//
// The bot token is a password: it appears in every request URL, so every error
// this package returns or logs has it redacted.
package telegram

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// Modes of receiving updates.
const (
	ModePoll    = "poll"
	ModeWebhook = "webhook"
)

// SecretHeader is the header Telegram sends with every webhook request; its
// value is the secret_token given to setWebhook.
// https://core.telegram.org/bots/api#setwebhook
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// FileScheme prefixes a Telegram file_id in channel.Attachment.URL. A file_id
// is not a URL: it is a reference only this bot can resolve (getFile), so it
// is marked as such instead of posing as a link.
const FileScheme = "tg-file:"

// DefaultAPIURL is the public Bot API.
const DefaultAPIURL = "https://api.telegram.org"

// allowedUpdates are the update kinds Parley acts on; Telegram does not send
// the others (edited messages, inline queries, ...) at all.
var allowedUpdates = []string{"message", "callback_query"}

// Config configures an Adapter. Only Token is required in poll mode; webhook
// mode needs WebhookURL and WebhookSecret too.
type Config struct {
	Token string
	// APIURL is the Bot API base URL, default DefaultAPIURL; requests go to
	// {APIURL}/bot{token}/{method}.
	APIURL string
	// Mode is ModePoll (default) or ModeWebhook.
	Mode string
	// WebhookURL is the full public URL of POST /hooks/telegram (webhook mode).
	WebhookURL string
	// WebhookSecret is the secret_token registered with setWebhook; Telegram
	// echoes it in SecretHeader. Required in webhook mode: 1-256 characters
	// A-Z, a-z, 0-9, _ and -.
	WebhookSecret string
	// HTTPClient makes the Bot API calls. The default has no overall timeout:
	// every call carries its own deadline (the long poll a longer one). A
	// client with Timeout set must allow more than PollTimeout.
	HTTPClient *http.Client
	Logger     zerolog.Logger
	// PollTimeout is the long-poll timeout, default 30s. Telegram takes whole
	// seconds; below one second the poll is a short poll.
	PollTimeout time.Duration

	// GlobalRate is the bot-wide send rate, default 30 messages a second.
	// https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
	GlobalRate rate.Limit
	// ChatRate is the per-chat send rate, default 1 a second (groups: 20 a
	// minute), with ChatBurst (default 3) messages allowed at once.
	ChatRate  rate.Limit
	ChatBurst int
}

// Adapter is the Telegram channel. It is safe for concurrent use.
type Adapter struct {
	token       string
	endpoint    string // fmt pattern for the library: base + "/bot%s/%s"
	base        string // the API URL; files download from base + "/file/bot<token>/<path>"
	mode        string
	webhookURL  string
	secret      []byte
	secretSum   [sha256.Size]byte
	hc          *http.Client
	log         zerolog.Logger
	pollTimeout time.Duration
	callTimeout time.Duration // deadline of every call except the long poll

	// backoff bounds the waits between failed attempts (getMe, setWebhook,
	// getUpdates, HandleInbound); tests shorten them.
	backoffMin, backoffMax time.Duration

	now func() time.Time // stamps events that carry no date (button presses)

	global   *gate // the bot-wide rate, first replies first
	chats    *chatLimiters
	progress *progress
}

var (
	_ channel.Sender       = (*Adapter)(nil)
	_ channel.TypingSender = (*Adapter)(nil)
	_ channel.FileFetcher  = (*Adapter)(nil)
)

// tokenPattern is the shape BotFather hands out: "<bot id>:<secret>".
var tokenPattern = regexp.MustCompile(`^[0-9]+:[A-Za-z0-9_-]+$`)

var secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// New validates cfg and returns an Adapter. It does not touch the network:
// Run checks the token with getMe.
func New(cfg Config) (*Adapter, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("telegram: "+format, args...)) }

	if cfg.Token == "" {
		bad("token is empty (set PARLEY_TELEGRAM_TOKEN)")
	} else if !tokenPattern.MatchString(cfg.Token) {
		// Never echo the token, not even a bad one.
		bad("token does not look like a BotFather token (<digits>:<secret>, without a \"bot\" prefix)")
	}

	base := cfg.APIURL
	if base == "" {
		base = DefaultAPIURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		bad("api url %q: want an absolute http(s) URL such as %s", base, DefaultAPIURL)
	}
	base = strings.TrimRight(base, "/")

	mode := cfg.Mode
	if mode == "" {
		mode = ModePoll
	}
	switch mode {
	case ModePoll:
	case ModeWebhook:
		if u, err := url.Parse(cfg.WebhookURL); cfg.WebhookURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("webhook mode needs WebhookURL, the absolute public URL of /hooks/telegram (PARLEY_PUBLIC_URL); got %q", cfg.WebhookURL)
		}
		if cfg.WebhookSecret == "" {
			bad("webhook mode needs a WebhookSecret (PARLEY_TELEGRAM_WEBHOOK_SECRET)")
		}
	default:
		bad("mode %q: want %q or %q", cfg.Mode, ModePoll, ModeWebhook)
	}
	if cfg.WebhookSecret != "" && !secretPattern.MatchString(cfg.WebhookSecret) {
		bad("webhook secret: want 1-256 characters from A-Z, a-z, 0-9, _ and - (Telegram's rule for secret_token)")
	}

	poll := cfg.PollTimeout
	switch {
	case poll == 0:
		poll = 30 * time.Second
	case poll < 0 || poll > 10*time.Minute:
		bad("poll timeout %s: want between 0 and 10m", poll)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		// No overall Timeout: each call carries its own deadline. More idle
		// connections than the default two, as replies to many chats go
		// out in parallel.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
		hc = &http.Client{Transport: tr}
	} else if hc.Timeout != 0 && hc.Timeout <= poll {
		bad("http client timeout %s must exceed the poll timeout %s, or long polls are cut off", hc.Timeout, poll)
	}

	globalRate, chatRate, chatBurst := cfg.GlobalRate, cfg.ChatRate, cfg.ChatBurst
	if globalRate == 0 {
		globalRate = 30
	}
	if chatRate == 0 {
		chatRate = 1
	}
	if chatBurst == 0 {
		chatBurst = 3
	}
	if globalRate < 0 || chatRate < 0 || chatBurst < 0 {
		bad("rates and burst must not be negative")
	}

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	installLibraryLogger(cfg.Logger)
	a := &Adapter{
		token:       cfg.Token,
		endpoint:    strings.ReplaceAll(base, "%", "%%") + "/bot%s/%s", // a format string for the library
		base:        base,
		mode:        mode,
		webhookURL:  cfg.WebhookURL,
		secret:      []byte(cfg.WebhookSecret),
		secretSum:   sha256.Sum256([]byte(cfg.WebhookSecret)),
		hc:          hc,
		log:         cfg.Logger, // the caller names the component (cmd adds channel=telegram)
		pollTimeout: poll,
		callTimeout: 30 * time.Second,
		backoffMin:  time.Second,
		backoffMax:  30 * time.Second,
		now:         time.Now,
		global:      newGate(globalRate, globalBurst(globalRate)),
		chats:       newChatLimiters(chatRate, chatBurst),
		progress:    newProgress(4096),
	}
	return a, nil
}

// globalBurst lets a third of a second's messages go at once, so a burst of
// replies after a quiet spell does not wait, yet stays near the average.
func globalBurst(r rate.Limit) int {
	if r == rate.Inf || r < 3 {
		return 1
	}
	return int(r) / 3
}

// JoinsTexts tells the runtime that a turn's consecutive texts to a chat
// may go as one message (a blank line between them, the last one's
// keyboard): one send instead of two of the bot's 30 a second.
func (a *Adapter) JoinsTexts() bool { return true }

// Channel reports channel.Telegram.
func (a *Adapter) Channel() channel.Name { return channel.Telegram }

// Mode reports ModePoll or ModeWebhook.
func (a *Adapter) Mode() string { return a.mode }

// progress remembers, per outbox key, how many parts of a multi-part reply
// (photo then text, text then numbered choices) Telegram already accepted, so
// the runtime's retry of a half-sent reply does not post the first part twice.
// It is bounded: the oldest entries go first.
type progress struct {
	mu    sync.Mutex
	max   int
	done  map[string]int
	order []string
}

func newProgress(max int) *progress { return &progress{max: max, done: map[string]int{}} }

func (p *progress) get(key string) int {
	if key == "" {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done[key]
}

func (p *progress) set(key string, n int) {
	if key == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.done[key]; !ok {
		p.order = append(p.order, key)
	}
	p.done[key] = n
	for len(p.done) > p.max && len(p.order) > 0 {
		delete(p.done, p.order[0])
		p.order = p.order[1:]
	}
}

func (p *progress) clear(key string) {
	if key == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.done[key]; !ok {
		return
	}
	delete(p.done, key)
	// Compact lazily: order may hold keys already cleared.
	if len(p.order) > 2*p.max || len(p.done) == 0 {
		kept := p.order[:0]
		for _, k := range p.order {
			if _, ok := p.done[k]; ok {
				kept = append(kept, k)
			}
		}
		p.order = kept
	}
}
