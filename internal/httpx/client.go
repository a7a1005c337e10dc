package httpx

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseProxies parses a comma-separated list of proxy addresses or CIDR
// prefixes ("10.0.0.0/8, 192.0.2.7"), as given to --trusted-proxies.
func ParseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q is not an address or CIDR prefix", f)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is not an address or CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// ClientResolver finds the client's address of a request. Behind trusted
// reverse proxies it reads X-Forwarded-For from the right, skipping the
// proxies, so the first address a trusted proxy received the request from
// is the client; a client cannot choose its address by sending the header
// itself, because only entries that trusted proxies appended are believed.
type ClientResolver struct {
	// Trusted are the reverse proxies in front of the server (as
	// ParseProxies returns them); empty means the connection's peer is the
	// client.
	Trusted []netip.Prefix
}

func (c ClientResolver) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range c.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// PeerAddr is the address of the connection's peer, without the port.
func PeerAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Addr is the address of the client that sent r, without the port: the
// connection's peer, or behind trusted proxies the address they forwarded
// for.
func (c ClientResolver) Addr(r *http.Request) string {
	host := PeerAddr(r)
	if len(c.Trusted) == 0 {
		return host
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !c.isTrusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if h == "" {
			continue
		}
		a, err := netip.ParseAddr(h)
		if err != nil {
			if ap, perr := netip.ParseAddrPort(h); perr == nil {
				a, err = ap.Addr(), nil
			}
		}
		if err != nil {
			break // a garbled entry: trust nothing left of it
		}
		client = a.Unmap()
		if !c.isTrusted(client) {
			break
		}
	}
	return client.String()
}
