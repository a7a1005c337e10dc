package datarequest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/ledger"
	"github.com/wardenhq/warden/sqlstore"
)

func newID(prefix string) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := make([]byte, 12)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return prefix + string(b)
}

// Pseudonym is what an erased user's id becomes where a record stays
// (another user's event that targeted them, a report on a case): the same
// for every record of one erasure, tied to nothing that names the person.
func Pseudonym() string { return newID("erased-") }

// StoreSources are the sources Warden's own store holds, in the order the
// export shows them: events (with their verdicts), reports filed,
// notices, decisions about the user, consent receipts, two-factor state
// (never secrets) and the access ledger. led, when set, is told to forget
// an erased user's cached chain state.
func StoreSources(db *sqlstore.DB, led *ledger.Service) []Source {
	return []Source{eventsSource{db}, reportsSource{db}, noticesSource{db}, decisionsSource{db}, consentSource{db}, mfaSource{db}, accessSource{db, led}}
}

// legalHold returns the open cases about user, and the sentence an
// erasure gives for what it keeps because of them.
func legalHold(ctx context.Context, db *sqlstore.DB, user string) ([]string, string, error) {
	cases, err := db.OpenCasesAbout(ctx, user)
	if err != nil || len(cases) == 0 {
		return nil, "", err
	}
	return cases, fmt.Sprintf("legal hold: the account is the subject of open case(s) %s, whose evidence is kept until they are decided", strings.Join(cases, ", ")), nil
}

type eventsSource struct{ db *sqlstore.DB }

func (eventsSource) Section() string { return "events" }

// ExportedEvent is one event the user acted in, with its verdict.
type ExportedEvent struct {
	Event   json.RawMessage `json:"event"`
	Verdict json.RawMessage `json:"verdict,omitempty"`
}

