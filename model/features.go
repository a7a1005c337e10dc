package model

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wardenhq/warden"
)

// Profile is what a platform knows about an account besides its actions.
// Unknown numbers are NaN; unknown flags are -1.
type Profile struct {
	CreatedAt                                        time.Time // zero when unknown
	ScreenName, Name, Description, Location, URL     string
	HasDescription, HasLocation, HasURL              int8 // -1 unknown (the column is absent)
	Followers, Friends, Statuses, Favourites, Listed float64
	DefaultProfile, DefaultProfileImage, GeoEnabled  int8
}

// NewProfile returns a Profile with everything unknown.
func NewProfile() Profile {
	n := math.NaN()
	return Profile{Followers: n, Friends: n, Statuses: n, Favourites: n, Listed: n,
		HasDescription: -1, HasLocation: -1, HasURL: -1, DefaultProfile: -1, DefaultProfileImage: -1, GeoEnabled: -1}
}

// Set sets one profile field by its accounts.csv column name (CONTRACT §5)
// from its text form; "" leaves it unknown. Columns the model does not use
// are ignored: see docs/detection.md for why lang, verified, protected and
// location text are left out. It reports an error for a malformed value.
func (p *Profile) Set(col, v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	num := func(dst *float64) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("%s %q is not a non-negative number", col, clip(v))
		}
		*dst = f
		return nil
	}
	flag := func(dst *int8) error {
		switch strings.ToLower(v) {
		case "true", "1", "1.0", "t", "yes", "y":
			*dst = 1
		case "false", "0", "0.0", "f", "no", "n":
			*dst = 0
		default:
			return fmt.Errorf("%s %q is not true or false", col, clip(v))
		}
		return nil
	}
	pres := func(dst *string, has *int8) error { *dst = v; *has = 1; return nil }
	switch col {
	case "created_at":
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return fmt.Errorf("created_at %q is not RFC 3339", clip(v))
		}
		p.CreatedAt = t
	case "screen_name":
		p.ScreenName = v
	case "name":
		p.Name = v
	case "description":
		return pres(&p.Description, &p.HasDescription)
	case "location":
		return pres(&p.Location, &p.HasLocation)
	case "url":
		return pres(&p.URL, &p.HasURL)
	case "followers_count":
		return num(&p.Followers)
	case "friends_count":
		return num(&p.Friends)
	case "statuses_count":
		return num(&p.Statuses)
	case "favourites_count":
		return num(&p.Favourites)
	case "listed_count":
		return num(&p.Listed)
	case "default_profile":
		return flag(&p.DefaultProfile)
	case "default_profile_image":
		return flag(&p.DefaultProfileImage)
	case "geo_enabled":
		return flag(&p.GeoEnabled)
	}
	return nil
}

// ProfileColumns are the accounts.csv columns Set reads.
var ProfileColumns = []string{"created_at", "screen_name", "name", "description", "location", "url",
	"followers_count", "friends_count", "statuses_count", "favourites_count", "listed_count",
	"default_profile", "default_profile_image", "geo_enabled"}

// KnowText marks the free-text columns as present (empty rather than
// unknown) for a source that has the column but left this cell empty.
func (p *Profile) KnowText(cols map[string]bool) {
	if cols["description"] && p.HasDescription < 0 {
		p.HasDescription = 0
	}
	if cols["location"] && p.HasLocation < 0 {
		p.HasLocation = 0
	}
	if cols["url"] && p.HasURL < 0 {
		p.HasURL = 0
	}
}

// profileCol maps attribute names to the Profile column they set;
// account_created is another platform's name for created_at.
var profileCol = func() map[string]string {
	m := map[string]string{"account_created": "created_at"}
	for _, c := range ProfileColumns {
		m[c] = c
	}
	return m
}()

// Merge updates p from a live event and reports whether p changed: attrs
// named like the accounts.csv columns (followers_count, screen_name, …) set
// those fields, and a signup dates the account. Malformed attrs are ignored:
// the event was accepted, and one bad attribute should not hide the rest.
func (p *Profile) Merge(ev *warden.Event) bool {
	changed := false
	if ev.Type == warden.EventSignup && p.CreatedAt.IsZero() {
		p.CreatedAt, changed = ev.Time, true
	}
	for k := range ev.Attrs {
		c, ok := profileCol[k]
		if !ok || (c == "created_at" && !p.CreatedAt.IsZero()) {
			continue // an account's creation time does not change
		}
		before := *p
		if p.Set(c, ev.Attr(k)) != nil {
			continue
		}
		if c == "description" || c == "location" || c == "url" {
			p.KnowText(map[string]bool{c: true})
		}
		changed = changed || !Same(&before, p)
	}
	return changed
}

