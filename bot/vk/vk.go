// Package vk owns Parley's VK (VKontakte) channel: it decodes Callback API
// and Bots Long Poll events of a community into channel.Inbound, verifies
// Callback API requests (secret in constant time, group id, confirmation
// handshake), renders replies with VK keyboards and sends them through
// messages.send with a random_id derived from the outbox key, under VK's
// request limits.
//
// The API client is github.com/SevereCloud/vksdk/v3/api with its own rate
// limiter and retry loop switched off (Limit = 0): they sleep without a
// context and retry "too many requests" at once. Events are decoded with our
// own types, because vksdk's message type declares payload as a string while
// VK also delivers it as a JSON object. vksdk's longpoll-bot and callback
// packages are not used: the first changes the community's settings
// (groups.setLongPollSettings) and gives up on the first network error, the
// second compares the secret with != and logs through slog.
package vk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/SevereCloud/vksdk/v3/api"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/parley-chat/parley/bot/channel"
)

// Modes of receiving events.
const (
	ModeCallback = "callback"
	ModeLongPoll = "longpoll"
)

// Defaults for Config.
const (
	DefaultAPIURL     = "https://api.vk.com"
	DefaultAPIVersion = "5.199"
	DefaultPollWait   = 25 * time.Second
)

// VK limits. A community token may make 20 API calls a second
// (https://dev.vk.com/ru/api/api-requests#Ограничения и рекомендации); we
// stay a little below so that clock skew between us and VK never trips
// error 6. VK publishes no per-conversation limit, but bursts into one
// conversation trigger flood control (error 9): allow a short burst (one
// turn's replies) and then one message a second.
const (
	globalRate   = 18
	peerRate     = 1
	peerBurst    = 3
	peerIdleTTL  = 10 * time.Minute // evict per-peer state unused this long
	maxBodyBytes = 1 << 20          // Callback API request body limit
	maxTextRunes = 4096             // messages.send message length
)

// Config configures an Adapter.
type Config struct {
	Token        string // community access token
	GroupID      int64  // community id (positive)
	APIURL       string // base, default "https://api.vk.com"; requests go to {APIURL}/method/{name}
	APIVersion   string // default "5.199"
	Mode         string // "callback" (default) or "longpoll"
	Secret       string // Callback API secret (required in callback mode)
	Confirmation string // string returned to the "confirmation" request (required in callback mode)
	HTTPClient   *http.Client
	Logger       zerolog.Logger
	PollWait     time.Duration // Bots Long Poll wait, default 25s, at most 90s
	// Positions keeps the Bots Long Poll position across restarts (the
	// runtime's store). Without it a restart starts from the position VK
	// reports then, and what customers wrote while the server was down is
	// not fetched.
	Positions PositionStore
}

// PositionStore keeps named positions durably; *store.DB implements it.
type PositionStore interface {
	Position(key string) (string, error)
	SetPosition(ctx context.Context, key, value string) error
}

// Adapter is the VK channel. It is safe for concurrent use.
type Adapter struct {
	cfg    Config
	vk     *api.VK
	client *http.Client
	log    zerolog.Logger

	global *rate.Limiter
	peers  *peerTable

	// Injected for tests: the clock and the long poll backoff bounds.
	now        func() time.Time
	backoffMin time.Duration
	backoffMax time.Duration
}

// compile-time guards: the runtime finds these capabilities by assertion.
var (
	_ channel.Sender       = (*Adapter)(nil)
	_ channel.TypingSender = (*Adapter)(nil)
)

// New validates cfg and returns an adapter. It does not touch the network.
func New(cfg Config) (*Adapter, error) {
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeCallback
	}
	if cfg.PollWait == 0 {
		cfg.PollWait = DefaultPollWait
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	client := cfg.HTTPClient
	if client == nil {
		// No client-wide timeout shorter than a long poll: every call has
		// its own deadline (vksdk: 35 s per API call; long poll: wait+15 s).
		client = &http.Client{Timeout: cfg.PollWait + 30*time.Second}
	}
	vk := api.NewVK(cfg.Token)
	vk.MethodURL = strings.TrimRight(cfg.APIURL, "/") + "/method/"
	vk.Version = cfg.APIVersion
	vk.Client = client
	vk.Limit = 0 // our limiters wait with a context; vksdk's sleeps blindly
	a := &Adapter{
		cfg:        cfg,
		vk:         vk,
		client:     client,
		log:        cfg.Logger.With().Str("channel", string(channel.VK)).Logger(),
		global:     rate.NewLimiter(globalRate, 1),
		peers:      newPeerTable(peerIdleTTL),
		now:        time.Now,
		backoffMin: time.Second,
		backoffMax: 30 * time.Second,
	}
	return a, nil
}

