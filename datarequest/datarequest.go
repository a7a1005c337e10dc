// Package datarequest runs users' GDPR access and erasure requests on the
// Art. 12(3) clock (CONTRACT §8): one calendar month to answer, extendable
// once by two months with a notice to the user inside the first month;
// reminders when a request nears its due date; the export of everything
// Warden holds on the user, built from the store, as JSON or a readable
// page; and erasure everywhere Warden stores personal data, except what a
// legal hold keeps. Each store of personal data is a Source, so export and
// erasure compose: a new package adds its Source to Options.Sources.
package datarequest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// Erased is what a Source's erasure did: how many records it deleted and
// pseudonymised, how many it kept, and why it kept them.
type Erased struct {
	Section       string `json:"section"`
	Deleted       int64  `json:"deleted"`
	Pseudonymised int64  `json:"pseudonymised"`
	Kept          int64  `json:"kept"`
	Why           string `json:"why,omitempty"`
}

// Source is one store of a user's personal data: its section of the
// export, and its part of an erasure.
type Source interface {
	Section() string
	Export(ctx context.Context, user string) (any, error)
	Erase(ctx context.Context, user string) (Erased, error)
}

// Request kinds and states.
const (
	KindAccess  = "access"
	KindErasure = "erasure"

	StatusReceived = "received"
	StatusExtended = "extended"
	StatusDone     = "done"
)

// ReminderWindow: a request due within it is reminded about.
const ReminderWindow = 7 * 24 * time.Hour

// Options configure a Service.
type Options struct {
	DB      *sqlstore.DB
	Sources []Source
	Logger  *slog.Logger
	// Registerer, when set, gets the reminder metrics.
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Service runs data requests.
type Service struct {
	opt      Options
	dueSoon  prometheus.Gauge
	overdue  prometheus.Gauge
	reminded prometheus.Counter
}

// New returns a Service.
func New(opt Options) *Service {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Service{opt: opt,
		dueSoon:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "warden_data_requests_due_soon", Help: "Open data requests due within 7 days."}),
		overdue:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "warden_data_requests_overdue", Help: "Open data requests past their due date."}),
		reminded: prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_data_request_reminders_total", Help: "Reminders sent for data requests near their due date."}),
	}
	if opt.Registerer != nil {
		opt.Registerer.MustRegister(s.dueSoon, s.overdue, s.reminded)
	}
	return s
}

// AddSource adds a store of personal data (another package's, such as the
// client-permission ledger) to exports and erasures.
func (s *Service) AddSource(src Source) { s.opt.Sources = append(s.opt.Sources, src) }

// Request is a data request as the API shows it.
type Request struct {
	ID              string     `json:"id"`
	User            string     `json:"user"`
	Kind            string     `json:"kind"`
	Status          string     `json:"status"`
	ReceivedAt      time.Time  `json:"received_at"`
	DueAt           time.Time  `json:"due_at"`
	Overdue         bool       `json:"overdue"`
	ExtendedAt      *time.Time `json:"extended_at,omitempty"`
	ExtensionReason string     `json:"extension_reason,omitempty"`
	DoneAt          *time.Time `json:"done_at,omitempty"`
	OnTime          *bool      `json:"answered_on_time,omitempty"`
	// Erased is what an erasure did, section by section.
	Erased []Erased `json:"erased,omitempty"`
}

func (s *Service) view(r *sqlstore.DataRequest) Request {
	now := s.opt.Now()
	v := Request{ID: r.ID, User: r.UserID, Kind: r.Kind, Status: r.Status, ReceivedAt: time.UnixMicro(r.ReceivedUS).UTC(), DueAt: time.UnixMicro(r.DueUS).UTC(),
		ExtensionReason: r.ExtensionReason}
	if r.ExtendedUS != 0 {
		t := time.UnixMicro(r.ExtendedUS).UTC()
		v.ExtendedAt = &t
	}
	if r.DoneUS != 0 {
		t := time.UnixMicro(r.DoneUS).UTC()
		v.DoneAt = &t
		on := r.DoneUS <= r.DueUS
		v.OnTime = &on
	} else {
		v.Overdue = now.UnixMicro() > r.DueUS
	}
	if r.Kind == KindErasure && r.Result != "" {
		json.Unmarshal([]byte(r.Result), &v.Erased)
	}
	return v
}

// DecodeKind decodes the body of POST /v1/users/{user}/requests.
func DecodeKind(body []byte) (string, error) {
	var b struct {
		Kind string `json:"kind"`
	}
	if err := warden.DecodeStrict(body, &b); err != nil {
		return "", err
	}
	if b.Kind != KindAccess && b.Kind != KindErasure {
		return "", warden.FieldErrorf("kind", "kind must be access or erasure")
	}
	return b.Kind, nil
}

