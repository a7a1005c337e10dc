package clientperm

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wardenhq/warden"
)

// RateRule decides when a feature reads a permission too often. The unit
// is one user-minute: the reads one user's client made through one feature
// and permission in one wall-clock minute (records summed by their time).
// A user-minute is anomalous when either
//
//   - its reads exceed PerMinute[permission], a limit no honest use needs
//     (a person pastes a few times a minute; a clipboard read on every few
//     keystrokes of typing, at 150–250 keystrokes a minute, is dozens), or
//   - the feature has at least MinSample user-minutes of that permission in
//     the window, and the user-minute's reads are at least MinReads and
//     above the median of them by more than Spread robust standard
//     deviations (1.4826 × the median absolute deviation, at least 1): a
//     client far outside its own feature's usual pattern. Median and MAD
//     are robust: a few anomalous clients do not raise the bar they are
//     judged by, as a mean and standard deviation would.
//
// A rate flag counts the reads in the anomalous user-minutes and says how
// many users they came from.
type RateRule struct {
	PerMinute map[string]int64
	Spread    float64
	MinReads  int64
	MinSample int
}

// DefaultRate is the rate rule unless Options.Rate says otherwise.
var DefaultRate = RateRule{
	PerMinute: map[string]int64{Clipboard: 6, Contacts: 6, Location: 12, Camera: 20, Microphone: 20, Photos: 60},
	Spread:    6,
	MinReads:  5,
	MinSample: 30,
}

func (r RateRule) withDefaults() RateRule {
	if r.PerMinute == nil {
		r.PerMinute = DefaultRate.PerMinute
	}
	if r.Spread == 0 {
		r.Spread = DefaultRate.Spread
	}
	if r.MinReads == 0 {
		r.MinReads = DefaultRate.MinReads
	}
	if r.MinSample == 0 {
		r.MinSample = DefaultRate.MinSample
	}
	return r
}

