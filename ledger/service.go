package ledger

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/consent"
	"github.com/wardenhq/warden/engine/state"
	"github.com/wardenhq/warden/sqlstore"
)

// Flag kinds.
const (
	FlagPurposeNotAllowed = "purpose_not_allowed"
	FlagUnknownCategory   = "unknown_category"
	FlagTicketNotFound    = "ticket_not_found"
	FlagTicketClosed      = "ticket_closed"
	FlagManyUsers         = "many_users"
	FlagOutOfRegion       = "out_of_region"
)

// CaseLookup finds a Warden case for the ticket check: whether it exists
// and whether it is open.
type CaseLookup func(ctx context.Context, id string) (exists, open bool, err error)

// Options configure a Service.
type Options struct {
	DB *sqlstore.DB
	// Keys sign checkpoints (a keyring of its own, beside the consent
	// receipts').
	Keys *consent.Keyring
	// Cases looks tickets up; nil: the incident store in DB.
	Cases  CaseLookup
	Logger *slog.Logger
	// Registerer, when set, gets the ledger's metrics.
	Registerer prometheus.Registerer
	// ManyUsers is how many distinct users one actor may touch within
	// ManyUsersWindow before the access is flagged (default 50 in 1 h).
	ManyUsers       int
	ManyUsersWindow time.Duration
	Now             func() time.Time
	// CheckpointLag: a checkpoint covers the entries recorded at least this
	// long ago. Zero: none on SQLite (one writer, commits in seq order), a
	// minute on PostgreSQL (replicas' transactions commit out of seq order;
	// an append's transaction ends within 30 s).
	CheckpointLag time.Duration
}

// Service records accesses and serves the ledger's views.
type Service struct {
	opt Options
	app *sqlstore.AccessAppender

	counters *state.Store
	spec     state.Spec
	flagMu   sync.Mutex
	flagged  map[string]time.Time // actor → when many_users was last raised

	reqs     chan *pending
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}

	appended  prometheus.Counter
	flagCount *prometheus.CounterVec
}

type pending struct {
	row   *sqlstore.AccessRow
	flags []sqlstore.AccessFlag
	err   chan error
}

// New returns a Service; its group-commit writer runs until Close.
func New(opt Options) *Service {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Cases == nil {
		db := opt.DB
		opt.Cases = func(ctx context.Context, id string) (bool, bool, error) {
			c, err := db.CaseByID(ctx, id)
			if err != nil || c == nil {
				return false, false, err
			}
			return true, c.ClosedAt == 0, nil
		}
	}
	if opt.CheckpointLag == 0 && opt.DB.Dialect == sqlstore.Postgres {
		opt.CheckpointLag = time.Minute
	}
	if opt.ManyUsers <= 0 {
		opt.ManyUsers = 50
	}
	if opt.ManyUsersWindow <= 0 {
		opt.ManyUsersWindow = time.Hour
	}
	s := &Service{opt: opt, app: opt.DB.NewAccessAppender(Chainer), counters: state.New(),
		spec: state.Spec{Kind: state.Distinct, Window: opt.ManyUsersWindow}, flagged: map[string]time.Time{},
		reqs: make(chan *pending, 8192), stop: make(chan struct{}), done: make(chan struct{}),
		appended:  prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_access_ledger_entries_total", Help: "Data-access ledger entries appended."}),
		flagCount: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "warden_access_flags_total", Help: "Policy flags raised on data accesses, by kind."}, []string{"kind"}),
	}
	if opt.Registerer != nil {
		opt.Registerer.MustRegister(s.appended, s.flagCount)
	}
	go s.writer()
	return s
}

// Close stops the writer after the appends queued so far.
func (s *Service) Close() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

// Rebuild replays the last window of entries into the actor counters, so a
// restart does not forget who touched how many users.
func (s *Service) Rebuild(ctx context.Context) error {
	rows, err := s.opt.DB.AccessSince(ctx, s.opt.Now().Add(-s.opt.ManyUsersWindow).UnixMicro(), 1_000_000)
	if err != nil {
		return err
	}
	for _, r := range rows {
		s.counters.Add(&s.spec, actorKey(r.ActorClass, r.ActorID), time.UnixMicro(r.TimeUS), state.Hash(state.Seed, r.UserID))
	}
	return nil
}

