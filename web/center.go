package web

import (
	"context"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/clientperm"
	"github.com/wardenhq/warden/consent"
	"github.com/wardenhq/warden/datarequest"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/internal/httpx"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/ledger"
	"github.com/wardenhq/warden/mfa"
)

// CenterOptions configure the safety and privacy center.
type CenterOptions struct {
	Mac       *sealed.Mac // signs the links (a key of its own in the data directory)
	Consent   *consent.Service
	MFA       *mfa.Service
	Incidents *incident.Service
	// Access and Requests, when set, show the user who accessed their
	// data and their data requests (CONTRACT §8).
	Access   *ledger.Service
	Requests *datarequest.Service
	TTL      time.Duration // how long a link opens the page; zero: 15 minutes
	Now      func() time.Time
}

// Center is the safety and privacy center: a page per platform user,
// opened through a short-lived signed link (no console account), that shows
// and lets the user act on their consent and their two-factor
// authentication, and shows the reports they made and the notices they got.
type Center struct {
	c   *Console
	opt CenterOptions

	// perms says what the user's app read (SetPermissions); nil: not shown.
	perms *clientperm.Service
}

// SetPermissions makes the center show what the user's app read on their
// device in the last 7 days (the sensitive-permission ledger).
func (ce *Center) SetPermissions(svc *clientperm.Service) { ce.perms = svc }

// centerPurpose keeps center links apart from other tokens of the same key.
const centerPurpose = "center-link"

