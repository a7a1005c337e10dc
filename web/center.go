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

// errLinkExpired and errLinkInvalid are the center's refused links: a
// forged or malformed one is not found, an expired one gone, so neither says
// whether a user exists.
var (
	errLinkExpired = &warden.Error{Code: warden.ENOTFOUND, Field: "token", Message: "this link has expired: open the safety and privacy center again from the app"}
	errLinkInvalid = &warden.Error{Code: warden.ENOTFOUND, Field: "token", Message: "this link is not valid: open the safety and privacy center again from the app"}
)

// open checks the link of r.
func (ce *Center) open(r *http.Request) (*centerLink, error) {
	tok := r.PathValue("token")
	payload, exp, err := ce.opt.Mac.Verify(centerPurpose, tok, ce.opt.Now())
	switch {
	case errors.Is(err, sealed.ErrExpired):
		return nil, errLinkExpired
	case err != nil:
		return nil, errLinkInvalid
	}
	region, user, ok := strings.Cut(string(payload), "\x00")
	if !ok {
		return nil, errLinkInvalid
	}
	return &centerLink{token: tok, user: user, region: region, expires: exp}, nil
}

// translator picks the page's language for r (pickLanguage); a bad ?lang=
// is refused with a 400 page in English.
func (ce *Center) translator(w http.ResponseWriter, r *http.Request, region string) (*translator, bool) {
	b, err := loadBundle()
	if err != nil {
		ce.c.fail(w, r, err)
		return nil, false
	}
	tag, err := pickLanguage(r, region)
	if err != nil {
		ce.c.fail(w, r, err)
		return nil, false
	}
	return newTranslator(b, tag), true
}

// openPage opens the link of r and picks the language; a refused link
// gets the center's own error page in the reader's language.
func (ce *Center) openPage(w http.ResponseWriter, r *http.Request) (*centerLink, *translator, bool) {
	l, err := ce.open(r)
	if err != nil {
		tr, ok := ce.translator(w, r, "")
		if ok {
			ce.linkError(w, r, tr, err)
		}
		return nil, nil, false
	}
	tr, ok := ce.translator(w, r, l.region)
	return l, tr, ok
}

// centerError is the data of the center's error page.
type centerError struct {
	*translator
	Title, Message string
}

// linkError writes the page for an expired or forged link.
func (ce *Center) linkError(w http.ResponseWriter, r *http.Request, tr *translator, err error) {
	v := &centerError{translator: tr, Title: tr.T("error_invalid_title"), Message: tr.T("error_link")}
	status := http.StatusNotFound
	if err == errLinkExpired {
		v.Title, status = tr.T("error_expired_title"), http.StatusGone
	}
	if rerr := ce.c.execute(w, r, status, "center.html", "center_error", v); rerr != nil {
		ce.c.fail(w, r, rerr)
	}
}

func (ce *Center) csrf(l *centerLink) string {
	return base64.RawURLEncoding.EncodeToString(ce.opt.Mac.Sum("center-csrf", []byte(l.token)))
}

