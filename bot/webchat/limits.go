package webchat

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Flood limits. A connection without a visitor token becomes a new visitor,
// and a new visitor's first message a new stored contact, so without a
// limit one client could make contacts as fast as it can connect. The
// limits are kept per network address (an IPv4 address, an IPv6 /64: one
// host gets a whole /64, so a single IPv6 address would be no limit), and
// a refused connection is closed with 1013 "try again later" and a reason
// starting with "busy", which the widget shows as one friendly line and
// answers with a slow reconnect, not a stream of retries.

// Defaults for the zero flood-limit fields of Config.
const (
	DefaultNewVisitorRate     = 0.2 // per second and address: 12 a minute
	DefaultNewVisitorBurst    = 20
	DefaultMaxConnsPerAddress = 64
	DefaultMaxConns           = 5000
)

// Refusal reasons: the metrics label and the start of the close reason.
const (
	refusedNewVisitors = "new_visitor_rate"
	refusedAddrConns   = "address_connections"
	refusedConns       = "connections"
)

// closeReasons are the close reasons of the refusals (at most 123 bytes).
var closeReasons = map[string]string{
	refusedNewVisitors: "busy: too many new chats from your network; try again in a minute",
	refusedAddrConns:   "busy: too many open chats from your network; close a tab or try again later",
	refusedConns:       "busy: the chat server is full; try again in a minute",
}

// peer is what the guard keeps of one address: its open connections and
// its budget of new visitors.
type peer struct {
	conns int
	lim   *rate.Limiter
}

// guard applies the per-address and global limits. One mutex: it is taken
// twice per connection and once per new visitor, never per message.
type guard struct {
	newRate  rate.Limit // <= 0: no limit on new visitors
	newBurst int
	perAddr  int
	max      int
	mu       sync.Mutex
	peers    map[netip.Prefix]*peer
	total    int
	lastGC   time.Time
	refused  *prometheus.CounterVec // nil without a registry
	newCount prometheus.Counter
}

func newGuard(cfg Config) *guard {
	g := &guard{newRate: rate.Limit(cfg.NewVisitorRate), newBurst: cfg.NewVisitorBurst,
		perAddr: cfg.MaxConnsPerAddress, max: cfg.MaxConns, peers: make(map[netip.Prefix]*peer)}
	return g
}

// open counts a connection from addr, or refuses it with a reason when a
// socket cap is reached. A counted connection must be given back with
// closed.
func (g *guard) open(addr netip.Prefix) (refusal string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.peerLocked(addr)
	switch {
	case p.conns >= g.perAddr: // the more telling reason when both hold
		refusal = refusedAddrConns
	case g.total >= g.max:
		refusal = refusedConns
	default:
		p.conns++
		g.total++
		return ""
	}
	g.count(refusal)
	return refusal
}

// closed gives back a connection counted by open.
func (g *guard) closed(addr netip.Prefix) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if p := g.peers[addr]; p != nil && p.conns > 0 {
		p.conns--
		g.total--
	}
}

// newVisitor takes one new visitor from addr's budget; false refuses it.
func (g *guard) newVisitor(addr netip.Prefix) bool {
	if g.newRate <= 0 {
		g.countNew()
		return true
	}
	g.mu.Lock()
	ok := g.peerLocked(addr).lim.Allow()
	g.mu.Unlock()
	if !ok {
		g.count(refusedNewVisitors)
		return false
	}
	g.countNew()
	return true
}

// peerLocked returns addr's entry, making it if needed. Entries with no
// connection whose budget has refilled are dropped at most once a minute,
// so the map holds the addresses seen in the last minutes, not all ever.
func (g *guard) peerLocked(addr netip.Prefix) *peer {
	now := time.Now()
	if now.Sub(g.lastGC) >= time.Minute {
		g.lastGC = now
		for k, p := range g.peers {
			if p.conns == 0 && (g.newRate <= 0 || p.lim.TokensAt(now) >= float64(g.newBurst)) {
				delete(g.peers, k)
			}
		}
	}
	p := g.peers[addr]
	if p == nil {
		lim := rate.NewLimiter(rate.Inf, 0)
		if g.newRate > 0 {
			lim = rate.NewLimiter(g.newRate, g.newBurst)
		}
		p = &peer{lim: lim}
		g.peers[addr] = p
	}
	return p
}

func (g *guard) count(reason string) {
	if g.refused != nil {
		g.refused.WithLabelValues(reason).Inc()
	}
}

func (g *guard) countNew() {
	if g.newCount != nil {
		g.newCount.Inc()
	}
}

// register adds the web chat's collectors to reg; conns reports the open
// connections.
func (g *guard) register(reg prometheus.Registerer, conns func() float64) {
	g.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_webchat_refused_total",
		Help: "Web chat connections refused by a flood limit, per reason (new_visitor_rate, address_connections, connections).",
	}, []string{"reason"})
	for r := range closeReasons {
		g.refused.WithLabelValues(r) // every reason shows, at 0, before the first refusal
	}
	g.newCount = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_webchat_new_visitors_total",
		Help: "Web chat visitors given a new visitor id (connections without a token).",
	})
	reg.MustRegister(g.refused, g.newCount, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "parley_webchat_connections", Help: "Open web chat WebSocket connections.",
	}, conns))
}

// ClientAddr is the network address a request counts against: the
// connection's own address, or, when that is a trusted proxy, the
// rightmost X-Forwarded-For address that is not one (the proxies append
// what they saw; anything left of it the client could have written). An
// unreadable address counts as the zero prefix, one shared budget. Other
// parts of the server that limit per client (the console's sign-in) use it
// too: one reading of X-Forwarded-For for all.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Prefix {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Prefix{}
	}
	addr := ap.Addr().Unmap()
	if isTrusted(addr, trusted) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a forged or garbled entry: stop at the last good one
			}
			addr = hop.Unmap()
			if !isTrusted(addr, trusted) {
				break
			}
		}
	}
	return addrKey(addr)
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// addrKey is the unit the limits count: an IPv4 address or an IPv6 /64.
func addrKey(a netip.Addr) netip.Prefix {
	a = a.WithZone("")
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// ParseTrustedProxies reads Config.TrustedProxies from its configured form:
// CIDR prefixes ("10.0.0.0/8") or single addresses ("127.0.0.1", "::1").
// The error names the entry, for the caller to put after its setting.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a prefix such as 10.0.0.0/8", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