// DecodeReason decodes the body of POST /v1/requests/{id}/extend.
func DecodeReason(body []byte) (string, error) {
	var b struct {
		Reason string `json:"reason"`
	}
	if err := warden.DecodeStrict(body, &b); err != nil {
		return "", err
	}
	b.Reason = strings.TrimSpace(b.Reason)
	if b.Reason == "" {
		return "", warden.FieldErrorf("reason", "reason is required: the user is told why their request takes longer (GDPR Art. 12(3))")
	}
	if len(b.Reason) > 2000 {
		return "", warden.FieldErrorf("reason", "reason is at most 2000 bytes")
	}
	return b.Reason, nil
}

// Create records a new request; it is due one calendar month after it was
// received.
func (s *Service) Create(ctx context.Context, user, kind string) (Request, error) {
	if err := warden.CheckUserID("user", user); err != nil {
		return Request{}, err
	}
	if kind != KindAccess && kind != KindErasure {
		return Request{}, warden.FieldErrorf("kind", "kind must be access or erasure")
	}
	now := s.opt.Now().UTC()
	r := &sqlstore.DataRequest{ID: newID("DR-"), UserID: user, Kind: kind, Status: StatusReceived, ReceivedUS: now.UnixMicro(), DueUS: now.AddDate(0, 1, 0).UnixMicro()}
	if err := s.opt.DB.AddDataRequest(ctx, r); err != nil {
		return Request{}, err
	}
	s.opt.Logger.Info("data request received", "id", r.ID, "kind", kind, "due", time.UnixMicro(r.DueUS).UTC())
	return s.view(r), nil
}

// Get returns one request.
func (s *Service) Get(ctx context.Context, id string) (Request, error) {
	r, err := s.get(ctx, id)
	if err != nil {
		return Request{}, err
	}
	return s.view(r), nil
}

func (s *Service) get(ctx context.Context, id string) (*sqlstore.DataRequest, error) {
	r, err := s.opt.DB.DataRequestByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, warden.Errorf(warden.ENOTFOUND, "no data request %s", id)
	}
	return r, nil
}

// List returns requests by status ("open": received or extended, the
// default; "done"; "all"), nearest due first.
func (s *Service) List(ctx context.Context, status string) ([]Request, error) {
	var st []string
	switch status {
	case "", "open":
		st = []string{StatusReceived, StatusExtended}
	case StatusReceived, StatusExtended, StatusDone:
		st = []string{status}
	case "all":
	default:
		return nil, warden.FieldErrorf("status", "status must be open, received, extended, done or all")
	}
	rows, err := s.opt.DB.DataRequests(ctx, st, 1000)
	if err != nil {
		return nil, err
	}
	out := make([]Request, len(rows))
	for i := range rows {
		out[i] = s.view(&rows[i])
	}
	return out, nil
}

// UserRequests returns a user's requests, newest first.
func (s *Service) UserRequests(ctx context.Context, user string) ([]Request, error) {
	rows, err := s.opt.DB.UserDataRequests(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]Request, len(rows))
	for i := range rows {
		out[i] = s.view(&rows[i])
	}
	return out, nil
}

// Extend gives a request two more months (GDPR Art. 12(3)): only once,
// only while it is open, and only inside the first month after it was
// received. The user gets a notice in their inbox with the reason.
func (s *Service) Extend(ctx context.Context, id, reason string) (Request, error) {
	r, err := s.get(ctx, id)
	if err != nil {
		return Request{}, err
	}
	now := s.opt.Now().UTC()
	received := time.UnixMicro(r.ReceivedUS).UTC()
	switch {
	case r.Status == StatusDone:
		return Request{}, warden.Errorf(warden.ECONFLICT, "request %s is done", id)
	case r.ExtendedUS != 0:
		return Request{}, warden.Errorf(warden.ECONFLICT, "request %s was extended already; Art. 12(3) allows one extension of two months", id)
	case !now.Before(received.AddDate(0, 1, 0)):
		return Request{}, warden.Errorf(warden.ECONFLICT, "request %s was received on %s: an extension must be notified inside the first month", id, received.Format("2006-01-02"))
	}
	due := received.AddDate(0, 3, 0)
	ok, err := s.opt.DB.ExtendDataRequest(ctx, id, due.UnixMicro(), now.UnixMicro(), reason)
	if err != nil {
		return Request{}, err
	}
	if !ok {
		return Request{}, warden.Errorf(warden.ECONFLICT, "request %s changed meanwhile; look again", id)
	}
	n := &warden.Notification{ID: newID("N-"), UserID: r.UserID, Kind: "data_request", Title: "Your data request needs more time",
		Body:      fmt.Sprintf("We need more time to answer your %s request of %s: %s. We will answer by %s.", r.Kind, received.Format("2 January 2006"), reason, due.Format("2 January 2006")),
		CreatedAt: warden.MicrosOf(now)}
	if err := s.opt.DB.Incidents(ctx, func(tx *sqlstore.IncidentTx) error {
		_, err := tx.InsertNotification(ctx, n)
		return err
	}); err != nil {
		return Request{}, fmt.Errorf("extension notice: %w", err)
	}
	return s.Get(ctx, id)
}

