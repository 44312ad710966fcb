package webchat

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// dialFrom dials the test server from the loopback address local
// ("127.0.0.2"): Linux routes all of 127.0.0.0/8 to the loopback, so each
// is a different client address to the server.
func dialFrom(t *testing.T, srv *httptest.Server, local string, header http.Header) (*client, error) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, wsURL(srv), &websocket.DialOptions{HTTPClient: hc, HTTPHeader: header})
	if err != nil {
		return nil, err
	}
	return reading(t, ws), nil
}

// refusedBusy asserts that the server closes c with 1013 and a "busy:" reason.
func refusedBusy(t *testing.T, c *client, what string) {
	t.Helper()
	status := c.closed()
	var ce websocket.CloseError
	if status != websocket.StatusTryAgainLater || !errors.As(c.err, &ce) || !strings.HasPrefix(ce.Reason, "busy: ") {
		t.Errorf("%s: closed with %v %v; want 1013 (try again later) and a reason starting with \"busy: \"", what, status, c.err)
	}
}

// metric is the value of the counter or gauge name (with the label
// reason, if not "") in reg; a metric that is not there fails the test.
func metric(t *testing.T, reg *prometheus.Registry, name, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if reason != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != reason) {
				continue
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s{reason=%q} is not registered", name, reason)
	return 0
}

func helloFrom(t *testing.T, srv *httptest.Server, local, token string) *client {
	t.Helper()
	c, err := dialFrom(t, srv, local, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]string{"type": "hello", "token": token})
	return c
}

// TestNewVisitorFloodRefusedPerAddress: one address that keeps connecting
// without a token gets its burst of new visitors and then a clear refusal,
// while returning visitors from it and new visitors from another address
// still get in; nothing reaches the runtime.
func TestNewVisitorFloodRefusedPerAddress(t *testing.T) {
	reg := prometheus.NewRegistry()
	rec := &recorder{}
	// Refill is negligible, so exactly the burst passes.
	a, srv := testServer(t, Config{NewVisitorRate: 0.001, NewVisitorBurst: 3, Metrics: reg}, rec, nil)
	_, returning := a.signer.issue()

	for i := range 3 {
		c := helloFrom(t, srv, "127.0.0.2", "")
		if f := c.next(); f.Type != "hello" {
			t.Fatalf("new visitor %d within the burst: got %+v, want hello", i+1, f)
		}
		c.ws.CloseNow()
	}
	for range 5 {
		refusedBusy(t, helloFrom(t, srv, "127.0.0.2", ""), "a new visitor over the limit")
	}
	if c := helloFrom(t, srv, "127.0.0.2", returning); c.next().Type != "hello" {
		t.Error("a returning visitor from the flooding address was refused")
	}
	if c := helloFrom(t, srv, "127.0.0.3", ""); c.next().Type != "hello" {
		t.Error("a new visitor from another address was refused")
	}
	if n := metric(t, reg, "parley_webchat_refused_total", refusedNewVisitors); n != 5 {
		t.Errorf("parley_webchat_refused_total{reason=new_visitor_rate} = %g, want 5", n)
	}
	if n := metric(t, reg, "parley_webchat_new_visitors_total", ""); n != 4 {
		t.Errorf("parley_webchat_new_visitors_total = %g, want 4", n)
	}
	if got := rec.inbound(); len(got) != 0 {
		t.Errorf("the handler got %d events; connecting must record nothing", len(got))
	}
}

