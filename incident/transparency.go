package incident

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// Hours summarises durations in hours. Median is the middle value (the mean
// of the two middle values for an even count); P90 is the nearest-rank 90th
// percentile, the value at rank ceil(0.9·n). Both are zero when N is zero.
type Hours struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
}

func summarizeHours(hs []float64) Hours {
	if len(hs) == 0 {
		return Hours{}
	}
	s := slices.Clone(hs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	rank := int(math.Ceil(0.9 * float64(n)))
	return Hours{N: n, Median: round3(med), P90: round3(s[rank-1])}
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// Report is the transparency report (CONTRACT §3, DSA Art. 15 and 24).
type Report struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Notices struct {
		Total      int            `json:"total"`
		ByCategory map[string]int `json:"by_category"`
		BySource   map[string]int `json:"by_source"`
	} `json:"notices"`
	// TimeToAction counts notices from receipt to the first action taken on
	// them; notices that led to no action are left out (table 4's
	// definition).
	TimeToAction struct {
		All            Hours            `json:"all"`
		ByCategory     map[string]Hours `json:"by_category"`
		TrustedFlagger Hours            `json:"trusted_flagger"`
	} `json:"time_to_action_hours"`
	Decisions struct {
		Total          int            `json:"total"`
		ByAction       map[string]int `json:"by_action"`
		Automated      int            `json:"automated"`
		AutomatedShare float64        `json:"automated_share"`
		Statements     int            `json:"statements_of_reasons"`
	} `json:"decisions"`
	Appeals struct {
		Total        int            `json:"total"`
		ByKind       map[string]int `json:"by_kind"`
		Pending      int            `json:"pending"`
		Upheld       int            `json:"upheld"`
		Reversed     int            `json:"reversed"`
		ReversalRate float64        `json:"reversal_rate"`
		DecisionTime Hours          `json:"decision_time_hours"`
	} `json:"appeals"`
	// TrustedFlaggers is each trusted flagger's record, for the report to
	// the Digital Services Coordinator on imprecise notices (Art. 22(6)):
	// accuracy is the share of decided notices that led to action.
	TrustedFlaggers []FlaggerStats `json:"trusted_flaggers"`
	ExposureNotices int            `json:"exposure_notices"`
	// ReporterSuspensions counts reporters whose notice processing was
	// suspended under Art. 23 in the period (their latest suspension).
	ReporterSuspensions int `json:"reporter_suspensions"`
	// Access is the data-access ledger in the period: entries by purpose
	// and actor class, policy flags raised and resolved (CONTRACT §8).
	Access sqlstore.AccessFigures `json:"access"`
	// DataRequests are the GDPR requests received in the period, how many
	// were answered and how many of those by their due date.
	DataRequests sqlstore.RequestFigures `json:"data_requests"`
}

// FlaggerStats is one trusted flagger's notices in a period.
type FlaggerStats struct {
	Flagger  string  `json:"flagger"` // the API key or user the notices came from
	Notices  int     `json:"notices"`
	Decided  int     `json:"decided"`
	Actioned int     `json:"actioned"`
	Accuracy float64 `json:"accuracy"`
}

// TransparencyReport computes the report for [from, to): notices received,
// decisions and appeals filed in the period.
func (s *Service) TransparencyReport(ctx context.Context, from, to time.Time) (*Report, error) {
	f, t := warden.MicrosOf(from), warden.MicrosOf(to)
	rep := &Report{From: from.UTC(), To: to.UTC()}
	rep.Notices.ByCategory, rep.Notices.BySource = map[string]int{}, map[string]int{}
	rep.TimeToAction.ByCategory = map[string]Hours{}
	notices, err := s.db.NoticeRows(ctx, f, t)
	if err != nil {
		return nil, err
	}
	var all, trusted []float64
	byCat := map[string][]float64{}
	flaggers := map[string]*FlaggerStats{}
	for _, n := range notices {
		if n.Source == warden.SourceDetection {
			continue // not a notice: the platform's own initiative
		}
		rep.Notices.Total++
		rep.Notices.ByCategory[n.Category]++
		rep.Notices.BySource[n.Source]++
		if n.Source == warden.SourceTrustedFlagger {
			f := flaggers[n.Flagger]
			if f == nil {
				f = &FlaggerStats{Flagger: n.Flagger}
				flaggers[n.Flagger] = f
			}
			f.Notices++
			if n.Action != "" {
				f.Decided++
				if n.Action != warden.ActNoViolation {
					f.Actioned++
				}
			}
		}
		if n.Action == "" || n.Action == warden.ActNoViolation || n.DecidedAt == 0 {
			continue
		}
		h := float64(n.DecidedAt-n.ReceivedAt) / float64(time.Hour.Microseconds())
		all = append(all, h)
		byCat[n.Category] = append(byCat[n.Category], h)
		if n.Source == warden.SourceTrustedFlagger {
			trusted = append(trusted, h)
		}
	}
	rep.TrustedFlaggers = []FlaggerStats{}
	for _, f := range flaggers {
		if f.Decided > 0 {
			f.Accuracy = round3(float64(f.Actioned) / float64(f.Decided))
		}
		rep.TrustedFlaggers = append(rep.TrustedFlaggers, *f)
	}
	slices.SortFunc(rep.TrustedFlaggers, func(a, b FlaggerStats) int { return strings.Compare(a.Flagger, b.Flagger) })
	rep.TimeToAction.All = summarizeHours(all)
	rep.TimeToAction.TrustedFlagger = summarizeHours(trusted)
	for c, hs := range byCat {
		rep.TimeToAction.ByCategory[c] = summarizeHours(hs)
	}
	decisions, err := s.db.DecisionRows(ctx, f, t)
	if err != nil {
		return nil, err
	}
	rep.Decisions.ByAction = map[string]int{}
	for _, d := range decisions {
		rep.Decisions.Total++
		rep.Decisions.ByAction[d.Action]++
		if d.Automated {
			rep.Decisions.Automated++
		}
		if len(d.SoR) > 0 {
			rep.Decisions.Statements++
		}
	}
	if rep.Decisions.Total > 0 {
		rep.Decisions.AutomatedShare = round3(float64(rep.Decisions.Automated) / float64(rep.Decisions.Total))
	}
	appeals, err := s.db.AppealRows(ctx, f, t)
	if err != nil {
		return nil, err
	}
	rep.Appeals.ByKind = map[string]int{}
	var times []float64
	for _, a := range appeals {
		rep.Appeals.Total++
		rep.Appeals.ByKind[a.Kind]++
		switch a.Status {
		case warden.AppealPending:
			rep.Appeals.Pending++
			continue
		case warden.AppealUpheld:
			rep.Appeals.Upheld++
		case warden.AppealReversed:
			rep.Appeals.Reversed++
		}
		times = append(times, float64(a.DecidedAt-a.FiledAt)/float64(time.Hour.Microseconds()))
	}
	if decided := rep.Appeals.Upheld + rep.Appeals.Reversed; decided > 0 {
		rep.Appeals.ReversalRate = round3(float64(rep.Appeals.Reversed) / float64(decided))
	}
	rep.Appeals.DecisionTime = summarizeHours(times)
	if rep.ExposureNotices, err = s.db.CountNotifications(ctx, warden.NoticeExposure, f, t); err != nil {
		return nil, err
	}
	if rep.ReporterSuspensions, err = s.db.CountSuspensions(ctx, f, t); err != nil {
		return nil, err
	}
	if rep.Access, err = s.db.AccessFiguresFor(ctx, int64(f), int64(t)); err != nil {
		return nil, err
	}
	if rep.DataRequests, err = s.db.RequestFiguresFor(ctx, int64(f), int64(t)); err != nil {
		return nil, err
	}
	return rep, nil
}

// WriteStatements writes the statement of reasons of every restriction
// decided in [from, to) to w as JSON Lines, and returns how many.
func (s *Service) WriteStatements(ctx context.Context, w io.Writer, from, to time.Time) (int, error) {
	n := 0
	err := s.db.Statements(ctx, warden.MicrosOf(from), warden.MicrosOf(to), func(_ string, sor json.RawMessage) error {
		n++
		if _, err := w.Write(sor); err != nil {
			return err
		}
		_, err := w.Write([]byte{'\n'})
		return err
	})
	return n, err
}
