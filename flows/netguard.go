package flows

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrAddressNotAllowed is returned (inside the error event) when an http
// node's host resolves to an address of this machine or of a private
// network, and no allowed network holds it.
var ErrAddressNotAllowed = errors.New("address not allowed")

// sharedSpace is carrier-grade NAT (RFC 6598), which clouds use for their
// internal services; netip has no predicate for it.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// addressKind says why addr is internal, or "" when it is a public address.
func addressKind(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsPrivate(), sharedSpace.Contains(a):
		return "private"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "link-local"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	case a.Is4() && a.As4()[0] == 0: // 0.0.0.0/8 reaches this host on Linux
		return "unspecified"
	}
	return ""
}

// DialGuard returns a net.Dialer Control function that refuses connections
// to loopback, private, link-local, multicast and unspecified addresses
// unless one of allow holds the address. It runs on the address being
// dialled, after name resolution, so every redirect and a name that
// resolves differently a second time (DNS rebinding) are checked too: an
// allowed host name that resolves to 127.0.0.1 never reaches the admin API.
func DialGuard(allow []netip.Prefix) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %q is not an IP address and port", ErrAddressNotAllowed, address)
		}
		a := ap.Addr().Unmap()
		kind := addressKind(a)
		if kind == "" {
			return nil
		}
		for _, p := range allow {
			if p.Contains(a) {
				return nil
			}
		}
		return fmt.Errorf("%w: %s is a %s address (allow its network explicitly to call it)", ErrAddressNotAllowed, a, kind)
	}
}

// GuardedTransport is the transport http nodes should call through in
// production: http.DefaultTransport's settings with DialGuard(allow) on
// every connection. It ignores HTTP_PROXY and friends: through a proxy the
// guard would check the proxy's address, not the destination's.
func GuardedTransport(allow []netip.Prefix) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: DialGuard(allow)}
	t.DialContext = d.DialContext
	return t
}

// ParseNetworks reads networks http nodes may reach although they are
// internal: CIDR prefixes ("10.1.0.0/16") or single addresses.
func ParseNetworks(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("network %q: want an address or a CIDR prefix such as 10.0.0.0/8", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