// MountCenter registers the center's pages: GET /center/{token} and the
// forms it posts. They are public routes (the link is the credential); every
// post is checked for cross-site origin and carries a token derived from
// the link.
func (c *Console) MountCenter(opt CenterOptions) *Center {
	if opt.TTL == 0 {
		opt.TTL = 15 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	ce := &Center{c: c, opt: opt}
	c.public("GET /center/{token}", http.HandlerFunc(ce.page))
	c.public("POST /center/{token}/consent", http.HandlerFunc(ce.decide))
	c.public("POST /center/{token}/2fa", http.HandlerFunc(ce.begin))
	c.public("POST /center/{token}/2fa/confirm", http.HandlerFunc(ce.confirm))
	c.public("POST /center/{token}/requests", http.HandlerFunc(ce.request))
	return ce
}

// Link returns a link to user's center under origin, valid for the TTL;
// region picks the documents that apply ("" for those of every region).
func (ce *Center) Link(origin, user, region string) (string, time.Time) {
	exp := ce.opt.Now().Add(ce.opt.TTL).Truncate(time.Second)
	tok := ce.opt.Mac.Sign(centerPurpose, []byte(region+"\x00"+user), exp)
	return strings.TrimSuffix(origin, "/") + "/center/" + tok, exp
}

type centerLink struct {
	token, user, region string
	expires             time.Time
}

// open checks the link of r: a forged or malformed one is not found, an
// expired one gone, so neither says whether a user exists.
func (ce *Center) open(r *http.Request) (*centerLink, error) {
	tok := r.PathValue("token")
	payload, exp, err := ce.opt.Mac.Verify(centerPurpose, tok, ce.opt.Now())
	switch {
	case errors.Is(err, sealed.ErrExpired):
		return nil, &warden.Error{Code: warden.ENOTFOUND, Field: "token", Message: "this link has expired: open the safety and privacy center again from the app"}
	case err != nil:
		return nil, &warden.Error{Code: warden.ENOTFOUND, Field: "token", Message: "this link is not valid: open the safety and privacy center again from the app"}
	}
	region, user, ok := strings.Cut(string(payload), "\x00")
	if !ok {
		return nil, &warden.Error{Code: warden.ENOTFOUND, Field: "token", Message: "this link is not valid"}
	}
	return &centerLink{token: tok, user: user, region: region, expires: exp}, nil
}

func (ce *Center) csrf(l *centerLink) string {
	return base64.RawURLEncoding.EncodeToString(ce.opt.Mac.Sum("center-csrf", []byte(l.token)))
}

// post opens the link of a form post and checks it came from the page.
func (ce *Center) post(w http.ResponseWriter, r *http.Request) (*centerLink, bool) {
	if err := ce.c.cop.Check(r); err != nil {
		ce.c.fail(w, r, errCSRF)
		return nil, false
	}
	l, err := ce.open(r)
	if err != nil {
		ce.c.fail(w, r, err)
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if !tokenEqual(r.PostFormValue("csrf"), ce.csrf(l)) {
		ce.c.fail(w, r, warden.Errorf(warden.EFORBIDDEN, "this form did not come from your safety and privacy center page: open it again from the app"))
		return nil, false
	}
	return l, true
}

// centerView is the page's data.
type centerView struct {
	User, Region, CSRF, Action string
	Expires                    time.Time
	Notice, Error              string
	Receipt                    *receiptView
	Consent                    *consent.Status
	TwoFA                      *mfa.Status
	QR                         template.URL // data: URL of the pending enrolment's QR code
	Secret                     string       // the pending enrolment's secret, for typing in
	RecoveryCodes              []string     // shown once, after confirming
	Reports                    []centerReport
	Notices                    []warden.Notification
	AppReads                   *clientperm.UserView // nil: not served
	Days                       int           // the access history's window (?days=)
	Access                     *centerAccess // who accessed the user's data, their data requests
}

type receiptView struct {
	ID, Decision, Document, KeyID string
	Verified                      bool
}

type centerReport struct {
	ID    string
	Steps []warden.Notification
}

func (ce *Center) page(w http.ResponseWriter, r *http.Request) {
	l, err := ce.open(r)
	if err != nil {
		ce.c.fail(w, r, err)
		return
	}
	v := &centerView{Days: daysOf(r)}
	ce.render(w, r, l, v, http.StatusOK)
}

// render fills in the user's state and writes the page.
func (ce *Center) render(w http.ResponseWriter, r *http.Request, l *centerLink, v *centerView, status int) {
	ctx := r.Context()
	v.User, v.Region, v.Expires, v.CSRF, v.Action = l.user, l.region, l.expires, ce.csrf(l), "/center/"+l.token
	if err := ce.fill(ctx, l, v); err != nil {
		ce.c.fail(w, r, err)
		return
	}
	if err := ce.c.execute(w, r, status, "center.html", "center", v); err != nil {
		ce.c.fail(w, r, err)
	}
}

func (ce *Center) fill(ctx context.Context, l *centerLink, v *centerView) error {
	var err error
	if v.Consent, err = ce.opt.Consent.Status(ctx, l.user, l.region); err != nil {
		return err
	}
	if v.TwoFA, err = ce.opt.MFA.Status(ctx, l.user); err != nil {
		return err
	}
	prompt := mfa.Prompt{Region: marketOf(l.region), Moment: "center"}
	switch {
	case v.TwoFA.Pending:
		uri, err := ce.opt.MFA.PendingURI(ctx, l.user)
		if err != nil {
			return err
		}
		if uri != "" {
			png, err := mfa.QRPNG(uri, 4)
			if err != nil {
				return err
			}
			v.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
			if i := strings.Index(uri, "secret="); i >= 0 {
				v.Secret, _, _ = strings.Cut(uri[i+len("secret="):], "&")
			}
		}
	case !v.TwoFA.Enabled:
		// The page's 2FA section is a prompt: count it as shown.
		if err := ce.opt.MFA.RecordPrompt(ctx, mfa.StageShown, prompt); err != nil {
			return err
		}
	}
	if ce.perms != nil {
		if v.AppReads, err = ce.perms.User(ctx, l.user, 7); err != nil {
			return err
		}
	}
	if err := ce.fillLedgers(ctx, l.user, v.Days, v); err != nil {
		return err
	}
	if ce.opt.Incidents == nil {
		return nil
	}
	ns, _, err := ce.opt.Incidents.Inbox(ctx, l.user, 0, 500)
	if err != nil {
		return err
	}
	byReport := map[string]int{}
	for _, n := range ns {
		if n.ReportID == "" {
			v.Notices = append(v.Notices, n)
			continue
		}
		i, ok := byReport[n.ReportID]
		if !ok {
			i = len(v.Reports)
			byReport[n.ReportID] = i
			v.Reports = append(v.Reports, centerReport{ID: n.ReportID})
		}
		v.Reports[i].Steps = append(v.Reports[i].Steps, n)
	}
	slices.Reverse(v.Notices)
	return nil
}

// marketOf is region as a funnel region: "" for every region.
func marketOf(region string) string {
	if region == consent.AnyRegion {
		return ""
	}
	return region
}

// again renders the page after a refused form, with the error.
func (ce *Center) again(w http.ResponseWriter, r *http.Request, l *centerLink, v *centerView, err error) {
	if warden.ErrorCode(err) == warden.EINTERNAL {
		ce.c.fail(w, r, err)
		return
	}
	v.Error = warden.ErrorMessage(err)
	ce.render(w, r, l, v, httpx.StatusOf(warden.ErrorCode(err)))
}

func (ce *Center) decide(w http.ResponseWriter, r *http.Request) {
	l, ok := ce.post(w, r)
	if !ok {
		return
	}
	v := &centerView{}
	req := consent.DecisionRequest{DocumentID: r.PostFormValue("document_id"), Decision: r.PostFormValue("decision"), CollectionMethod: "safety and privacy center"}
	if req.Decision != consent.Accept && req.Decision != consent.Decline {
		ce.again(w, r, l, v, warden.FieldErrorf("decision", "choose accept or decline"))
		return
	}
	d, err := ce.opt.Consent.Decide(r.Context(), l.user, req)
	if err != nil {
		ce.again(w, r, l, v, err)
		return
	}
	rv := &receiptView{ID: d.ReceiptID, Decision: req.Decision, Document: req.DocumentID}
	if _, err := ce.opt.Consent.Keys().Verify(d.Receipt); err == nil {
		rv.Verified = true
	}
	v.Receipt = rv
	if req.Decision == consent.Accept {
		v.Notice = "Thank you: your acceptance is recorded."
	} else {
		v.Notice = "Your decision to decline is recorded. The document stays pending until you accept it."
	}
	ce.render(w, r, l, v, http.StatusOK)
}

func (ce *Center) begin(w http.ResponseWriter, r *http.Request) {
	l, ok := ce.post(w, r)
	if !ok {
		return
	}
	v := &centerView{}
	p := mfa.Prompt{Region: marketOf(l.region), Moment: "center"}
	if err := ce.opt.MFA.RecordPrompt(r.Context(), mfa.StageOpened, p); err != nil {
		ce.c.fail(w, r, err)
		return
	}
	if _, err := ce.opt.MFA.Begin(r.Context(), l.user, p); err != nil {
		ce.again(w, r, l, v, err)
		return
	}
	v.Notice = "Scan the code with your authenticator app, then type the 6 digits it shows."
	ce.render(w, r, l, v, http.StatusOK)
}

func (ce *Center) confirm(w http.ResponseWriter, r *http.Request) {
	l, ok := ce.post(w, r)
	if !ok {
		return
	}
	v := &centerView{}
	codes, err := ce.opt.MFA.Confirm(r.Context(), l.user, strings.TrimSpace(r.PostFormValue("code")))
	if err != nil {
		ce.again(w, r, l, v, err)
		return
	}
	v.RecoveryCodes = codes
	v.Notice = "Two-factor authentication is on."
	ce.render(w, r, l, v, http.StatusOK)
}
