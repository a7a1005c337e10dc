package incident

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// Intake is group-committed: reports that arrive while a transaction is
// committing wait and go together in the next one, so one fsync (SQLite) or
// one commit round trip (PostgreSQL) serves many reports. Each report still
// commits with its receipt before Report returns.

// maxIntakeBatch bounds the reports in one transaction, so that one batch
// cannot hold the writer for long.
const maxIntakeBatch = 128

type intakeReq struct {
	p       *warden.Principal
	r       *warden.Report
	owner   string
	email   string
	idemKey string

	replay *warden.Report
	err    error
	done   chan struct{}
}

type intakeQueue struct {
	mu      sync.Mutex
	pending []*intakeReq
	leaders int
	batches atomic.Int64
	reports atomic.Int64
}

// IntakeStats returns how many intake transactions committed and how many
// reports they carried: their ratio is the mean batch size.
func (s *Service) IntakeStats() (batches, reports int64) {
	return s.queue.batches.Load(), s.queue.reports.Load()
}

// maxLeaders is how many intake transactions may run at once: one on
// SQLite (a single writer), several on PostgreSQL. Batches lock subjects in
// sorted order, so concurrent batches cannot deadlock on each other.
func (s *Service) maxLeaders() int {
	if s.db.Dialect == sqlstore.Postgres {
		return 4
	}
	return 1
}

// submit queues q and returns when it is committed or failed. A caller that
// finds fewer than maxLeaders transactions running leads: it commits
// batches until the queue is empty, handing over to a goroutine once its own
// report is done so that its reply is not held up by later arrivals.
func (s *Service) submit(q *intakeReq) {
	s.queue.mu.Lock()
	s.queue.pending = append(s.queue.pending, q)
	lead := s.queue.leaders < s.maxLeaders()
	if lead {
		s.queue.leaders++
	}
	s.queue.mu.Unlock()
	if lead {
		s.lead(q)
	}
	<-q.done
}

func (s *Service) lead(own *intakeReq) {
	for {
		s.queue.mu.Lock()
		if len(s.queue.pending) == 0 {
			s.queue.leaders--
			s.queue.mu.Unlock()
			return
		}
		if own != nil && isDone(own) {
			// Our report is in; a goroutine carries on until the queue is
			// empty.
			s.queue.mu.Unlock()
			go s.lead(nil)
			return
		}
		n := min(len(s.queue.pending), maxIntakeBatch)
		batch := slices.Clone(s.queue.pending[:n])
		s.queue.pending = slices.Delete(s.queue.pending, 0, n)
		s.queue.mu.Unlock()
		s.commitBatch(batch)
	}
}

func isDone(q *intakeReq) bool {
	select {
	case <-q.done:
		return true
	default:
		return false
	}
}

func (s *Service) commitBatch(batch []*intakeReq) {
	slices.SortStableFunc(batch, func(a, b *intakeReq) int {
		return cmp.Or(cmp.Compare(a.r.SubjectKind, b.r.SubjectKind), cmp.Compare(a.r.SubjectID, b.r.SubjectID))
	})
	ctx := context.Background()
	err := s.db.Incidents(ctx, func(t *sqlstore.IncidentTx) error {
		now := s.clock()
		for _, q := range batch {
			r := q.r
			q.replay, q.err = nil, nil
			r.CaseID, r.Status, r.DecisionID, r.DecidedAt, r.ReceivedAt = "", warden.ReportReceived, "", 0, now
			err := s.fileReport(ctx, t, q)
			var we *warden.Error
			if errors.As(err, &we) {
				q.err = err
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	s.queue.batches.Add(1)
	s.queue.reports.Add(int64(len(batch)))
	for _, q := range batch {
		if err != nil {
			q.err = err
		}
		close(q.done)
	}
	s.kick()
}
