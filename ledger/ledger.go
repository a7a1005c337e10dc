// Package ledger is Warden's data-access ledger (CONTRACT §8): every access
// to a user's personal data by someone inside the platform, with a purpose
// from a closed list and, where the purpose needs one, a ticket. Entries are
// append-only and hash-chained per user, checkpoints signed over every chain
// let `warden ledger verify` find an edited, removed or reordered entry, and
// policy flags (a purpose not allowed for a data category, a missing or
// closed ticket, an actor touching unusually many users, out-of-region
// access) go to admins.
package ledger

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wardenhq/warden"
)

// Purposes, the closed list of CONTRACT §8.
const (
	UserInitiatedSupport = "USER_INITIATED_SUPPORT"
	SafetyReview         = "SAFETY_REVIEW"
	ServiceOperation     = "SERVICE_OPERATION"
	LegalRequest         = "LEGAL_REQUEST"
	IncidentResponse     = "INCIDENT_RESPONSE"
	AutomatedModeration  = "AUTOMATED_MODERATION"
)

// Purposes lists every purpose, in the contract's order.
var Purposes = []string{UserInitiatedSupport, SafetyReview, ServiceOperation, LegalRequest, IncidentResponse, AutomatedModeration}

// NeedsTicket reports whether an access for purpose must name a ticket.
func NeedsTicket(purpose string) bool {
	return purpose == UserInitiatedSupport || purpose == SafetyReview
}

// Actor classes.
const (
	ClassEmployee = "employee"
	ClassService  = "service"
	ClassVendor   = "vendor"
	ClassLegal    = "legal"
)

// ActorClasses lists every actor class.
var ActorClasses = []string{ClassEmployee, ClassService, ClassVendor, ClassLegal}

// whyPurpose says each purpose in words a user reads.
var whyPurpose = map[string]string{
	UserInitiatedSupport: "to answer a support request you made",
	SafetyReview:         "to review a safety report or case",
	ServiceOperation:     "to keep the service running",
	LegalRequest:         "to answer a legal request",
	IncidentResponse:     "to respond to a security incident",
	AutomatedModeration:  "for automated moderation",
}

var whoClass = map[string]string{
	ClassEmployee: "An employee",
	ClassService:  "An internal service",
	ClassVendor:   "A vendor working for the platform",
	ClassLegal:    "The legal team",
}

// Categories is the table of data categories and the purposes each may be
// accessed for (docs/ledgers.md has it in prose). An access naming a
// category for a purpose not in its row is recorded and flagged
// (purpose_not_allowed); a category not in the table is recorded and
// flagged too (unknown_category).
var Categories = map[string][]string{
	"profile":   {UserInitiatedSupport, SafetyReview, ServiceOperation, LegalRequest, IncidentResponse, AutomatedModeration},
	"account":   {UserInitiatedSupport, SafetyReview, ServiceOperation, LegalRequest, IncidentResponse, AutomatedModeration},
	"content":   {UserInitiatedSupport, SafetyReview, LegalRequest, IncidentResponse, AutomatedModeration},
	"messages":  {SafetyReview, LegalRequest, IncidentResponse},
	"contacts":  {LegalRequest, IncidentResponse},
	"location":  {SafetyReview, LegalRequest, IncidentResponse},
	"device":    {UserInitiatedSupport, SafetyReview, ServiceOperation, LegalRequest, IncidentResponse, AutomatedModeration},
	"ip":        {SafetyReview, ServiceOperation, LegalRequest, IncidentResponse, AutomatedModeration},
	"payment":   {UserInitiatedSupport, ServiceOperation, LegalRequest, IncidentResponse},
	"reports":   {UserInitiatedSupport, SafetyReview, LegalRequest},
	"security":  {UserInitiatedSupport, ServiceOperation, IncidentResponse},
	"biometric": {LegalRequest},
}

// categoryWords names each category in the "why" sentence.
var categoryWords = map[string]string{
	"profile": "your profile", "account": "your account details", "content": "your posts and comments",
	"messages": "your messages", "contacts": "your contacts", "location": "your location",
	"device": "your device identifiers", "ip": "your IP addresses", "payment": "your payment details",
	"reports": "your reports", "security": "your security settings", "biometric": "your biometric data",
}

// Limits of a request.
const (
	MaxBody       = 16 << 10
	MaxIDLen      = 200
	MaxCategories = 32
)

// Actor is who accessed the data.
type Actor struct {
	Class string `json:"class"`
	ID    string `json:"id"`
	// Region is where the actor works (ISO 3166-1 alpha-2), optional:
	// with the request's user_region it drives the out-of-region flag.
	Region string `json:"region,omitempty"`
}

// Access is the body of POST /v1/access.
type Access struct {
	User           string    `json:"user"`
	Actor          Actor     `json:"actor"`
	Purpose        string    `json:"purpose"`
	Ticket         string    `json:"ticket,omitempty"`
	DataCategories []string  `json:"data_categories,omitempty"`
	Time           time.Time `json:"time"`
	// UserRegion is the user's region (ISO 3166-1 alpha-2), optional.
	UserRegion string `json:"user_region,omitempty"`
}

