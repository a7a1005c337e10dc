package web

import (
	"strings"

	"github.com/wardenhq/warden/clientperm"
	"github.com/wardenhq/warden/datarequest"
	"github.com/wardenhq/warden/ledger"
)

// The center's sentences about what the app read and who accessed the
// user's data, in the page's language. The clientperm and ledger packages
// give the same sentences in English over the API (Summary, Words, Why);
// the page builds them here from the structured fields so that every
// language reads them whole.

// list joins words the language's way: "a, b and c".
func (t *translator) list(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], t.T("list_sep")) + t.T("list_and") + words[len(words)-1]
}

// period is "the last n days".
func (t *translator) period(days int) string { return t.T("period", "Count", days) }

// times is "once", "3 times".
func (t *translator) times(n int64) string { return t.T("times", "Count", int(n)) }

// PermLabel says what permission p reads ("your clipboard (what you
// copied)").
func (t *translator) PermLabel(p string) string {
	return t.T("perm_" + strings.ReplaceAll(p, ".", "_"))
}

// PermTotal is a permission's heading: its label and how many reads.
func (t *translator) PermTotal(p clientperm.PermissionView) string {
	return t.T("perm_total", "Label", t.PermLabel(p.Permission), "Count", int(p.Total))
}

// AppSummary says in one sentence what the app read over the view's days.
func (t *translator) AppSummary(v *clientperm.UserView) string {
	if v.Total == 0 {
		return t.T("appreads_none", "Period", t.period(v.Days))
	}
	items := make([]string, len(v.Permissions))
	for i, p := range v.Permissions {
		items[i] = t.T("perm_times", "Label", t.PermLabel(p.Permission), "Times", t.times(p.Total))
	}
	return t.T("appreads_summary", "Period", t.period(v.Days), "List", t.list(items))
}

// FeatureWords says how one feature read a permission: how often, whether
// the user asked for it, in the background, when last, undeclared.
func (t *translator) FeatureWords(p string, f clientperm.FeatureView) string {
	s := t.T("feature_read", "Feature", f.Feature, "Label", t.PermLabel(p), "Times", t.times(f.Count))
	switch {
	case f.WithoutGesture == 0:
		s += t.T("gesture_all")
	case f.WithGesture == 0:
		s += t.T("gesture_none")
	default:
		s += t.T("gesture_mixed", "Asked", t.times(f.WithGesture), "Own", t.times(f.WithoutGesture))
	}
	if f.InBackground > 0 {
		s += t.T("in_background", "Times", t.times(f.InBackground))
	}
	s += t.T("last_read", "Time", t.Date(f.LastAt))
	if f.Undeclared > 0 {
		s += t.T("undeclared")
	}
	return s
}

// Purpose says why data was accessed ("to answer a support request you
// made").
func (t *translator) Purpose(purpose string) string {
	if ledger.PurposeWords(purpose) == "" {
		return t.T("purpose_other", "Purpose", purpose)
	}
	return t.T("purpose_" + strings.ToLower(purpose))
}

// AccessWhy says one access-ledger entry: who looked at what, why, under
// which ticket.
func (t *translator) AccessWhy(e ledger.Entry) string {
	who := "who_other"
	for _, c := range ledger.ActorClasses {
		if c == e.Actor.Class {
			who = "who_" + c
		}
	}
	what := t.T("cat_all")
	if len(e.DataCategories) > 0 {
		words := make([]string, len(e.DataCategories))
		for i, c := range e.DataCategories {
			if _, ok := ledger.Categories[c]; ok {
				words[i] = t.T("cat_" + c)
			} else {
				words[i] = t.T("cat_other", "Name", c)
			}
		}
		what = t.list(words)
	}
	s := t.T("access_why", "Who", t.T(who), "What", what, "Why", t.Purpose(e.Purpose))
	if e.Ticket != "" {
		s += t.T("access_ticket", "Ticket", e.Ticket)
	}
	return s + t.T("sentence_end")
}

// DaysWord is "30 days".
func (t *translator) DaysWord(n int) string { return t.T("days", "Count", n) }

// AccessNone says nobody accessed the data over the window.
func (t *translator) AccessNone(days int) string { return t.T("access_none", "Period", t.period(days)) }

// RequestKind is a data request's kind in words.
func (t *translator) RequestKind(kind string) string {
	switch kind {
	case datarequest.KindAccess, datarequest.KindErasure:
		return t.T("reqkind_" + kind)
	}
	return kind
}

// RequestStatus is a data request's status in words.
func (t *translator) RequestStatus(status string) string {
	switch status {
	case datarequest.StatusReceived, datarequest.StatusExtended, datarequest.StatusDone:
		return t.T("reqstatus_" + status)
	}
	return status
}