func (s eventsSource) Export(ctx context.Context, user string) (any, error) {
	out := []ExportedEvent{}
	err := s.db.UserEvents(ctx, user, func(r sqlstore.EventRecord) error {
		e := ExportedEvent{Event: r.Body}
		if len(r.Verdict) > 0 && json.Valid(r.Verdict) {
			e.Verdict = r.Verdict
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

func (s eventsSource) Erase(ctx context.Context, user string) (Erased, error) {
	cases, why, err := legalHold(ctx, s.db, user)
	if err != nil {
		return Erased{}, err
	}
	if len(cases) > 0 {
		var n int64
		err := s.db.UserEvents(ctx, user, func(sqlstore.EventRecord) error { n++; return nil })
		return Erased{Kept: n, Why: why}, err
	}
	del, pseudo, err := s.db.EraseUserEvents(ctx, user, Pseudonym())
	return Erased{Deleted: del, Pseudonymised: pseudo}, err
}

type reportsSource struct{ db *sqlstore.DB }

func (reportsSource) Section() string { return "reports" }

func (s reportsSource) Export(ctx context.Context, user string) (any, error) {
	rs, err := s.db.UserReports(ctx, user)
	if rs == nil {
		rs = []warden.Report{}
	}
	return rs, err
}

func (s reportsSource) Erase(ctx context.Context, user string) (Erased, error) {
	var open []string
	rs, err := s.db.UserReports(ctx, user)
	if err != nil {
		return Erased{}, err
	}
	for _, r := range rs {
		c, err := s.db.CaseByID(ctx, r.CaseID)
		if err != nil {
			return Erased{}, err
		}
		if c != nil && c.ClosedAt == 0 {
			open = append(open, c.ID)
		}
	}
	pseudo, kept, err := s.db.EraseUserReports(ctx, user, Pseudonym(), open)
	e := Erased{Pseudonymised: pseudo, Kept: kept}
	if kept > 0 {
		e.Why = "legal hold: reports on cases still open (" + strings.Join(open, ", ") + ") are kept until the case is decided"
	}
	return e, err
}

type noticesSource struct{ db *sqlstore.DB }

func (noticesSource) Section() string { return "notices" }

func (s noticesSource) Export(ctx context.Context, user string) (any, error) {
	ns, err := s.db.AllNotifications(ctx, user)
	if ns == nil {
		ns = []warden.Notification{}
	}
	return ns, err
}

func (s noticesSource) Erase(ctx context.Context, user string) (Erased, error) {
	n, err := s.db.EraseUserNotices(ctx, user)
	return Erased{Deleted: n}, err
}

type decisionsSource struct{ db *sqlstore.DB }

func (decisionsSource) Section() string { return "decisions" }

func (s decisionsSource) Export(ctx context.Context, user string) (any, error) {
	ds, err := s.db.SubjectDecisions(ctx, warden.TargetAccount, user, 10_000)
	if ds == nil {
		ds = []warden.Decision{}
	}
	return ds, err
}

func (s decisionsSource) Erase(ctx context.Context, user string) (Erased, error) {
	ds, err := s.db.SubjectDecisions(ctx, warden.TargetAccount, user, 10_000)
	if err != nil || len(ds) == 0 {
		return Erased{}, err
	}
	return Erased{Kept: int64(len(ds)), Why: "decisions and their statements of reasons are records the platform must keep (DSA Art. 17 and 24(5)); a statement of reasons holds no personal data by design"}, nil
}

type consentSource struct{ db *sqlstore.DB }

func (consentSource) Section() string { return "consent_receipts" }

// ExportedConsent is one consent decision with its signed receipt.
type ExportedConsent struct {
	ReceiptID        string    `json:"receipt_id"`
	DocumentID       string    `json:"document_id"`
	Kind             string    `json:"kind"`
	Region           string    `json:"region"`
	Version          string    `json:"version"`
	Decision         string    `json:"decision"`
	CollectionMethod string    `json:"collection_method"`
	At               time.Time `json:"at"`
	Receipt          string    `json:"receipt"`
}

func (s consentSource) Export(ctx context.Context, user string) (any, error) {
	ds, err := s.db.UserConsentDecisions(ctx, user)
	if err != nil {
		return nil, err
	}
	out := []ExportedConsent{}
	for _, d := range ds {
		full, err := s.db.ConsentReceipt(ctx, d.ReceiptID)
		if err != nil {
			return nil, err
		}
		e := ExportedConsent{ReceiptID: d.ReceiptID, DocumentID: d.DocumentID, Kind: d.Kind, Region: d.Region, Version: d.Version,
			Decision: d.Decision, CollectionMethod: d.CollectionMethod, At: time.UnixMicro(d.AtUS).UTC()}
		if full != nil {
			e.Receipt = full.Receipt
		}
		out = append(out, e)
	}
	return out, nil
}

func (s consentSource) Erase(ctx context.Context, user string) (Erased, error) {
	n, err := s.db.EraseUserConsent(ctx, user)
	return Erased{Deleted: n}, err
}

type mfaSource struct{ db *sqlstore.DB }

func (mfaSource) Section() string { return "two_factor" }

// ExportedMFA is the user's two-factor state, without its secret or codes.
type ExportedMFA struct {
	Enabled           bool       `json:"enabled"`
	Pending           bool       `json:"pending"`
	Methods           []string   `json:"methods"`
	RecoveryCodesLeft int        `json:"recovery_codes_left"`
	EnrolledAt        *time.Time `json:"enrolled_at,omitempty"`
}

func (s mfaSource) Export(ctx context.Context, user string) (any, error) {
	t, err := s.db.TOTP(ctx, user)
	if err != nil {
		return nil, err
	}
	out := ExportedMFA{Methods: []string{}}
	if t == nil {
		return out, nil
	}
	out.Pending = t.Status == sqlstore.TOTPPending
	if t.Status == sqlstore.TOTPEnabled {
		out.Enabled = true
		out.Methods = []string{"totp"}
		at := time.UnixMicro(t.ConfirmedUS).UTC()
		out.EnrolledAt = &at
		out.RecoveryCodesLeft, err = s.db.RecoveryCodesLeft(ctx, user)
		if out.RecoveryCodesLeft > 0 {
			out.Methods = append(out.Methods, "recovery_code")
		}
	}
	return out, err
}

func (s mfaSource) Erase(ctx context.Context, user string) (Erased, error) {
	n, err := s.db.EraseUserMFA(ctx, user)
	return Erased{Deleted: n}, err
}

type accessSource struct {
	db  *sqlstore.DB
	led *ledger.Service
}

func (accessSource) Section() string { return "access_ledger" }

func (s accessSource) Export(ctx context.Context, user string) (any, error) {
	rows, err := s.db.UserAccess(ctx, user, 0, 1_000_000)
	if err != nil {
		return nil, err
	}
	out := make([]ledger.Entry, len(rows))
	for i := range rows {
		out[i] = ledger.EntryOf(&rows[i])
	}
	return out, nil
}

func (s accessSource) Erase(ctx context.Context, user string) (Erased, error) {
	n, err := s.db.EraseAccessSubject(ctx, user)
	if s.led != nil {
		s.led.Forget(user)
	}
	return Erased{Pseudonymised: n, Why: "the entries stay, so the ledger's hash chains still verify, but their link to you is destroyed: the salt that tied your account id to the chain is deleted and the entries no longer name you"}, err
}
