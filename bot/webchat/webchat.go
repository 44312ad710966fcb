package webchat

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/parley-chat/parley/bot/channel"
)

// Defaults for the zero fields of Config.
const (
	DefaultMaxMessageBytes = 4096
	DefaultRatePerSecond   = 1
	DefaultBurst           = 5
	DefaultHistoryLimit    = 50
	DefaultIdleTimeout     = 90 * time.Second
	// DefaultIdentityMaxAge bounds the age of a signed customer identity.
	DefaultIdentityMaxAge = 24 * time.Hour
	DefaultTitle          = "Chat"

	// handshakeTimeout bounds the wait for the client's hello.
	handshakeTimeout = 10 * time.Second
	// writeTimeout bounds one write to one connection: a client that does
	// not read is dropped instead of stalling Send for everyone.
	writeTimeout = 5 * time.Second
	// handleTimeout bounds HandleInbound; the widget re-sends on "retry".
	handleTimeout = 15 * time.Second
	// maxStrikes is how many refused frames in a row close a connection.
	maxStrikes = 20
)

// Config configures the web chat channel.
type Config struct {
	// AllowedOrigins are the origin patterns allowed to open the WebSocket
	// (coder/websocket OriginPatterns: host patterns such as
	// "shop.example.com" or "*.example.com", matched with path.Match; with
	// "://" they match "scheme://host"). Empty: the page must be served by
	// the same host as the chat. A site embedding the widget must be listed.
	AllowedOrigins []string
	// MaxMessageBytes limits one customer message (UTF-8 bytes). Default 4096.
	MaxMessageBytes int
	// RatePerSecond limits messages per visitor (all tabs together), with a
	// burst of 5. Default 1.
	RatePerSecond float64
	// Secret is the HMAC key that signs visitor tokens, at least 16 bytes.
	// Keep it across restarts, or every visitor becomes a new one. If
	// empty, a random key is made and a warning logged.
	Secret []byte
	Logger zerolog.Logger
	// Title is the widget's header, e.g. the project name. Default "Chat".
	Title string
	// Lang is the widget's interface language ("ru", "en") unless the
	// script tag's data-lang says otherwise; "" = the page's <html lang>.
	Lang string
	// HistoryLimit is how many history items a connecting widget gets.
	// Default 50.
	HistoryLimit int
	// IdentitySecret (at least 16 bytes) is shared with the site that
	// embeds the widget: with it the site signs a logged-in customer's id
	// (identity.go). Empty: signed identities are ignored.
	IdentitySecret []byte
	// IdentityMaxAge is how old a signed identity may be (default 24 h).
	IdentityMaxAge time.Duration
	// IdleTimeout closes a connection that sent nothing (the widget pings
	// every 25 s) for this long. Default 90 s.
	IdleTimeout time.Duration

	// Flood limits (limits.go), counted per network address: an IPv4
	// address or an IPv6 /64. A refused connection is closed with 1013
	// (try again later) and a reason starting with "busy".
	//
	// NewVisitorRate is how many new visitors (connections without a
	// visitor token, each a possible new contact) one address may start
	// per second, with a burst of NewVisitorBurst. Default 0.2 (12 a
	// minute) with a burst of 20; negative switches the limit off.
	NewVisitorRate  float64
	NewVisitorBurst int
	// MaxConnsPerAddress caps the open WebSockets from one address
	// (default 64: an office or a mobile carrier puts many people behind
	// one address); MaxConns caps them all (default 5000).
	MaxConnsPerAddress int
	MaxConns           int
	// TrustedProxies are the reverse proxies in front of the server
	// (prefixes such as 127.0.0.1/32 or 10.0.0.0/8). For a connection from
	// one of them the visitor's address is the rightmost X-Forwarded-For
	// address that is not a trusted proxy. Empty: the connection's own
	// address, so behind a proxy every visitor would share its limits.
	TrustedProxies []netip.Prefix
	// Metrics registers the web chat's collectors when not nil.
	Metrics prometheus.Registerer
}

// Opener is what a new visitor sees when the chat opens: the opening of a
// conversation (the greeting and its buttons) in lang when the bot speaks
// it, with nothing stored and no contact made. The runtime implements it
// (bot.Runtime.Opening); a Handler that does, gets its opening shown (see
// Adapter.Handler). The replies' To and Key are not used.
type Opener interface {
	Opening(ctx context.Context, ch channel.Name, lang string) []channel.Outbound
}