// Fill copies into p every field that p does not know and q does.
func (p *Profile) Fill(q *Profile) {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = q.CreatedAt
	}
	str := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	str(&p.ScreenName, q.ScreenName)
	str(&p.Name, q.Name)
	for _, f := range [...][2]*float64{{&p.Followers, &q.Followers}, {&p.Friends, &q.Friends}, {&p.Statuses, &q.Statuses},
		{&p.Favourites, &q.Favourites}, {&p.Listed, &q.Listed}} {
		if math.IsNaN(*f[0]) {
			*f[0] = *f[1]
		}
	}
	if p.HasDescription < 0 && q.HasDescription >= 0 {
		p.Description, p.HasDescription = q.Description, q.HasDescription
	}
	if p.HasLocation < 0 && q.HasLocation >= 0 {
		p.Location, p.HasLocation = q.Location, q.HasLocation
	}
	if p.HasURL < 0 && q.HasURL >= 0 {
		p.URL, p.HasURL = q.URL, q.HasURL
	}
	for _, f := range [...][2]*int8{{&p.DefaultProfile, &q.DefaultProfile}, {&p.DefaultProfileImage, &q.DefaultProfileImage}, {&p.GeoEnabled, &q.GeoEnabled}} {
		if *f[0] < 0 {
			*f[0] = *f[1]
		}
	}
}

// HasCounts reports whether any of the follower, friend or status counts is
// known. Every dataset the model learns from has them, so a missing count
// takes a branch the trees learned from a handful of odd records: scoring
// without any of them gives confident, meaningless answers.
func (p *Profile) HasCounts() bool {
	return !math.IsNaN(p.Followers) || !math.IsNaN(p.Friends) || !math.IsNaN(p.Statuses)
}

// Same reports whether two profiles are equal, NaN counting as equal to NaN.
func Same(a, b *Profile) bool {
	fa := [...]float64{a.Followers, a.Friends, a.Statuses, a.Favourites, a.Listed}
	fb := [...]float64{b.Followers, b.Friends, b.Statuses, b.Favourites, b.Listed}
	for i := range fa {
		if math.Float64bits(fa[i]) != math.Float64bits(fb[i]) {
			return false
		}
	}
	x, y := *a, *b
	x.Followers, x.Friends, x.Statuses, x.Favourites, x.Listed = 0, 0, 0, 0, 0
	y.Followers, y.Friends, y.Statuses, y.Favourites, y.Listed = 0, 0, 0, 0, 0
	return x == y
}

// Feature names, in vector order. The model file stores them and refuses to
// load if they differ from this list.
var Names = []string{
	"log_followers", "log_friends", "log_statuses", "log_favourites", "log_listed",
	"follower_friend_balance", "log_age_days", "log_statuses_per_day", "log_friends_per_day",
	"description_len", "has_url", "has_location", "default_profile", "default_profile_image", "geo_enabled",
	"screen_name_len", "screen_name_digits", "name_len", "name_words", "name_screen_name_overlap",
	"favourites_per_status", "listed_per_follower", "log_followers_per_day",
	"gap_entropy", "gap_log_std", "fast_gap_share", "hour_entropy",
	"repost_share", "dup_text_share", "link_share", "mention_share",
	"log_favourites_per_day", "log_listed_per_day", "name_digits",
	"screen_name_upper_share", "screen_name_distinct_share", "screen_name_underscores",
}

