// Package partner shares indicators of confirmed bad actors with partner
// platforms and reads theirs: normalised values (email, phone, URL, device
// id, IP prefix) as keyed hashes (HMAC-SHA256 with the partner group's key),
// in feeds signed by their issuer (Ed25519), and imported partner lists that
// the rule engine reads through engine.Partners.
package partner

import (
	"net/netip"
	"net/url"
	"strings"

	"github.com/wardenhq/warden/detect"
)

// Indicator kinds, as a feed's "type".
const (
	KindEmail    = "email"
	KindPhone    = "phone"
	KindURL      = "url"
	KindDevice   = "device"
	KindIPPrefix = "ip_prefix"
)

// Kinds lists every indicator kind, in the order of their index.
var Kinds = []string{KindEmail, KindPhone, KindURL, KindDevice, KindIPPrefix}

// kindIndex returns the index of kind in Kinds, -1 if it is none.
func kindIndex(kind string) int {
	for i, k := range Kinds {
		if k == kind {
			return i
		}
	}
	return -1
}

// Normalise returns the normalised form of a clear value of kind, the form
// that is hashed, or "" when v is not a value of that kind. Email and phone
// are normalised as account linking does (detect.NormEmail, detect.NormPhone:
// lower case, no +tag, Gmail's dots dropped; the digits of a phone number);
// a URL is its host and path, lower-cased, without scheme, port, query,
// fragment or trailing slash; a device id is trimmed; an IP address or
// prefix becomes its IPv4 /24 or IPv6 /48.
func Normalise(kind, v string) string {
	switch kind {
	case KindEmail:
		return detect.NormEmail(v)
	case KindPhone:
		return detect.NormPhone(v)
	case KindURL:
		return normURL(v)
	case KindDevice:
		return strings.TrimSpace(v)
	case KindIPPrefix:
		return normPrefix(v)
	}
	return ""
}

func normURL(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	host = strings.TrimPrefix(host, "www.")
	path := strings.TrimRight(strings.ToLower(u.EscapedPath()), "/")
	return host + path
}

func normPrefix(v string) string {
	v = strings.TrimSpace(v)
	var a netip.Addr
	if p, err := netip.ParsePrefix(v); err == nil {
		a = p.Addr()
	} else if a, err = netip.ParseAddr(v); err != nil {
		return ""
	}
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}
