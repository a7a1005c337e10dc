package incident

import (
	"fmt"
	"strings"
	"time"

	"github.com/wardenhq/warden"
)

// The templates of every message a user receives. They name no third party:
// a reporter is never told who else reported, an exposed user never told who
// reported or who else was contacted, and internal notes are never an input.

var categoryPhrase = map[string]string{
	warden.CategoryScam:           "scams and fraud",
	warden.CategoryFakeProfile:    "fake profiles",
	warden.CategoryImpersonation:  "impersonation",
	warden.CategoryMisinformation: "misinformation",
	warden.CategoryInappropriate:  "inappropriate content",
	warden.CategoryHarassment:     "harassment",
	warden.CategoryOther:          "our terms of service",
}

var actionPhrase = map[string]string{
	warden.ActNoViolation:    "no action",
	warden.ActRemoveContent:  "removal of the content",
	warden.ActLabel:          "a warning label",
	warden.ActRestrict:       "restriction of visibility and interaction",
	warden.ActSuspendAccount: "suspension of the account",
	warden.ActBanAccount:     "permanent removal of the account",
}

func subjectWord(kind string) string {
	if kind == warden.TargetContent {
		return "content"
	}
	return "account"
}

// AppealWindow is how long after being told of a decision a user may appeal
// it (DSA Art. 20(1): at least six months).
func appealDeadline(decided warden.Micros) time.Time {
	return decided.Time().AddDate(0, 6, 0)
}

const redress = "You can also refer the decision to a certified out-of-court dispute settlement body, or take it to court."

type message struct{ title, body string }

func receiptMessage(r *warden.Report) message {
	return message{
		title: "We received your report",
		body: fmt.Sprintf("Thank you. We received your report of %s under our policy on %s (reference %s, case %s). A moderator will review it, and we will tell you what we decide.",
			article(subjectWord(r.SubjectKind)), categoryPhrase[r.Category], r.ID, r.CaseID),
	}
}

func inReviewMessage(r *warden.Report) message {
	return message{
		title: "Your report is being reviewed",
		body:  fmt.Sprintf("A moderator is now reviewing your report (reference %s).", r.ID),
	}
}

// automationSentence discloses automated means (DSA Art. 16(6)) to the
// reader: a reporter, or the user the decision is about, who filed nothing.
func automationSentence(d *warden.Decision, reporter bool) string {
	switch {
	case d.Automated:
		return "This decision was taken by automated means."
	case d.Detected:
		return "Automated detection flagged this case; a person took the decision."
	case reporter:
		return "A person reviewed your report and took this decision; no automated means were used to decide."
	}
	return "A person reviewed this case and took this decision; no automated means were used to decide."
}

func reporterDecisionMessage(r *warden.Report, d *warden.Decision) message {
	var b strings.Builder
	if d.Restrictive() {
		fmt.Fprintf(&b, "We reviewed your report (reference %s) and took action under our policy on %s: %s. Thank you for helping keep the community safe.",
			r.ID, categoryPhrase[d.Category], actionPhrase[d.Action])
	} else {
		fmt.Fprintf(&b, "We reviewed your report (reference %s) and found that the %s does not break our policy on %s, so we took no action. If you disagree, you can appeal until %s with your report reference.",
			r.ID, subjectWord(d.SubjectKind), categoryPhrase[r.Category], appealDeadline(d.DecidedAt).Format("2 January 2006"))
	}
	b.WriteString(" ")
	b.WriteString(automationSentence(d, true))
	b.WriteString(" ")
	b.WriteString(redress)
	title := "We acted on your report"
	if !d.Restrictive() {
		title = "We reviewed your report"
	}
	return message{title: title, body: b.String()}
}

func statementMessage(d *warden.Decision) message {
	var b strings.Builder
	fmt.Fprintf(&b, "We applied %s to your %s because it breaks our policy on %s (%s). %s",
		actionPhrase[d.Action], subjectWord(d.SubjectKind), categoryPhrase[d.Category], d.Policy, d.Explanation)
	if !strings.HasSuffix(strings.TrimSpace(d.Explanation), ".") {
		b.WriteString(".")
	}
	if d.EndsAt != 0 {
		fmt.Fprintf(&b, " The measure ends on %s.", d.EndsAt.Time().Format("2 January 2006"))
	}
	fmt.Fprintf(&b, " %s You can appeal this decision until %s (decision %s); a person will review your appeal. %s",
		automationSentence(d, false), appealDeadline(d.DecidedAt).Format("2 January 2006"), d.ID, redress)
	return message{title: "Statement of reasons: we restricted your " + subjectWord(d.SubjectKind), body: b.String()}
}

func exposureMessage(d *warden.Decision) message {
	return message{
		title: "A safety notice about an account that contacted you",
		body: fmt.Sprintf("An account you interacted with recently (it messaged you, followed you or commented on your posts) was %s for breaking our policy on %s. "+
			"Do not send it money, codes or personal details. If you shared any, change your password, contact your bank if payment details were involved, and report anything suspicious to us. You do not need to do anything else.",
			exposurePhrase[d.Action], categoryPhrase[d.Category]),
	}
}

var exposurePhrase = map[string]string{
	warden.ActRemoveContent:  "restricted",
	warden.ActLabel:          "labelled",
	warden.ActRestrict:       "restricted",
	warden.ActSuspendAccount: "suspended",
	warden.ActBanAccount:     "removed",
}

func appealReceivedMessage(a *warden.Appeal) message {
	return message{
		title: "We received your appeal",
		body:  fmt.Sprintf("We received your appeal (reference %s). A person who did not take the original decision will review it and tell you the outcome.", a.ID),
	}
}

func appealDecidedMessage(a *warden.Appeal) message {
	if a.Status == warden.AppealReversed {
		return message{title: "Your appeal succeeded", body: fmt.Sprintf("We reviewed your appeal (reference %s) and reversed the decision. %s", a.ID, a.Explanation)}
	}
	return message{title: "Your appeal was not successful", body: fmt.Sprintf("We reviewed your appeal (reference %s) and upheld the decision. %s %s", a.ID, a.Explanation, redress)}
}

func reversalMessage(d *warden.Decision, to string) message {
	switch to {
	case "affected":
		return message{title: "A decision about your " + subjectWord(d.SubjectKind) + " was reversed",
			body: fmt.Sprintf("On review we reversed decision %s: %s has been lifted. We are sorry for the trouble.", d.ID, actionPhrase[d.Action])}
	case "exposed":
		return message{title: "Update to an earlier safety notice",
			body: "On review we reversed the action we told you about in an earlier safety notice. You do not need to do anything."}
	}
	if d.Restrictive() {
		return message{title: "Update on your report", body: fmt.Sprintf("On appeal we reversed the action we had taken after your report (decision %s). %s", d.ID, redress)}
	}
	return message{title: "Update on your report", body: fmt.Sprintf("On appeal we reversed our decision not to act on your report (decision %s). The case is open again; we will tell you what we decide.", d.ID)}
}

func article(w string) string {
	if strings.IndexAny(w[:1], "aeiou") == 0 {
		return "an " + w
	}
	if w == "content" {
		return "content"
	}
	return "a " + w
}