// History is implemented by the runtime (it reads the store): the last
// limit items of a visitor's conversation, newest last.
type History interface {
	History(ctx context.Context, visitor channel.Address, limit int) ([]Item, error)
}

// Item is one message of a visitor's history.
type Item struct {
	// ID identifies the message: for outbound items the key the reply was
	// pushed with (channel.Outbound.Key: the runtime uses the history seq),
	// so the widget recognises messages it already shows.
	ID      string
	Dir     string // "in" (from the customer) or "out" (to the customer)
	Text    string
	Buttons []channel.Button
	Sender  string // "" for the bot, or the agent's display name
	Files   []channel.File
	At      time.Time
}

// Item directions.
const (
	DirIn  = "in"
	DirOut = "out"
)

// Adapter is the web chat channel: it serves the widget and its WebSocket,
// turns widget frames into channel.Inbound events and pushes replies to the
// visitor's open connections.
type Adapter struct {
	cfg    Config
	hist   History
	log    zerolog.Logger
	signer signer
	assets *assets
	guard  *guard
	// waiting is the human queue (wait.go); nil without one.
	waiting Waiting
	// files keeps attachments (files.go); nil: none are accepted.
	files        Files
	maxFileBytes int64

	mu       sync.Mutex
	visitors map[string]*visitor
	closed   bool
	lastGC   time.Time

	conns atomic.Int64
}

// visitor holds a visitor's open connections (tabs) and the rate limiter they
// share. It lives while a connection is open, or while its limiter has not
// refilled (so reconnecting does not reset the limit).
type visitor struct {
	id    string
	conns map[*conn]struct{}
	lim   *rate.Limiter
}

var (
	_ channel.Sender       = (*Adapter)(nil)
	_ channel.TypingSender = (*Adapter)(nil)
)

// New validates cfg and makes the adapter. hist may be nil (no history on
// reload). It does not touch the network.
func New(cfg Config, hist History) (*Adapter, error) {
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.MaxMessageBytes < 0 {
		return nil, fmt.Errorf("webchat: MaxMessageBytes is %d; want > 0", cfg.MaxMessageBytes)
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = DefaultRatePerSecond
	}
	if cfg.RatePerSecond < 0 {
		return nil, fmt.Errorf("webchat: RatePerSecond is %g; want > 0", cfg.RatePerSecond)
	}
	if cfg.HistoryLimit == 0 {
		cfg.HistoryLimit = DefaultHistoryLimit
	}
	if cfg.HistoryLimit < 0 {
		return nil, fmt.Errorf("webchat: HistoryLimit is %d; want > 0", cfg.HistoryLimit)
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.IdleTimeout < time.Second {
		return nil, fmt.Errorf("webchat: IdleTimeout is %s; want at least 1s", cfg.IdleTimeout)
	}
	if err := floodDefaults(&cfg); err != nil {
		return nil, err
	}
	if cfg.Title == "" {
		cfg.Title = DefaultTitle
	}
	for i, p := range cfg.AllowedOrigins {
		if p == "" {
			return nil, fmt.Errorf("webchat: AllowedOrigins[%d] is empty", i)
		}
		if p == "*" {
			return nil, fmt.Errorf(`webchat: AllowedOrigins[%d] is "*": list the sites that embed the widget`, i)
		}
	}
	secret := cfg.Secret
	switch {
	case len(secret) == 0:
		secret = make([]byte, 32)
		rand.Read(secret)
		cfg.Logger.Warn().Msg("webchat: no secret configured; visitor tokens will not survive a restart")
	case len(secret) < 16:
		return nil, fmt.Errorf("webchat: Secret is %d bytes; want at least 16", len(secret))
	}
	if n := len(cfg.IdentitySecret); n > 0 && n < 16 {
		return nil, fmt.Errorf("webchat: IdentitySecret is %d bytes; want at least 16", n)
	}
	if cfg.IdentityMaxAge == 0 {
		cfg.IdentityMaxAge = DefaultIdentityMaxAge
	}
	if cfg.IdentityMaxAge < 0 {
		return nil, fmt.Errorf("webchat: IdentityMaxAge is %s; want > 0", cfg.IdentityMaxAge)
	}
	cfg.IdentitySecret = append([]byte(nil), cfg.IdentitySecret...)
	as, err := newAssets(cfg.Title, cfg.MaxMessageBytes, cfg.Lang)
	if err != nil {
		return nil, err
	}
	cfg.TrustedProxies = append([]netip.Prefix(nil), cfg.TrustedProxies...)
	a := &Adapter{
		cfg:      cfg,
		hist:     hist,
		log:      cfg.Logger.With().Str("channel", string(channel.Web)).Logger(),
		signer:   signer{secret: append([]byte(nil), secret...)},
		assets:   as,
		guard:    newGuard(cfg),
		visitors: make(map[string]*visitor),
	}
	if cfg.Metrics != nil {
		a.guard.register(cfg.Metrics, func() float64 { return float64(a.conns.Load()) })
	}
	return a, nil
}

// floodDefaults fills and checks the flood-limit fields of cfg.
func floodDefaults(cfg *Config) error {
	if cfg.NewVisitorRate == 0 {
		cfg.NewVisitorRate = DefaultNewVisitorRate
	}
	if cfg.NewVisitorBurst == 0 {
		cfg.NewVisitorBurst = DefaultNewVisitorBurst
	}
	if cfg.MaxConnsPerAddress == 0 {
		cfg.MaxConnsPerAddress = DefaultMaxConnsPerAddress
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	switch {
	case cfg.NewVisitorBurst < 0:
		return fmt.Errorf("webchat: NewVisitorBurst is %d; want > 0", cfg.NewVisitorBurst)
	case cfg.MaxConnsPerAddress < 0:
		return fmt.Errorf("webchat: MaxConnsPerAddress is %d; want > 0", cfg.MaxConnsPerAddress)
	case cfg.MaxConns < 0:
		return fmt.Errorf("webchat: MaxConns is %d; want > 0", cfg.MaxConns)
	}
	for i, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return fmt.Errorf("webchat: TrustedProxies[%d] is not a valid prefix", i)
		}
	}
	return nil
}

