package web

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/mfa"
)

// consoleUser is the name a console user has in package mfa: a namespace
// the platform's user ids cannot take (the API refuses ids with it, see
// mfa.ConsoleNamespace), so an app key can never touch a console user's
// second factor.
func consoleUser(u *warden.User) string { return mfa.ConsoleNamespace + u.ID }

// MountTwoFactor turns on TOTP two-factor sign-in for console users with
// the same service, library and sealed secrets as the platform users' 2FA.
// With requireAdmins, an admin without it can reach only the enrolment page
// until it is on.
func (c *Console) MountTwoFactor(svc *mfa.Service, requireAdmins bool) {
	c.mfa, c.mfaAdmins = svc, requireAdmins
	c.Page("GET /account/2fa", nil, c.twoFactorPage)
	c.Page("POST /account/2fa", nil, c.twoFactorBegin)
	c.Page("POST /account/2fa/confirm", nil, c.twoFactorConfirm)
	c.Nav("Two-factor", "/account/2fa")
}

// twoFactorView is the enrolment page.
type twoFactorView struct {
	Status        *mfa.Status
	Required      bool
	QR            template.URL
	Secret        string
	RecoveryCodes []string
	Error         string
}

func (c *Console) twoFactorView(r *http.Request, u *warden.User) (*twoFactorView, error) {
	st, err := c.mfa.Status(r.Context(), consoleUser(u))
	if err != nil {
		return nil, err
	}
	v := &twoFactorView{Status: st, Required: c.mfaAdmins && u.Role == warden.RoleAdmin}
	if st.Pending {
		uri, err := c.mfa.PendingURI(r.Context(), consoleUser(u))
		if err != nil {
			return nil, err
		}
		if uri != "" {
			png, err := mfa.QRPNG(uri, 4)
			if err != nil {
				return nil, err
			}
			v.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
			if p, err := url.Parse(uri); err == nil {
				v.Secret = p.Query().Get("secret")
			}
		}
	}
	return v, nil
}

func (c *Console) twoFactorPage(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	v, err := c.twoFactorView(r, u)
	if err != nil {
		return err
	}
	return c.Render(w, r, "twofactor.html", v)
}

func (c *Console) twoFactorBegin(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	if _, err := c.mfa.Begin(r.Context(), consoleUser(u), mfa.Prompt{Moment: "console"}); err != nil && warden.ErrorCode(err) != warden.ECONFLICT {
		return err
	}
	http.Redirect(w, r, "/account/2fa", http.StatusSeeOther)
	return nil
}

func (c *Console) twoFactorConfirm(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	codes, err := c.mfa.Confirm(r.Context(), consoleUser(u), strings.TrimSpace(r.PostFormValue("code")))
	v, verr := c.twoFactorView(r, u)
	if verr != nil {
		return verr
	}
	switch warden.ErrorCode(err) {
	case "":
		v.RecoveryCodes = codes
		c.opt.Logger.Info("console two-factor on", "user", u.Username)
		return c.Render(w, r, "twofactor.html", v)
	case warden.EUNPROCESSABLE, warden.EINVALID, warden.ERATELIMIT:
		v.Error = warden.ErrorMessage(err)
		return c.RenderStatus(w, r, http.StatusUnprocessableEntity, "twofactor.html", v)
	}
	return err
}

// needsEnrolment reports whether u must turn on two-factor sign-in before
// anything else: admins, when the console requires it of them.
func (c *Console) needsEnrolment(r *http.Request, u *warden.User) (bool, error) {
	if c.mfa == nil || !c.mfaAdmins || u.Role != warden.RoleAdmin {
		return false, nil
	}
	st, err := c.mfa.Status(r.Context(), consoleUser(u))
	if err != nil {
		return false, err
	}
	return !st.Enabled, nil
}

// secondFactor checks a signing-in user's code when their second factor is
// on. It returns a message for the form, or "" when the user may go on.
func (c *Console) secondFactor(r *http.Request, u *warden.User, code string) (string, error) {
	if c.mfa == nil {
		return "", nil
	}
	st, err := c.mfa.Status(r.Context(), consoleUser(u))
	if err != nil || !st.Enabled {
		return "", err
	}
	if strings.TrimSpace(code) == "" {
		return "Enter the 6-digit code from your authenticator app, or a recovery code.", nil
	}
	switch _, err := c.mfa.Verify(r.Context(), consoleUser(u), strings.TrimSpace(code)); warden.ErrorCode(err) {
	case "":
		return "", nil
	case warden.EUNPROCESSABLE, warden.EINVALID:
		return "That code does not match, or was used already. Type the code the app shows now.", nil
	case warden.ERATELIMIT:
		return "Too many wrong codes. Wait a few minutes, then try again.", nil
	default:
		return "", err
	}
}