// Vector computes the feature vector of an account at time now (its account
// age is measured to now). b may be nil when nothing is known of its actions.
// Unknown features are NaN.
func Vector(p *Profile, b *Behavior, now time.Time, out []float64) []float64 {
	nan := math.NaN()
	out = out[:0]
	l := func(x float64) float64 { return math.Log1p(x) }
	age := nan
	if !p.CreatedAt.IsZero() {
		age = math.Max(0, now.Sub(p.CreatedAt).Hours()/24)
	}
	flag := func(f int8) float64 {
		if f < 0 {
			return nan
		}
		return float64(f)
	}
	desc := nan
	if p.HasDescription >= 0 {
		desc = float64(utf8.RuneCountInString(p.Description))
	}
	snLen, snDig, nLen, nWords, overlap, nDig := nan, nan, nan, nan, nan, nan
	snUpper, snDistinct, snUnder := nan, nan, nan
	if p.ScreenName != "" {
		snLen = float64(utf8.RuneCountInString(p.ScreenName))
		snDig = float64(countDigits(p.ScreenName))
		snUpper, snDistinct, snUnder = nameStats(p.ScreenName)
	}
	if p.Name != "" {
		nDig = float64(countDigits(p.Name))
		nLen = float64(utf8.RuneCountInString(p.Name))
		nWords = float64(len(strings.Fields(p.Name)))
		if p.ScreenName != "" {
			overlap = bigramOverlap(p.Name, p.ScreenName)
		}
	}
	out = append(out, l(p.Followers), l(p.Friends), l(p.Statuses), l(p.Favourites), l(p.Listed),
		l(p.Followers)-l(p.Friends), l(age), l(p.Statuses/(age+1)), l(p.Friends/(age+1)),
		desc, flag(p.HasURL), flag(p.HasLocation), flag(p.DefaultProfile), flag(p.DefaultProfileImage), flag(p.GeoEnabled),
		snLen, snDig, nLen, nWords, overlap,
		l(p.Favourites)-l(p.Statuses), l(p.Listed)-l(p.Followers), l(p.Followers/(age+1)))
	ge, gs, fast, he, rs, ds, ls, ms := nan, nan, nan, nan, nan, nan, nan, nan
	if b != nil && b.NGaps >= 4 {
		ge = entropy(b.Gaps[:])
		m := float64(b.SumLog / b.NGaps)
		gs = math.Sqrt(math.Max(0, float64(b.SumLog2/b.NGaps)-m*m))
		var f float32
		for _, x := range b.Gaps[:4] { // gaps under 8 s
			f += x
		}
		fast = float64(f / b.NGaps)
	}
	if b != nil && b.N >= 5 {
		he = entropy(b.Hours[:])
		rs = float64(b.Shares / b.N)
	}
	if b != nil && b.Texts >= 3 {
		ds = float64(b.Dups / b.Texts)
		ls = float64(b.Links / b.Texts)
		ms = float64(b.Mentions / b.Texts)
	}
	return append(out, ge, gs, fast, he, rs, ds, ls, ms,
		l(p.Favourites/(age+1)), l(p.Listed/(age+1)), nDig, snUpper, snDistinct, snUnder)
}

// nameStats returns the share of upper-case letters in a screen name, the
// share of its characters that are distinct (case folded) and its number of
// underscores. Generated handles mix case, repeat few characters or pad with
// underscores differently from chosen ones; none of this needs a corpus.
func nameStats(s string) (upper, distinct, under float64) {
	var seen [64]rune // distinct characters of the first 64, case folded
	n, nd, nu, nus := 0, 0, 0, 0
	for _, r := range s {
		n++
		if unicode.IsUpper(r) {
			nu++
		}
		if r == '_' {
			nus++
		}
		if n > len(seen) {
			continue
		}
		r = unicode.ToLower(r)
		if !slices.Contains(seen[:nd], r) {
			seen[nd] = r
			nd++
		}
	}
	return float64(nu) / float64(n), float64(nd) / float64(min(n, len(seen))), float64(nus)
}

// num formats a rate or ratio for reading: whole numbers from 100 up, two
// significant digits below.
func num(x float64) string {
	if math.Abs(x) >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return strconv.FormatFloat(x, 'g', 2, 64)
}

func countDigits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

// bigramOverlap is the Jaccard similarity of the lower-cased letter bigrams of
// a and b: people's handles tend to echo their names; generated ones do not.
func bigramOverlap(a, b string) float64 {
	bg := func(s string) map[[2]rune]bool {
		m := map[[2]rune]bool{}
		var prev rune = -1
		for _, r := range strings.ToLower(s) {
			if !unicode.IsLetter(r) {
				prev = -1
				continue
			}
			if prev >= 0 {
				m[[2]rune{prev, r}] = true
			}
			prev = r
		}
		return m
	}
	x, y := bg(a), bg(b)
	if len(x) == 0 || len(y) == 0 {
		return 0
	}
	in := 0
	for k := range x {
		if y[k] {
			in++
		}
	}
	return float64(in) / float64(len(x)+len(y)-in)
}