// Fulfil answers a request: an access request by building its export from
// the store (the export is served, built afresh, from then on), an erasure
// by erasing every source. by names who did it.
func (s *Service) Fulfil(ctx context.Context, id, by string) (Request, error) {
	r, err := s.get(ctx, id)
	if err != nil {
		return Request{}, err
	}
	if r.Status == StatusDone {
		return Request{}, warden.Errorf(warden.ECONFLICT, "request %s is done already", id)
	}
	var result string
	switch r.Kind {
	case KindAccess:
		doc, err := s.build(ctx, r)
		if err != nil {
			return Request{}, err
		}
		counts := map[string]int{}
		for k, v := range doc.Sections {
			counts[k] = countOf(v)
		}
		b, _ := json.Marshal(counts)
		result = string(b)
	case KindErasure:
		erased, err := s.Erase(ctx, r.UserID)
		if err != nil {
			return Request{}, err
		}
		b, _ := json.Marshal(erased)
		result = string(b)
	}
	if _, err := s.opt.DB.FinishDataRequest(ctx, id, by, result, s.opt.Now().UnixMicro()); err != nil {
		return Request{}, err
	}
	s.opt.Logger.Info("data request done", "id", id, "kind", r.Kind)
	return s.Get(ctx, id)
}

func countOf(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	var xs []json.RawMessage
	if json.Unmarshal(b, &xs) == nil {
		return len(xs)
	}
	return 1
}

// Erase runs every source's erasure for user, in order, and returns what
// each did.
func (s *Service) Erase(ctx context.Context, user string) ([]Erased, error) {
	var out []Erased
	for _, src := range s.opt.Sources {
		e, err := src.Erase(ctx, user)
		if err != nil {
			return out, fmt.Errorf("erase %s: %w", src.Section(), err)
		}
		e.Section = src.Section()
		out = append(out, e)
	}
	return out, nil
}

// Document is the export of an access request.
type Document struct {
	RequestID   string         `json:"request_id"`
	User        string         `json:"user"`
	GeneratedAt time.Time      `json:"generated_at"`
	Sections    map[string]any `json:"sections"`
	// Order is the order the sections were built in (the page shows them so).
	Order []string `json:"-"`
}

// Export returns the export of a done access request, built from the store.
func (s *Service) Export(ctx context.Context, id string) (*Document, error) {
	r, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Kind != KindAccess {
		return nil, warden.Errorf(warden.ECONFLICT, "request %s is an erasure request; only access requests have an export", id)
	}
	if r.Status != StatusDone {
		return nil, warden.Errorf(warden.ECONFLICT, "request %s is not done yet (status %s, due %s)", id, r.Status, time.UnixMicro(r.DueUS).UTC().Format(time.RFC3339))
	}
	return s.build(ctx, r)
}

func (s *Service) build(ctx context.Context, r *sqlstore.DataRequest) (*Document, error) {
	doc := &Document{RequestID: r.ID, User: r.UserID, GeneratedAt: s.opt.Now().UTC(), Sections: map[string]any{}}
	for _, src := range s.opt.Sources {
		v, err := src.Export(ctx, r.UserID)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", src.Section(), err)
		}
		doc.Sections[src.Section()] = v
		doc.Order = append(doc.Order, src.Section())
	}
	return doc, nil
}

// Remind logs a line and counts a reminder for each open request due within
// ReminderWindow and not reminded in the last day, and sets the due-soon
// and overdue gauges. It returns the requests it reminded about.
func (s *Service) Remind(ctx context.Context) ([]Request, error) {
	open, err := s.List(ctx, "open")
	if err != nil {
		return nil, err
	}
	now := s.opt.Now()
	var soon, late int
	var out []Request
	for _, r := range open {
		if r.Overdue {
			late++
		}
		if r.DueAt.Sub(now) > ReminderWindow {
			continue
		}
		soon++
		row, err := s.opt.DB.DataRequestByID(ctx, r.ID)
		if err != nil || row == nil {
			continue
		}
		if now.UnixMicro()-row.RemindedUS < int64(24*time.Hour/time.Microsecond) {
			continue
		}
		s.opt.Logger.Warn("data request due soon", "id", r.ID, "kind", r.Kind, "due", r.DueAt, "overdue", r.Overdue)
		s.reminded.Inc()
		if err := s.opt.DB.MarkReminded(ctx, r.ID, now.UnixMicro()); err != nil {
			return out, err
		}
		out = append(out, r)
	}
	s.dueSoon.Set(float64(soon))
	s.overdue.Set(float64(late))
	return out, nil
}

// RunReminders reminds every interval until ctx ends.
func (s *Service) RunReminders(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Remind(ctx); err != nil && ctx.Err() == nil {
			s.opt.Logger.Error("data request reminders failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SetLogger sets the logger of a service opened before the server's logger
// existed.
func (s *Service) SetLogger(l *slog.Logger) { s.opt.Logger = l }

// Collectors are the reminder metrics, for a registry.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.dueSoon, s.overdue, s.reminded}
}