func (c Config) validate() error {
	var errs []error
	if strings.TrimSpace(c.Token) == "" {
		errs = append(errs, errors.New("vk: config: Token is empty (set PARLEY_VK_TOKEN)"))
	}
	if c.GroupID <= 0 {
		errs = append(errs, fmt.Errorf("vk: config: GroupID must be the community's positive id, got %d", c.GroupID))
	}
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("vk: config: APIURL %q is not an http(s) URL", c.APIURL))
	}
	switch c.Mode {
	case ModeCallback:
		if c.Secret == "" {
			errs = append(errs, errors.New("vk: config: Secret is required in callback mode (the Callback API secret key)"))
		}
		if c.Confirmation == "" {
			errs = append(errs, errors.New("vk: config: Confirmation is required in callback mode (the string VK asks the server to return)"))
		}
	case ModeLongPoll:
	default:
		errs = append(errs, fmt.Errorf("vk: config: Mode %q: want %q or %q", c.Mode, ModeCallback, ModeLongPoll))
	}
	if c.PollWait < time.Second || c.PollWait > 90*time.Second {
		errs = append(errs, fmt.Errorf("vk: config: PollWait %s: want 1s..90s", c.PollWait))
	}
	if c.HTTPClient != nil && c.HTTPClient.Timeout != 0 && c.Mode == ModeLongPoll && c.HTTPClient.Timeout <= c.PollWait {
		errs = append(errs, fmt.Errorf("vk: config: HTTPClient.Timeout %s must exceed PollWait %s", c.HTTPClient.Timeout, c.PollWait))
	}
	return errors.Join(errs...)
}

// Channel reports channel.VK.
func (a *Adapter) Channel() channel.Name { return channel.VK }

// call invokes an API method after waiting for the global limiter. The
// returned error never contains the token; VK error codes are mapped to
// channel.RetryAfterError and channel.PermanentError (see classify).
func (a *Adapter) call(ctx context.Context, method string, params api.Params, out any) error {
	if err := a.global.Wait(ctx); err != nil {
		return fmt.Errorf("vk: %s: %w", method, err)
	}
	params = params.WithContext(ctx)
	if err := a.vk.RequestUnmarshal(method, out, params); err != nil {
		return classify(method, a.redact(err))
	}
	return nil
}

// classify maps VK error codes (https://dev.vk.com/ru/reference/errors) to
// the runtime's retry semantics.
func classify(method string, err error) error {
	var ve *api.Error
	if !errors.As(err, &ve) {
		return fmt.Errorf("vk: %s: %w", method, err)
	}
	wrapped := fmt.Errorf("vk: %s: error %d: %s: %w", method, int(ve.Code), ve.Message, err)
	switch ve.Code {
	case api.ErrTooMany: // too many requests per second
		return &channel.RetryAfterError{After: time.Second, Err: wrapped}
	case api.ErrFlood: // flood control: the same text too often
		return &channel.RetryAfterError{After: 10 * time.Second, Err: wrapped}
	case api.ErrPermission, api.ErrParam,
		api.ErrMessagesUserBlocked, api.ErrMessagesDenySend, api.ErrMessagesPrivacy,
		api.ErrMessagesKeyboardInvalid, api.ErrMessagesChatBotFeature,
		api.ErrMessagesTooLongMessage, api.ErrMessagesChatUserNoAccess:
		return &channel.PermanentError{Err: wrapped}
	}
	return wrapped
}

// vkCode returns the VK error code carried by err, or 0.
func vkCode(err error) api.ErrorType {
	var ve *api.Error
	if errors.As(err, &ve) {
		return ve.Code
	}
	return 0
}

// redact removes the token from err's text (transport errors may carry URLs
// and request details) while keeping the chain for errors.As.
func (a *Adapter) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := redactString(msg, a.cfg.Token)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

func redactString(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		}
	}
	return s
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// peerTable keeps per-conversation state (send limiter, client
// capabilities) and evicts entries idle for ttl, so it is bounded by the
// number of conversations active within ttl.
type peerTable struct {
	mu        sync.Mutex
	ttl       time.Duration
	m         map[int64]*peerState
	lastSweep time.Time
}

type peerState struct {
	lim      *rate.Limiter
	caps     clientCaps
	lastUsed time.Time
}

// clientCaps is what the customer's VK client said it can show
// (message_new client_info). known is false until a message arrived.
type clientCaps struct {
	known    bool
	inline   bool // inline keyboards
	callback bool // callback buttons
}

func newPeerTable(ttl time.Duration) *peerTable {
	return &peerTable{ttl: ttl, m: make(map[int64]*peerState)}
}

// get returns the state of peer, creating it, and sweeps idle entries at
// most once per ttl/2.
func (t *peerTable) get(peer int64, now time.Time) *peerState {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.lastSweep) > t.ttl/2 {
		for id, st := range t.m {
			if now.Sub(st.lastUsed) > t.ttl {
				delete(t.m, id)
			}
		}
		t.lastSweep = now
	}
	st, ok := t.m[peer]
	if !ok {
		st = &peerState{lim: rate.NewLimiter(peerRate, peerBurst)}
		t.m[peer] = st
	}
	st.lastUsed = now
	return st
}

func (t *peerTable) setCaps(peer int64, c clientCaps, now time.Time) {
	st := t.get(peer, now)
	t.mu.Lock()
	st.caps = c
	t.mu.Unlock()
}

func (t *peerTable) caps(peer int64, now time.Time) clientCaps {
	st := t.get(peer, now)
	t.mu.Lock()
	defer t.mu.Unlock()
	return st.caps
}

func (t *peerTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