// TestSocketCaps: the open connections of one address, and of all, are
// capped; a closed connection makes room again.
func TestSocketCaps(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, srv := testServer(t, Config{MaxConnsPerAddress: 2, MaxConns: 3, Metrics: reg}, &recorder{}, nil)
	var open []*client
	for _, from := range []string{"127.0.0.2", "127.0.0.2", "127.0.0.3"} {
		c := helloFrom(t, srv, from, "")
		if f := c.next(); f.Type != "hello" {
			t.Fatalf("connection from %s within the caps: got %+v", from, f)
		}
		open = append(open, c)
	}
	// Refused before the hello: the cap counts handshakes too.
	c, err := dialFrom(t, srv, "127.0.0.2", nil)
	if err != nil {
		t.Fatal(err)
	}
	refusedBusy(t, c, "a third connection from one address")
	c, err = dialFrom(t, srv, "127.0.0.4", nil)
	if err != nil {
		t.Fatal(err)
	}
	refusedBusy(t, c, "a fourth connection in all")
	// A connection is registered just after its hello is written: wait for
	// the last one rather than read the count at once.
	waitFor(t, "three connections registered", func() bool { return a.Connections() == 3 })
	for reason, want := range map[string]float64{refusedAddrConns: 1, refusedConns: 1, refusedNewVisitors: 0} {
		if n := metric(t, reg, "parley_webchat_refused_total", reason); n != want {
			t.Errorf("parley_webchat_refused_total{reason=%s} = %g, want %g", reason, n, want)
		}
	}
	if n := metric(t, reg, "parley_webchat_connections", ""); n != 3 {
		t.Errorf("parley_webchat_connections = %g, want 3", n)
	}

	open[0].ws.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "the closed connection to be given back", func() bool {
		a.guard.mu.Lock()
		defer a.guard.mu.Unlock()
		return a.guard.total == 2
	})
	if c := helloFrom(t, srv, "127.0.0.2", ""); c.next().Type != "hello" {
		t.Error("a connection after one closed was refused")
	}
}

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"ipv4", "192.0.2.7:5555", nil, "192.0.2.7/32"},
		{"ipv6 counts per /64", "[2001:db8:1:2:aaaa::1]:5555", nil, "2001:db8:1:2::/64"},
		{"mapped ipv4", "[::ffff:192.0.2.7]:5555", nil, "192.0.2.7/32"},
		{"forwarded-for from a stranger is ignored", "192.0.2.7:1", []string{"198.51.100.1"}, "192.0.2.7/32"},
		{"behind a trusted proxy", "10.1.2.3:1", []string{"198.51.100.1"}, "198.51.100.1/32"},
		{"rightmost untrusted hop", "10.1.2.3:1", []string{"203.0.113.9, 198.51.100.1", "10.9.9.9"}, "198.51.100.1/32"},
		{"garbage stops the walk", "10.1.2.3:1", []string{"198.51.100.1, nonsense"}, "10.1.2.3/32"},
		{"proxy without the header", "[::1]:1", nil, "::/64"},
		{"unreadable remote", "pipe", nil, "invalid Prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/ws", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientAddr(r, proxies).String(); got != tc.want {
				t.Errorf("ClientAddr = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestFloodLimitsValidated(t *testing.T) {
	for name, cfg := range map[string]Config{
		"NewVisitorBurst":    {NewVisitorBurst: -1},
		"MaxConnsPerAddress": {MaxConnsPerAddress: -1},
		"MaxConns":           {MaxConns: -2},
		"TrustedProxies":     {TrustedProxies: []netip.Prefix{{}}},
	} {
		cfg.Secret = testSecret
		if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: New = %v, want an error naming it", name, err)
		}
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies([]string{"10.0.0.0/8", " 127.0.0.1 ", "::1", "192.168.1.7/16"})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("192.168.0.0/16")}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := ParseTrustedProxies([]string{"proxy.local"}); err == nil || !strings.Contains(err.Error(), `"proxy.local"`) {
		t.Errorf("a host name: %v, want an error naming it", err)
	}
}

// TestGuardForgetsIdleAddresses: an address with no connection whose
// budget has refilled is dropped (at most once a minute), with the
// new-visitor limit on or off, so the map does not keep every address
// ever seen.
func TestGuardForgetsIdleAddresses(t *testing.T) {
	for _, rate := range []float64{1000, -1} {
		g := newGuard(Config{NewVisitorRate: rate, NewVisitorBurst: 2, MaxConnsPerAddress: 5, MaxConns: 10})
		for i := range 50 {
			addr := netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 32)
			if r := g.open(addr); r != "" {
				t.Fatalf("refused %s: %s", addr, r)
			}
			g.newVisitor(addr)
			g.closed(addr)
		}
		time.Sleep(5 * time.Millisecond) // the limit of 1000/s refills
		g.mu.Lock()
		g.lastGC = time.Now().Add(-time.Minute)
		g.peerLocked(netip.MustParsePrefix("198.51.100.1/32"))
		n := len(g.peers)
		g.mu.Unlock()
		if n != 1 {
			t.Errorf("rate %g: %d addresses kept after the sweep, want only the new one", rate, n)
		}
	}
}