// Report is the answer of GET /v1/client/report.
type Report struct {
	AppVersion string    `json:"app_version"`
	Days       int       `json:"days"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	// Manifest tells whether the app version has one; without it every
	// read is undeclared.
	Manifest bool         `json:"manifest"`
	Reads    int64        `json:"reads"`
	Flags    []ReportFlag `json:"flags"`
	Inactive []Inactive   `json:"inactive"`
}

// ReportFlag is one finding: reads of a permission by a feature that break
// the manifest or the rate rule.
type ReportFlag struct {
	Kind       string `json:"kind"`
	Permission string `json:"permission"`
	Feature    string `json:"feature"`
	Count      int64  `json:"count"` // reads
	Users      int    `json:"users,omitempty"`
	Reason     string `json:"reason"`
}

// Inactive is a declared use not seen in the window: code to clean out.
type Inactive struct {
	Feature    string     `json:"feature"`
	Permission string     `json:"permission"`
	Trigger    string     `json:"trigger"`
	LastUsed   *time.Time `json:"last_used"` // null: never
}

var kindOrder = map[string]int{FlagUndeclared: 0, FlagNoGesture: 1, FlagBackground: 2, FlagRate: 3}

// Report checks appVersion's records of the last days against its manifest
// and the rate rule.
func (s *Service) Report(ctx context.Context, appVersion string, days int) (*Report, error) {
	if err := CheckAppVersion("app_version", appVersion); err != nil {
		return nil, err
	}
	if err := CheckDays("days", days); err != nil {
		return nil, err
	}
	to := s.opt.Now().UTC()
	from := to.AddDate(0, 0, -days)
	rep := &Report{AppVersion: appVersion, Days: days, From: from, To: to, Flags: []ReportFlag{}, Inactive: []Inactive{}}
	m, ok, err := s.opt.Store.ClientManifest(ctx, appVersion)
	if err != nil {
		return nil, err
	}
	rep.Manifest = ok
	decl := declared(m)
	// Records up to MaxClockSkew ahead are accepted; the window takes them.
	toUS := to.Add(MaxClockSkew).UnixMicro()
	usage, err := s.opt.Store.PermissionUsage(ctx, appVersion, from.UnixMicro(), toUS)
	if err != nil {
		return nil, err
	}
	type fk struct{ kind, feature, permission string }
	flags := map[fk]*ReportFlag{}
	add := func(kind, feature, permission string, n int64, reason string) *ReportFlag {
		k := fk{kind, feature, permission}
		f := flags[k]
		if f == nil {
			f = &ReportFlag{Kind: kind, Feature: feature, Permission: permission, Reason: reason}
			flags[k] = f
		}
		f.Count += n
		return f
	}
	seen := map[useKey]bool{}
	for _, u := range usage {
		rep.Reads += u.Count
		k := useKey{u.Feature, u.Permission}
		seen[k] = true
		trig, isDecl := decl[k]
		switch {
		case !ok:
			add(FlagUndeclared, u.Feature, u.Permission, u.Count, fmt.Sprintf("app version %s has no manifest: no feature of it declared %s", appVersion, u.Permission))
		case !isDecl:
			add(FlagUndeclared, u.Feature, u.Permission, u.Count, fmt.Sprintf("the manifest does not declare that %q uses %s", u.Feature, u.Permission))
		case trig == TriggerUserGesture && u.Trigger == TriggerProgrammatic:
			add(FlagNoGesture, u.Feature, u.Permission, u.Count, fmt.Sprintf("the manifest lets %q use %s only after a user gesture; these reads had none", u.Feature, u.Permission))
		}
		if !u.Foreground {
			add(FlagBackground, u.Feature, u.Permission, u.Count, fmt.Sprintf("%q read %s while the app was in the background", u.Feature, u.Permission))
		}
	}
	minutes, err := s.opt.Store.PermissionMinutes(ctx, appVersion, from.UnixMicro(), toUS)
	if err != nil {
		return nil, err
	}
	for _, a := range s.opt.Rate.anomalies(minutes) {
		f := add(FlagRate, a.feature, a.permission, a.reads, a.reason)
		f.Users = a.users
	}
	for _, f := range flags {
		rep.Flags = append(rep.Flags, *f)
	}
	slices.SortFunc(rep.Flags, func(a, b ReportFlag) int {
		return cmp.Or(cmp.Compare(kindOrder[a.Kind], kindOrder[b.Kind]), cmp.Compare(b.Count, a.Count),
			cmp.Compare(a.Feature, b.Feature), cmp.Compare(a.Permission, b.Permission))
	})
	if ok {
		last, err := s.opt.Store.PermissionLastUse(ctx, appVersion)
		if err != nil {
			return nil, err
		}
		lastOf := map[useKey]int64{}
		for _, l := range last {
			lastOf[useKey{l.Feature, l.Permission}] = l.LastUS
		}
		for _, f := range m.Features {
			for _, u := range f.Permissions {
				k := useKey{f.Feature, u.Permission}
				if seen[k] {
					continue
				}
				in := Inactive{Feature: f.Feature, Permission: u.Permission, Trigger: u.Trigger}
				if us, ok := lastOf[k]; ok {
					t := time.UnixMicro(us).UTC()
					in.LastUsed = &t
				}
				rep.Inactive = append(rep.Inactive, in)
			}
		}
	}
	return rep, nil
}

type anomaly struct {
	feature, permission string
	reads               int64
	users               int
	reason              string
}

// anomalies applies the rule to user-minutes; see RateRule.
func (r RateRule) anomalies(ms []MinuteCount) []anomaly {
	type key struct{ feature, permission string }
	groups := map[key][]MinuteCount{}
	for _, m := range ms {
		k := key{m.Feature, m.Permission}
		groups[k] = append(groups[k], m)
	}
	var out []anomaly
	for k, g := range groups {
		limit, hasLimit := r.PerMinute[k.permission]
		counts := make([]float64, len(g))
		for i, m := range g {
			counts[i] = float64(m.Count)
		}
		relative := len(g) >= r.MinSample
		var bar float64
		if relative {
			med := median(counts)
			dev := make([]float64, len(counts))
			for i, c := range counts {
				dev[i] = abs(c - med)
			}
			sd := max(1.4826*median(dev), 1)
			bar = med + r.Spread*sd
		}
		a := anomaly{feature: k.feature, permission: k.permission}
		users := map[string]bool{}
		var peak int64
		for _, m := range g {
			over := hasLimit && m.Count > limit
			if !over && relative && m.Count >= r.MinReads && float64(m.Count) > bar {
				over = true
			}
			if over {
				a.reads += m.Count
				users[m.UserHash] = true
				peak = max(peak, m.Count)
			}
		}
		if a.reads == 0 {
			continue
		}
		a.users = len(users)
		var why []string
		if hasLimit {
			why = append(why, fmt.Sprintf("the limit for %s is %d a minute", k.permission, limit))
		}
		if relative {
			why = append(why, fmt.Sprintf("this feature's usual user-minute is at most %.0f", bar))
		}
		a.reason = fmt.Sprintf("up to %d reads a minute by one user's client (%s)", peak, strings.Join(why, "; "))
		out = append(out, a)
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// UserView is the answer of GET /v1/users/{user}/permissions: what the
// user's app read on their device, by permission and feature, in words.
type UserView struct {
	User        string           `json:"user"`
	Days        int              `json:"days"`
	From        time.Time        `json:"from"`
	To          time.Time        `json:"to"`
	Total       int64            `json:"total"`
	Summary     string           `json:"summary"`
	Permissions []PermissionView `json:"permissions"`
}

// PermissionView is one permission's reads in a user's view.
type PermissionView struct {
	Permission string        `json:"permission"`
	Label      string        `json:"label"` // "your clipboard"
	Total      int64         `json:"total"`
	Features   []FeatureView `json:"features"`
}

// FeatureView is one feature's reads of one permission in a user's view.
type FeatureView struct {
	Feature        string    `json:"feature"`
	Count          int64     `json:"count"`
	WithGesture    int64     `json:"with_gesture"`
	WithoutGesture int64     `json:"without_gesture"`
	InBackground   int64     `json:"in_background"`
	Undeclared     int64     `json:"undeclared"`
	LastAt         time.Time `json:"last_at"`
	Words          string    `json:"words"`
}

// labels say what a permission reads, in words a user reads.
var labels = map[string]string{
	Clipboard:  "your clipboard (what you copied)",
	Contacts:   "your contacts",
	Location:   "your location",
	Camera:     "your camera",
	Microphone: "your microphone",
	Photos:     "your photos",
}

// Label is the words for what permission p reads.
func Label(p string) string { return labels[p] }

// User returns user's view over the last days.
func (s *Service) User(ctx context.Context, user string, days int) (*UserView, error) {
	if err := warden.CheckUserID("user", user); err != nil {
		return nil, err
	}
	if err := CheckDays("days", days); err != nil {
		return nil, err
	}
	to := s.opt.Now().UTC()
	from := to.AddDate(0, 0, -days)
	recs, err := s.opt.Store.PermissionRecordsOf(ctx, s.Pseudonym(user), from.UnixMicro(), to.Add(MaxClockSkew).UnixMicro())
	if err != nil {
		return nil, err
	}
	v := &UserView{User: user, Days: days, From: from, To: to, Permissions: []PermissionView{}}
	byPerm := map[string]map[string]*FeatureView{}
	for _, r := range recs {
		fs := byPerm[r.Permission]
		if fs == nil {
			fs = map[string]*FeatureView{}
			byPerm[r.Permission] = fs
		}
		f := fs[r.Feature]
		if f == nil {
			f = &FeatureView{Feature: r.Feature}
			fs[r.Feature] = f
		}
		n := int64(r.Count)
		f.Count += n
		if r.Trigger == TriggerUserGesture {
			f.WithGesture += n
		} else {
			f.WithoutGesture += n
		}
		if !r.Foreground {
			f.InBackground += n
		}
		if !r.Declared {
			f.Undeclared += n
		}
		if t := time.UnixMicro(r.TimeUS).UTC(); t.After(f.LastAt) {
			f.LastAt = t
		}
		v.Total += n
	}
	for _, p := range Permissions {
		fs := byPerm[p]
		if len(fs) == 0 {
			continue
		}
		pv := PermissionView{Permission: p, Label: labels[p]}
		for _, f := range fs {
			f.Words = words(p, f)
			pv.Total += f.Count
			pv.Features = append(pv.Features, *f)
		}
		slices.SortFunc(pv.Features, func(a, b FeatureView) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Feature, b.Feature))
		})
		v.Permissions = append(v.Permissions, pv)
	}
	v.Summary = summary(v)
	return v, nil
}

func times(n int64) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

func words(p string, f *FeatureView) string {
	s := fmt.Sprintf("The app's %q feature read %s %s", f.Feature, labels[p], times(f.Count))
	switch {
	case f.WithoutGesture == 0:
		s += ", each time right after you tapped or pressed something to ask for it"
	case f.WithGesture == 0:
		s += ", each time on its own, without you tapping or pressing anything to ask for it"
	default:
		s += fmt.Sprintf(": %s after you asked for it, %s on its own", times(f.WithGesture), times(f.WithoutGesture))
	}
	if f.InBackground > 0 {
		s += fmt.Sprintf("; %s while you were not using the app", times(f.InBackground))
	}
	s += fmt.Sprintf(". Last on %s.", f.LastAt.Format("2 January 2006 at 15:04 UTC"))
	if f.Undeclared > 0 {
		s += " The app had not declared this use; the platform's staff have been told."
	}
	return s
}

func summary(v *UserView) string {
	period := fmt.Sprintf("the last %d days", v.Days)
	if v.Days == 1 {
		period = "the last day"
	}
	if v.Total == 0 {
		return fmt.Sprintf("In %s your app read none of your clipboard, contacts, location, camera, microphone or photos.", period)
	}
	s := fmt.Sprintf("In %s your app read", period)
	for i, p := range v.Permissions {
		switch {
		case i == 0:
		case i == len(v.Permissions)-1:
			s += " and"
		default:
			s += ","
		}
		s += fmt.Sprintf(" %s %s", labels[p.Permission], times(p.Total))
	}
	return s + "."
}

// ExportedRecord is one permission record in a user's data export.
type ExportedRecord struct {
	AppVersion string    `json:"app_version"`
	Permission string    `json:"permission"`
	Feature    string    `json:"feature"`
	Trigger    string    `json:"trigger"`
	Foreground bool      `json:"foreground"`
	Count      int       `json:"count"`
	Time       time.Time `json:"time"`
	ReceivedAt time.Time `json:"received_at"`
	Declared   bool      `json:"declared"`
}

// Export returns every permission record Warden holds on user (all time,
// oldest first) as a []ExportedRecord, for the data request export of
// CONTRACT §8: the records carry no content, and the user id only as its
// pseudonym, which Export computes from user.
func (s *Service) Export(ctx context.Context, user string) (any, error) {
	if err := warden.CheckUserID("user", user); err != nil {
		return nil, err
	}
	recs, err := s.opt.Store.PermissionRecordsOf(ctx, s.Pseudonym(user), 0, 1<<62)
	if err != nil {
		return nil, err
	}
	out := make([]ExportedRecord, len(recs))
	for i, r := range recs {
		out[i] = ExportedRecord{AppVersion: r.AppVersion, Permission: r.Permission, Feature: r.Feature, Trigger: r.Trigger,
			Foreground: r.Foreground, Count: r.Count, Time: time.UnixMicro(r.TimeUS).UTC(), ReceivedAt: time.UnixMicro(r.ReceivedUS).UTC(), Declared: r.Declared}
	}
	return out, nil
}

// Erase deletes every permission record of user, for an erasure request,
// and returns how many it deleted. The report's findings about the app
// lose the user's reads with them: permission records are not kept under a
// legal hold.
func (s *Service) Erase(ctx context.Context, user string) (int, error) {
	if err := warden.CheckUserID("user", user); err != nil {
		return 0, err
	}
	return s.opt.Store.DeletePermissionRecordsOf(ctx, s.Pseudonym(user))
}