// Describe says in words what feature i with value v means, for a moderator.
func Describe(i int, v float64) string {
	if math.IsNaN(v) {
		return Names[i] + " unknown"
	}
	e := func(x float64) float64 { return math.Expm1(x) }
	pct := func(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) }
	switch Names[i] {
	case "log_followers":
		return fmt.Sprintf("%.0f followers", e(v))
	case "log_friends":
		return fmt.Sprintf("follows %.0f accounts", e(v))
	case "log_statuses":
		return fmt.Sprintf("%.0f posts in all", e(v))
	case "log_favourites":
		return fmt.Sprintf("%.0f likes given", e(v))
	case "log_listed":
		return fmt.Sprintf("on %.0f lists", e(v))
	case "follower_friend_balance":
		return fmt.Sprintf("followers/following ratio %s", num(math.Exp(v)))
	case "log_age_days":
		return fmt.Sprintf("account %.0f days old", e(v))
	case "log_statuses_per_day":
		return fmt.Sprintf("%s posts a day", num(e(v)))
	case "log_friends_per_day":
		return fmt.Sprintf("follows %s accounts a day of its age", num(e(v)))
	case "description_len":
		if v == 0 {
			return "no profile description"
		}
		return fmt.Sprintf("profile description of %.0f characters", v)
	case "has_url":
		return map[bool]string{true: "profile has a link", false: "no link in profile"}[v == 1]
	case "has_location":
		return map[bool]string{true: "profile gives a location", false: "no location in profile"}[v == 1]
	case "default_profile":
		return map[bool]string{true: "never customised its profile", false: "customised profile"}[v == 1]
	case "default_profile_image":
		return map[bool]string{true: "default profile image", false: "own profile image"}[v == 1]
	case "geo_enabled":
		return map[bool]string{true: "location tagging on", false: "location tagging off"}[v == 1]
	case "screen_name_len":
		return fmt.Sprintf("screen name of %.0f characters", v)
	case "screen_name_digits":
		return fmt.Sprintf("%.0f digits in screen name", v)
	case "name_len":
		return fmt.Sprintf("display name of %.0f characters", v)
	case "name_words":
		return fmt.Sprintf("display name of %.0f words", v)
	case "name_screen_name_overlap":
		return fmt.Sprintf("screen name shares %s of its letter pairs with the display name", pct(v))
	case "favourites_per_status":
		return fmt.Sprintf("likes given per post written %s", num(math.Exp(v)))
	case "listed_per_follower":
		return fmt.Sprintf("lists per follower %s", num(math.Exp(v)))
	case "log_followers_per_day":
		return fmt.Sprintf("gained %s followers a day of its age", num(e(v)))
	case "gap_entropy":
		return fmt.Sprintf("timing between actions has entropy %.2f of 1 (low is machine-regular)", v)
	case "gap_log_std":
		return fmt.Sprintf("spread of gaps between actions %.2f (log2 s; low is regular)", v)
	case "fast_gap_share":
		return fmt.Sprintf("%s of actions within 8 s of the previous", pct(v))
	case "hour_entropy":
		return fmt.Sprintf("daily rhythm entropy %.2f of 1 (1 is active at all hours alike)", v)
	case "repost_share":
		return fmt.Sprintf("%s of posts are reposts", pct(v))
	case "dup_text_share":
		return fmt.Sprintf("%s of texts repeat its own recent texts", pct(v))
	case "link_share":
		return fmt.Sprintf("%s of texts carry links", pct(v))
	case "mention_share":
		return fmt.Sprintf("%s of texts mention accounts", pct(v))
	case "log_favourites_per_day":
		return fmt.Sprintf("gives %s likes a day of its age", num(e(v)))
	case "log_listed_per_day":
		return fmt.Sprintf("added to %s lists a day of its age", num(e(v)))
	case "name_digits":
		return fmt.Sprintf("%.0f digits in display name", v)
	case "screen_name_upper_share":
		return fmt.Sprintf("%s of the screen name in capitals", pct(v))
	case "screen_name_distinct_share":
		return fmt.Sprintf("%s of the screen name's characters are distinct", pct(v))
	case "screen_name_underscores":
		return fmt.Sprintf("%.0f underscores in screen name", v)
	}
	return fmt.Sprintf("%s = %.3g", Names[i], v)
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
