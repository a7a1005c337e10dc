package incident

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/sqlstore"
)

// EventView is one logged event as the console's event page shows it: the
// event as the platform sent it, the verdict with each rule hit, and the
// kinds of identifier by which it links its actor to other accounts.
type EventView struct {
	Event   warden.Event   `json:"event"`
	Verdict warden.Verdict `json:"verdict"`
	// LinksBy names the identifiers the linked-accounts detector reads on
	// this event ("device", "ip", "email", "phone"); never their values
	// beyond what Event already shows.
	LinksBy []string `json:"links_by"`
	// Network is the IP address's network as the address view groups it
	// (a /24 for IPv4, a /48 for IPv6), or "".
	Network string `json:"network,omitempty"`
}

// EventView returns the logged event id, or ENOTFOUND.
func (s *Service) EventView(ctx context.Context, id string) (*EventView, error) {
	evs, err := s.db.EventsByID(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, warden.Errorf(warden.ENOTFOUND, "no event %s in the log", id)
	}
	v := &EventView{LinksBy: []string{}}
	if err := json.Unmarshal([]byte(evs[0].Body), &v.Event); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(evs[0].Verdict), &v.Verdict); err != nil {
		return nil, err
	}
	for _, l := range detect.Links(&v.Event) {
		v.LinksBy = append(v.LinksBy, l.Via)
	}
	if n, ok := networkOf(v.Event.IP); ok {
		v.Network = n.String()
	}
	return v, nil
}

// AddressView is what recent traffic shows of one IP address: the accounts
// that used it or its network, and the latest events from them.
type AddressView struct {
	Address string `json:"address"`
	Network string `json:"network"`
	// Scanned is how many of the most recent events were read (the log
	// has no index on addresses, so the view is a bounded scan, as the
	// case view's linked accounts are).
	Scanned  int              `json:"scanned"`
	Accounts []AddressAccount `json:"accounts"`
	Events   []AddressEvent   `json:"events"`
}

// AddressEvent is one event from an address or its network.
type AddressEvent struct {
	EvidenceEvent
	Exact bool `json:"exact"` // from the address itself, not only its network
}

// AddressAccount is one account seen on an address or its network.
type AddressAccount struct {
	Account string `json:"account"`
	// Exact is true when the account used the address itself, not only
	// its network.
	Exact   bool          `json:"exact"`
	Events  int           `json:"events"`
	Flagged int           `json:"flagged"` // events whose verdict was not allow
	Last    warden.Micros `json:"last"`
}

// addressScan bounds the events an address view reads, newest first.
const addressScan = 20000

// AddressView returns the accounts and recent events of addr and of its
// network, from the most recent events of the log. A malformed address is
// EINVALID.
func (s *Service) AddressView(ctx context.Context, addr string) (*AddressView, error) {
	ip, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		return nil, warden.Errorf(warden.EINVALID, "%q is not an IP address", addr)
	}
	ip = ip.Unmap()
	net, _ := networkOf(ip.String())
	v := &AddressView{Address: ip.String(), Network: net.String(), Accounts: []AddressAccount{}, Events: []AddressEvent{}}
	by := map[string]*AddressAccount{}
	err = s.db.RecentLogged(ctx, addressScan, func(e sqlstore.SubjectEvent) error {
		v.Scanned++
		var ev warden.Event
		if json.Unmarshal([]byte(e.Body), &ev) != nil || ev.IP == "" {
			return nil
		}
		a, err := netip.ParseAddr(ev.IP)
		if err != nil || !net.Contains(a.Unmap()) {
			return nil
		}
		x, ok := evidenceOf(e, false)
		if !ok {
			return nil
		}
		exact := a.Unmap() == ip
		acc := by[ev.Actor]
		if acc == nil {
			acc = &AddressAccount{Account: ev.Actor, Last: e.Time}
			by[ev.Actor] = acc
		}
		acc.Events++
		acc.Exact = acc.Exact || exact
		acc.Last = max(acc.Last, e.Time)
		if flagged(e.Verdict) {
			acc.Flagged++
		}
		if len(v.Events) < maxEvidence {
			v.Events = append(v.Events, AddressEvent{EvidenceEvent: x, Exact: exact})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, a := range by {
		v.Accounts = append(v.Accounts, *a)
	}
	// Accounts on the address itself first, then the busiest.
	slices.SortFunc(v.Accounts, func(a, b AddressAccount) int {
		if a.Exact != b.Exact {
			return boolInt(b.Exact) - boolInt(a.Exact)
		}
		if a.Events != b.Events {
			return b.Events - a.Events
		}
		return strings.Compare(a.Account, b.Account)
	})
	return v, nil
}

// networkOf returns the network an address view groups addr by: its /24
// for IPv4, its /48 for IPv6.
func networkOf(addr string) (netip.Prefix, bool) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}