func actorKey(class, id string) uint64 {
	return state.Mix(state.Hash(state.Hash(state.Seed, class), "\x00"+id))
}

// maxBatch bounds one group commit.
const maxBatch = 4096

func (s *Service) writer() {
	defer close(s.done)
	batch := make([]*pending, 0, maxBatch)
	for {
		var first *pending
		select {
		case first = <-s.reqs:
		case <-s.stop:
			// Drain what was queued before the stop.
			for {
				select {
				case p := <-s.reqs:
					batch = append(batch, p)
					if len(batch) == maxBatch {
						s.commit(batch)
						batch = batch[:0]
					}
				default:
					if len(batch) > 0 {
						s.commit(batch)
					}
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case p := <-s.reqs:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		s.commit(batch)
		batch = batch[:0]
	}
}

func (s *Service) commit(batch []*pending) {
	rows := make([]*sqlstore.AccessRow, len(batch))
	for i, p := range batch {
		rows[i] = p.row
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.app.Append(ctx, rows)
	if err == nil {
		var flags []sqlstore.AccessFlag
		for _, p := range batch {
			flags = append(flags, p.flags...)
		}
		if ferr := s.opt.DB.AddAccessFlags(ctx, flags); ferr != nil {
			// The entries are durable; a lost flag is logged loudly.
			s.opt.Logger.Error("access flags not stored", "err", ferr, "flags", len(flags))
		}
		s.appended.Add(float64(len(rows)))
		for _, f := range flags {
			s.flagCount.WithLabelValues(f.Kind).Inc()
		}
	}
	for _, p := range batch {
		p.err <- err
	}
}

// Receipt is what POST /v1/access returns.
type Receipt struct {
	ID string `json:"id"`
	// Seq is the entry's position in the user's chain, 1 for the first.
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
	// Flags are the policy flags the access raised, for the caller's
	// information (admins see them in the console).
	Flags []string `json:"flags,omitempty"`
}

// NewID returns prefix + 16 Crockford base32 characters: 10 of the
// current time in microseconds (so ids sort, and land at the end of the id
// index, in the order they were made) and 6 random ones.
func NewID(prefix string) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := make([]byte, 16)
	t := uint64(time.Now().UnixMicro())
	for i := 9; i >= 0; i-- {
		b[i] = alphabet[t&31]
		t >>= 5
	}
	rand.Read(b[10:])
	for i := 10; i < 16; i++ {
		b[i] = alphabet[b[i]&31]
	}
	return prefix + string(b)
}

// Record appends one validated access to the user's chain (durably, in a
// group commit with the accesses arriving beside it) and raises its policy
// flags.
func (s *Service) Record(ctx context.Context, a Access) (Receipt, error) {
	now := s.opt.Now()
	row := &sqlstore.AccessRow{ID: NewID("AX-"), UserID: a.User, ActorClass: a.Actor.Class, ActorID: a.Actor.ID, ActorRegion: a.Actor.Region,
		UserRegion: a.UserRegion, Purpose: a.Purpose, Ticket: a.Ticket, Categories: strings.Join(a.DataCategories, ","),
		TimeUS: a.Time.UnixMicro(), RecordedUS: now.UnixMicro()}
	kinds, details, err := s.policy(ctx, a)
	if err != nil {
		return Receipt{}, err
	}
	p := &pending{row: row, err: make(chan error, 1)}
	for i, k := range kinds {
		p.flags = append(p.flags, sqlstore.AccessFlag{ID: NewID("AF-"), EntryID: row.ID, UserID: a.User, ActorClass: a.Actor.Class, ActorID: a.Actor.ID,
			Kind: k, Detail: details[i], RaisedUS: now.UnixMicro()})
	}
	select {
	case s.reqs <- p:
	case <-s.stop:
		return Receipt{}, warden.Errorf(warden.EUNAVAILABLE, "the server is shutting down; retry")
	case <-ctx.Done():
		return Receipt{}, ctx.Err()
	}
	// The writer answers every queued append, even after a cancel.
	if err := <-p.err; err != nil {
		return Receipt{}, fmt.Errorf("append access: %w", err)
	}
	return Receipt{ID: row.ID, Seq: row.ChainSeq, Hash: row.Hash, Flags: kinds}, nil
}

// TicketIsPlatform reports whether ticket is a platform ticket id, accepted
// unchecked: a prefix of letters, digits or _ then ':' or '-' (zendesk:4821,
// SUP-1234), other than Warden's own case prefix C-.
func TicketIsPlatform(ticket string) bool {
	if strings.HasPrefix(ticket, "C-") {
		return false
	}
	i := strings.IndexAny(ticket, ":-")
	if i <= 0 || i == len(ticket)-1 {
		return false
	}
	for _, r := range ticket[:i] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// policy returns the flags an access raises, with a sentence each.
func (s *Service) policy(ctx context.Context, a Access) (kinds, details []string, err error) {
	add := func(k, format string, args ...any) {
		kinds = append(kinds, k)
		details = append(details, fmt.Sprintf(format, args...))
	}
	for _, c := range a.DataCategories {
		allowed, known := Categories[c]
		switch {
		case !known:
			add(FlagUnknownCategory, "data category %q is not in the ledger's table; the purpose could not be checked", c)
		case !contains(allowed, a.Purpose):
			add(FlagPurposeNotAllowed, "%s is not an allowed purpose for %s (allowed: %s)", a.Purpose, c, strings.Join(allowed, ", "))
		}
	}
	if a.Ticket != "" && !TicketIsPlatform(a.Ticket) {
		exists, open := false, false
		if s.opt.Cases != nil {
			exists, open, err = s.opt.Cases(ctx, a.Ticket)
			if err != nil {
				return nil, nil, err
			}
		}
		switch {
		case !exists:
			add(FlagTicketNotFound, "ticket %s is neither a Warden case nor a prefixed platform ticket id", a.Ticket)
		case !open:
			add(FlagTicketClosed, "ticket %s is a closed case", a.Ticket)
		}
	}
	if a.Actor.Region != "" && a.UserRegion != "" && a.Actor.Region != a.UserRegion {
		add(FlagOutOfRegion, "an actor in %s accessed the data of a user in %s", a.Actor.Region, a.UserRegion)
	}
	n := s.counters.Observe(&s.spec, actorKey(a.Actor.Class, a.Actor.ID), a.Time, true, state.Hash(state.Seed, a.User), true)
	if int(n) > s.opt.ManyUsers {
		key := a.Actor.Class + ":" + a.Actor.ID
		s.flagMu.Lock()
		last, seen := s.flagged[key]
		raise := !seen || a.Time.Sub(last) >= s.opt.ManyUsersWindow
		if raise {
			s.flagged[key] = a.Time
		}
		s.flagMu.Unlock()
		if raise {
			add(FlagManyUsers, "%s %s touched about %d distinct users within %s (threshold %d)", a.Actor.Class, a.Actor.ID, int(n), s.opt.ManyUsersWindow, s.opt.ManyUsers)
		}
	}
	return kinds, details, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Entry is one access in the user's view.
type Entry struct {
	ID             string    `json:"id"`
	Seq            int64     `json:"seq"`
	Time           time.Time `json:"time"`
	Actor          Actor     `json:"actor"`
	Purpose        string    `json:"purpose"`
	Ticket         string    `json:"ticket,omitempty"`
	DataCategories []string  `json:"data_categories"`
	Why            string    `json:"why"`
	Hash           string    `json:"hash"`
}

// EntryOf turns a stored row into the user's view of it.
func EntryOf(r *sqlstore.AccessRow) Entry {
	cats := []string{}
	if r.Categories != "" {
		cats = strings.Split(r.Categories, ",")
	}
	return Entry{ID: r.ID, Seq: r.ChainSeq, Time: time.UnixMicro(r.TimeUS).UTC(), Actor: Actor{Class: r.ActorClass, ID: r.ActorID, Region: r.ActorRegion},
		Purpose: r.Purpose, Ticket: r.Ticket, DataCategories: cats, Why: Why(r.ActorClass, r.Purpose, r.Ticket, cats), Hash: r.Hash}
}

// View is GET /v1/users/{user}/access.
type View struct {
	Days      int            `json:"days"`
	Entries   []Entry        `json:"entries"`
	ByPurpose map[string]int `json:"by_purpose"`
}

// MaxDays is the longest window of the user's view.
const MaxDays = 366

// UserView returns the user's accesses of the last days, newest first (at
// most 10,000), with counts by purpose.
func (s *Service) UserView(ctx context.Context, user string, days int) (View, error) {
	if days < 1 || days > MaxDays {
		return View{}, warden.FieldErrorf("days", "days must be 1..%d", MaxDays)
	}
	rows, err := s.opt.DB.UserAccess(ctx, user, s.opt.Now().AddDate(0, 0, -days).UnixMicro(), 10_000)
	if err != nil {
		return View{}, err
	}
	v := View{Days: days, Entries: make([]Entry, len(rows)), ByPurpose: map[string]int{}}
	for i := range rows {
		v.Entries[i] = EntryOf(&rows[i])
		v.ByPurpose[rows[i].Purpose]++
	}
	return v, nil
}

// Flags lists open (or resolved) flags, newest first.
func (s *Service) Flags(ctx context.Context, resolved bool, limit int) ([]sqlstore.AccessFlag, error) {
	return s.opt.DB.AccessFlags(ctx, resolved, limit)
}

// Resolve marks a flag resolved by p with a note.
func (s *Service) Resolve(ctx context.Context, id, by, note string) error {
	if len(note) > 2000 {
		return warden.FieldErrorf("note", "note is at most 2000 bytes")
	}
	ok, err := s.opt.DB.ResolveAccessFlag(ctx, id, by, strings.TrimSpace(note), s.opt.Now().UnixMicro())
	if err != nil {
		return err
	}
	if !ok {
		return warden.Errorf(warden.ENOTFOUND, "no open flag %s", id)
	}
	return nil
}

// Checkpoint signs the current chain heads (nothing when no entry came
// since the last checkpoint).
func (s *Service) Checkpoint(ctx context.Context) (*sqlstore.AccessCheckpoint, error) {
	if s.opt.Keys == nil {
		return nil, errors.New("no checkpoint keys")
	}
	return MakeCheckpoint(ctx, s.opt.DB, s.opt.Keys, s.opt.Now(), s.opt.CheckpointLag)
}

// RunCheckpoints makes a checkpoint every interval until ctx ends, and
// drops expired actor counters.
func (s *Service) RunCheckpoints(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Checkpoint(ctx); err != nil && ctx.Err() == nil {
				s.opt.Logger.Error("access ledger checkpoint failed", "err", err)
			}
			// Actors silent for a window leave the counters.
			now := s.opt.Now()
			s.counters.Sweep(now, s.opt.ManyUsersWindow)
			s.flagMu.Lock()
			for k, at := range s.flagged {
				if now.Sub(at) > s.opt.ManyUsersWindow {
					delete(s.flagged, k)
				}
			}
			s.flagMu.Unlock()
		}
	}
}

// Forget drops cached chain state for an erased user.
func (s *Service) Forget(user string) { s.app.Forget(user) }

// DB is the store the service writes to.
func (s *Service) DB() *sqlstore.DB { return s.opt.DB }

// SetLogger sets the logger of a service opened before the server's logger
// existed.
func (s *Service) SetLogger(l *slog.Logger) { s.opt.Logger = l }

// Collectors are the ledger's metrics, for a registry.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.appended, s.flagCount}
}