// post opens the link of a form post and checks it came from the page.
func (ce *Center) post(w http.ResponseWriter, r *http.Request) (*centerLink, *translator, bool) {
	if err := ce.c.cop.Check(r); err != nil {
		ce.c.fail(w, r, errCSRF)
		return nil, nil, false
	}
	l, tr, ok := ce.openPage(w, r)
	if !ok {
		return nil, nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if !tokenEqual(r.PostFormValue("csrf"), ce.csrf(l)) {
		ce.c.fail(w, r, &warden.Error{Code: warden.EFORBIDDEN, Field: "csrf", Message: tr.T("error_form")})
		return nil, nil, false
	}
	return l, tr, true
}

// centerView is the page's data.
type centerView struct {
	*translator
	User, Region, CSRF, Action string
	Query                      string // ?lang= of the page's language, for its forms
	Expires                    time.Time
	Notice, Error              string
	ErrorDetail                string // the refusal in English, when no message of the page's language says it
	Receipt                    *receiptView
	Consent                    *consent.Status
	TwoFA                      *mfa.Status
	QR                         template.URL // data: URL of the pending enrolment's QR code
	Secret                     string       // the pending enrolment's secret, for typing in
	RecoveryCodes              []string     // shown once, after confirming
	Reports                    []centerReport
	Notices                    []warden.Notification
	AppReads                   *clientperm.UserView // nil: not served
	Days                       int                  // the access history's window (?days=)
	Access                     *centerAccess        // who accessed the user's data, their data requests
}

type receiptView struct {
	ID, Decision, Document, KeyID string
	JWS                           string // the signed receipt, for the user to keep
	Verified                      bool
}

type centerReport struct {
	ID    string
	Steps []warden.Notification
}

func (ce *Center) page(w http.ResponseWriter, r *http.Request) {
	l, tr, ok := ce.openPage(w, r)
	if !ok {
		return
	}
	v := &centerView{Days: daysOf(r), translator: tr}
	ce.render(w, r, l, v, http.StatusOK)
}

// render fills in the user's state and writes the page.
func (ce *Center) render(w http.ResponseWriter, r *http.Request, l *centerLink, v *centerView, status int) {
	ctx := r.Context()
	v.User, v.Region, v.Expires, v.CSRF, v.Action = l.user, l.region, l.expires, ce.csrf(l), "/center/"+l.token
	v.Query = "?lang=" + v.Lang()
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

// again renders the page after a refused form, with the error in the
// page's language.
func (ce *Center) again(w http.ResponseWriter, r *http.Request, l *centerLink, v *centerView, err error) {
	code := warden.ErrorCode(err)
	if code == warden.EINTERNAL {
		ce.c.fail(w, r, err)
		return
	}
	var we *warden.Error
	field := ""
	if errors.As(err, &we) {
		field = we.Field
	}
	switch {
	case code == warden.ERATELIMIT:
		v.Error = v.T("error_busy")
	case field == "decision":
		v.Error = v.T("error_decision")
	case field == "code" || code == warden.EUNPROCESSABLE:
		v.Error = v.T("error_code")
	case field == "document_id" || (code == warden.ENOTFOUND && strings.HasSuffix(r.URL.Path, "/consent")):
		v.Error = v.T("error_document")
	default:
		v.Error, v.ErrorDetail = v.T("error_other"), warden.ErrorMessage(err)
	}
	ce.render(w, r, l, v, httpx.StatusOf(warden.ErrorCode(err)))
}

func (ce *Center) decide(w http.ResponseWriter, r *http.Request) {
	l, tr, ok := ce.post(w, r)
	if !ok {
		return
	}
	v := &centerView{translator: tr}
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
	rv := &receiptView{ID: d.ReceiptID, Decision: req.Decision, Document: req.DocumentID, JWS: d.Receipt}
	if _, err := ce.opt.Consent.Keys().Verify(d.Receipt); err == nil {
		rv.Verified = true
	}
	v.Receipt = rv
	if req.Decision == consent.Accept {
		v.Notice = v.T("notice_accepted")
	} else {
		v.Notice = v.T("notice_declined")
	}
	ce.render(w, r, l, v, http.StatusOK)
}

func (ce *Center) begin(w http.ResponseWriter, r *http.Request) {
	l, tr, ok := ce.post(w, r)
	if !ok {
		return
	}
	v := &centerView{translator: tr}
	p := mfa.Prompt{Region: marketOf(l.region), Moment: "center"}
	if err := ce.opt.MFA.RecordPrompt(r.Context(), mfa.StageOpened, p); err != nil {
		ce.c.fail(w, r, err)
		return
	}
	if _, err := ce.opt.MFA.Begin(r.Context(), l.user, p); err != nil {
		ce.again(w, r, l, v, err)
		return
	}
	v.Notice = v.T("notice_scan")
	ce.render(w, r, l, v, http.StatusOK)
}

func (ce *Center) confirm(w http.ResponseWriter, r *http.Request) {
	l, tr, ok := ce.post(w, r)
	if !ok {
		return
	}
	v := &centerView{translator: tr}
	codes, err := ce.opt.MFA.Confirm(r.Context(), l.user, strings.TrimSpace(r.PostFormValue("code")))
	if err != nil {
		ce.again(w, r, l, v, err)
		return
	}
	v.RecoveryCodes = codes
	v.Notice = v.T("notice_2fa_on")
	ce.render(w, r, l, v, http.StatusOK)
}