// Channel returns channel.Web.
func (a *Adapter) Channel() channel.Name { return channel.Web }

// Connections is the number of open WebSocket connections, for metrics.
func (a *Adapter) Connections() int { return int(a.conns.Load()) }

// Handler serves the demo page (GET /), the widget (GET /widget.js,
// GET /widget.css) and the WebSocket (GET /ws). Inbound messages go to h.
// If h is also an Opener, a visitor with no history sees its opening when
// the chat connects, and the first message after it is marked
// channel.Inbound.Greeted.
func (a *Adapter) Handler(h channel.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.assets.serve(a.assets.index))
	mux.HandleFunc("GET /widget.js", a.assets.serve(a.assets.js))
	mux.HandleFunc("GET /widget.css", a.assets.serve(a.assets.css))
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) { a.serveWS(w, r, h) })
	mux.HandleFunc("POST /files", a.serveUpload)
	mux.HandleFunc("OPTIONS /files", func(w http.ResponseWriter, r *http.Request) {
		if !a.corsAllowed(w, r) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /files/{id}", a.serveFile)
	return mux
}

// Send pushes out to every open connection of out.To. A visitor with no open
// connection is not an error: the message is in the history the widget loads
// on its next visit. A connection that cannot take the message in time is
// closed (the widget reconnects and reloads the history).
func (a *Adapter) Send(ctx context.Context, out channel.Outbound) error {
	if out.To.Channel != channel.Web {
		return &channel.PermanentError{Err: fmt.Errorf("webchat: cannot send to %s", out.To)}
	}
	id := out.Key
	if id == "" {
		// Without a key the widget cannot recognise the message in the
		// history later; it still shows it once.
		id = "m-" + randomHex(8)
	}
	f := messageFrame{Type: typeMessage, ID: id, Text: out.Text, Buttons: out.Buttons,
		Image: safeImage(out.Image), Sender: out.Sender, At: time.Now().UTC(),
		Files: a.fileFrames(out.To.ID, out.Files)}
	frame := f.appendJSON(make([]byte, 0, 96+len(out.Text)+len(out.Sender)+48*len(out.Buttons)))
	a.broadcast(ctx, out.To.ID, nil, frame)
	return ctx.Err()
}

// SyncsHistory implements channel.HistorySyncer: a connecting widget gets
// the conversation's history (History), so replies need no outbox.
func (a *Adapter) SyncsHistory() {}

// SendTyping shows the typing indicator in every open tab of the visitor.
func (a *Adapter) SendTyping(ctx context.Context, to channel.Address) error {
	if to.Channel != channel.Web {
		return &channel.PermanentError{Err: fmt.Errorf("webchat: cannot send typing to %s", to)}
	}
	a.broadcast(ctx, to.ID, nil, typingJSON)
	return ctx.Err()
}

// Close closes every open connection with "going away" (the widgets
// reconnect to the next server) and refuses new ones. http.Server.Shutdown
// does not close hijacked connections, so call Close after it.
func (a *Adapter) Close() error {
	a.mu.Lock()
	a.closed = true
	var all []*conn
	for _, v := range a.visitors {
		for c := range v.conns {
			all = append(all, c)
		}
	}
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.ws.Close(websocket.StatusGoingAway, "server shutting down")
		}()
	}
	wg.Wait()
	return nil
}