// DecodeAccess decodes and validates the body of POST /v1/access. A missing
// or unknown purpose, and a missing ticket where the purpose needs one, is
// EUNPROCESSABLE (422) naming the field; any other bad part EINVALID.
// Nothing is written for a refused body. A zero time is now.
func DecodeAccess(body []byte, now time.Time) (Access, error) {
	var a Access
	if len(body) > MaxBody {
		return a, warden.Errorf(warden.ETOOLARGE, "the body is %d bytes; an access may be at most %d", len(body), MaxBody)
	}
	if err := warden.DecodeStrict(body, &a); err != nil {
		return Access{}, err
	}
	if err := a.Validate(now); err != nil {
		return Access{}, err
	}
	return a, nil
}

func unprocessable(field, format string, args ...any) *warden.Error {
	return &warden.Error{Code: warden.EUNPROCESSABLE, Field: field, Message: fmt.Sprintf(format, args...)}
}

func checkID(field, s string, required bool) error {
	switch {
	case s == "" && required:
		return warden.FieldErrorf(field, "%s is required", field)
	case len(s) > MaxIDLen:
		return warden.FieldErrorf(field, "%s is %d bytes; at most %d", field, len(s), MaxIDLen)
	case !utf8.ValidString(s):
		return warden.FieldErrorf(field, "%s is not valid UTF-8", field)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return warden.FieldErrorf(field, "%s contains a control character", field)
	}
	return nil
}

func checkRegion(field, s string) error {
	if s == "" {
		return nil
	}
	if len(s) != 2 || strings.ToUpper(s) != s || strings.IndexFunc(s, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return warden.FieldErrorf(field, "%s must be an ISO 3166-1 alpha-2 code such as DE, got %q", field, s)
	}
	return nil
}

// Validate checks a and normalises it (sorted, deduplicated, lower-case
// categories; UTC time).
func (a *Access) Validate(now time.Time) error {
	if err := warden.CheckUserID("user", a.User); err != nil {
		return err
	}
	if !slices.Contains(ActorClasses, a.Actor.Class) {
		return warden.FieldErrorf("actor.class", "actor.class must be one of %s", strings.Join(ActorClasses, ", "))
	}
	if err := checkID("actor.id", a.Actor.ID, true); err != nil {
		return err
	}
	if err := checkRegion("actor.region", a.Actor.Region); err != nil {
		return err
	}
	if err := checkRegion("user_region", a.UserRegion); err != nil {
		return err
	}
	if a.Purpose == "" {
		return unprocessable("purpose", "purpose is required: an access without a purpose is refused, not logged afterwards; use one of %s", strings.Join(Purposes, ", "))
	}
	if !slices.Contains(Purposes, a.Purpose) {
		return unprocessable("purpose", "purpose %q is not one of %s", a.Purpose, strings.Join(Purposes, ", "))
	}
	a.Ticket = strings.TrimSpace(a.Ticket)
	if err := checkID("ticket", a.Ticket, false); err != nil {
		return err
	}
	if a.Ticket == "" && NeedsTicket(a.Purpose) {
		return unprocessable("ticket", "purpose %s needs a ticket: the Warden case id or the platform's ticket id the access serves", a.Purpose)
	}
	if len(a.DataCategories) > MaxCategories {
		return warden.FieldErrorf("data_categories", "at most %d data categories", MaxCategories)
	}
	cats := make([]string, 0, len(a.DataCategories))
	for i, c := range a.DataCategories {
		c = strings.ToLower(strings.TrimSpace(c))
		field := fmt.Sprintf("data_categories[%d]", i)
		if err := checkID(field, c, true); err != nil {
			return err
		}
		if strings.Contains(c, ",") {
			return warden.FieldErrorf(field, "a data category has no comma")
		}
		cats = append(cats, c)
	}
	slices.Sort(cats)
	a.DataCategories = slices.Compact(cats)
	if a.Time.IsZero() {
		a.Time = now
	}
	if a.Time.After(now.Add(5 * time.Minute)) {
		return warden.FieldErrorf("time", "time %s is in the future", a.Time.Format(time.RFC3339))
	}
	if a.Time.Year() < 2000 {
		return warden.FieldErrorf("time", "time %s is before 2000", a.Time.Format(time.RFC3339))
	}
	a.Time = a.Time.UTC().Truncate(time.Microsecond)
	return nil
}

// Why says an entry in words a user reads: who, what, why and under which
// ticket.
func Why(actorClass, purpose, ticket string, categories []string) string {
	who := whoClass[actorClass]
	if who == "" {
		who = "Someone"
	}
	what := "your data"
	if len(categories) > 0 {
		words := make([]string, len(categories))
		for i, c := range categories {
			if w, ok := categoryWords[c]; ok {
				words[i] = w
			} else {
				words[i] = "your " + c
			}
		}
		what = joinWords(words)
	}
	why := whyPurpose[purpose]
	if why == "" {
		why = "for " + purpose
	}
	s := fmt.Sprintf("%s looked at %s %s", who, what, why)
	if ticket != "" {
		s += fmt.Sprintf(" (ticket %s)", ticket)
	}
	return s + "."
}

// PurposeWords says a purpose in words a user reads ("to answer a support
// request you made").
func PurposeWords(purpose string) string { return whyPurpose[purpose] }

func joinWords(w []string) string {
	switch len(w) {
	case 1:
		return w[0]
	case 2:
		return w[0] + " and " + w[1]
	}
	return strings.Join(w[:len(w)-1], ", ") + " and " + w[len(w)-1]
}
