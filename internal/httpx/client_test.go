package httpx

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestParseProxies(t *testing.T) {
	got, err := ParseProxies(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,,::ffff:198.51.100.1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "198.51.100.1/32"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example.com", "10.0.0", "10.0.0.1/8/8"} {
		if _, err := ParseProxies(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if p, err := ParseProxies(""); err != nil || len(p) != 0 {
		t.Fatalf("empty: %v %v", p, err)
	}
}

func TestClientAddrBehindProxies(t *testing.T) {
	trusted, _ := ParseProxies("10.0.0.0/8, 2001:db8::/32")
	tests := []struct {
		name, peer string
		xff        []string
		noProxies  bool
		want       string
	}{
		{"no proxies configured: the peer, whatever the header says", "203.0.113.9:4000", []string{"1.2.3.4"}, true, "203.0.113.9"},
		{"untrusted peer: its own address", "203.0.113.9:4000", []string{"1.2.3.4"}, false, "203.0.113.9"},
		{"trusted peer: the address it forwarded for", "10.0.0.5:4000", []string{"203.0.113.9"}, false, "203.0.113.9"},
		{"a client's own header entries are not believed", "10.0.0.5:4000", []string{"1.2.3.4, 203.0.113.9"}, false, "203.0.113.9"},
		{"a chain of trusted proxies is skipped", "10.0.0.5:4000", []string{"203.0.113.9, 10.0.0.7"}, false, "203.0.113.9"},
		{"several header lines read as one list", "10.0.0.5:4000", []string{"1.2.3.4", "203.0.113.9", "10.9.9.9"}, false, "203.0.113.9"},
		{"no header: the proxy itself", "10.0.0.5:4000", nil, false, "10.0.0.5"},
		{"only proxies in the header: the leftmost", "10.0.0.5:4000", []string{"10.1.1.1, 10.0.0.7"}, false, "10.1.1.1"},
		{"a garbled entry stops the walk", "10.0.0.5:4000", []string{"203.0.113.9, garbage, 10.0.0.7"}, false, "10.0.0.7"},
		{"an entry with a port", "10.0.0.5:4000", []string{"203.0.113.9:5555"}, false, "203.0.113.9"},
		{"IPv6 proxy and client", "[2001:db8::1]:4000", []string{"2001:db9::42"}, false, "2001:db9::42"},
		{"IPv4-mapped client", "10.0.0.5:4000", []string{"::ffff:203.0.113.9"}, false, "203.0.113.9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ClientResolver{Trusted: trusted}
			if tc.noProxies {
				c.Trusted = nil
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := c.Addr(r); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func FuzzParseProxies(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.7, 2001:db8::/32", "", ",,", "10.0.0.0/33", "::ffff:1.2.3.4/128"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseProxies(s)
		if err != nil {
			return
		}
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("%q gave %v", s, p)
			}
		}
	})
}

func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.5:4000", "203.0.113.9, 10.0.0.7")
	f.Add("[2001:db8::1]:1", "garbage,,::ffff:1.2.3.4")
	f.Add("nonsense", "1.2.3.4")
	trusted, _ := ParseProxies("10.0.0.0/8, 2001:db8::/32")
	f.Fuzz(func(t *testing.T, peer, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		got := ClientResolver{Trusted: trusted}.Addr(r)
		// Either the peer itself, or an address the walk parsed.
		if got != PeerAddr(r) {
			if _, err := netip.ParseAddr(got); err != nil {
				t.Fatalf("peer %q, header %q: %q is neither the peer nor an address", peer, xff, got)
			}
		}
	})
}