// broadcast writes frame to every connection of the visitor except skip,
// or holds it for the message being handled (heldFrames).
func (a *Adapter) broadcast(ctx context.Context, visitorID string, skip *conn, frame []byte) {
	if held, _ := ctx.Value(heldKey{}).(*heldFrames); held.hold(visitorID, skip, frame) {
		return
	}
	for _, c := range a.connsOf(visitorID, skip) {
		a.writeOrClose(ctx, c, frame)
	}
}

// connsOf returns the open connections of the visitor except skip.
func (a *Adapter) connsOf(visitorID string, skip *conn) []*conn {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := a.visitors[visitorID]
	if v == nil {
		return nil
	}
	targets := make([]*conn, 0, len(v.conns))
	for c := range v.conns {
		if c != skip {
			targets = append(targets, c)
		}
	}
	return targets
}

// writeOrClose writes frame to c; a connection that cannot take it is
// closed (the widget reconnects and reloads the history). It reports
// whether the write went through.
func (a *Adapter) writeOrClose(ctx context.Context, c *conn, frame []byte) bool {
	err := c.write(ctx, frame)
	if err != nil && ctx.Err() == nil {
		a.log.Debug().Err(err).Str("visitor", c.visitor).Msg("webchat: write failed; closing connection")
		c.ws.CloseNow()
	}
	return err == nil
}

// register adds c to its visitor, making the visitor if needed.
func (a *Adapter) register(c *conn) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return errors.New("webchat: adapter closed")
	}
	a.gcLocked()
	v := a.visitors[c.visitor]
	if v == nil {
		v = &visitor{id: c.visitor, conns: make(map[*conn]struct{}, 1),
			lim: rate.NewLimiter(rate.Limit(a.cfg.RatePerSecond), DefaultBurst)}
		a.visitors[c.visitor] = v
	}
	v.conns[c] = struct{}{}
	c.v = v
	a.conns.Add(1)
	return nil
}

func (a *Adapter) unregister(c *conn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := c.v
	if v == nil {
		return
	}
	delete(v.conns, c)
	a.conns.Add(-1)
	if len(v.conns) == 0 && v.lim.Tokens() >= DefaultBurst {
		delete(a.visitors, v.id)
	}
}

// gcLocked drops visitors with no connection whose limiter has refilled, at
// most once a minute, so the map does not grow with visitors who left while
// rate limited.
func (a *Adapter) gcLocked() {
	now := time.Now()
	if now.Sub(a.lastGC) < time.Minute {
		return
	}
	a.lastGC = now
	for id, v := range a.visitors {
		if len(v.conns) == 0 && v.lim.TokensAt(now) >= DefaultBurst {
			delete(a.visitors, id)
		}
	}
}

// safeImage passes only http(s) image URLs to the widget.
func safeImage(u string) string {
	if len(u) <= 2048 && (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) {
		return u
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	const digits = "0123456789abcdef"
	out := make([]byte, 2*n)
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}
