package mfa

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// Funnel stages, in order: the platform showed a prompt to turn on 2FA, the
// user opened it, began an enrolment, confirmed it.
const (
	StageShown     = "shown"
	StageOpened    = "opened"
	StageStarted   = "started"
	StageConfirmed = "confirmed"
)

// Stages lists the funnel's stages in order.
var Stages = []string{StageShown, StageOpened, StageStarted, StageConfirmed}

func (s *Service) record(ctx context.Context, stage string, p Prompt, at time.Time) error {
	return s.opt.DB.AddFunnelEvents(ctx, []sqlstore.FunnelEvent{{Stage: stage, Region: p.Region, Moment: p.Moment, Variant: p.Variant, AtUS: at.UnixMicro()}})
}

// FunnelEvent is one prompt event the platform reports (its
// 2fa_prompt_shown and 2fa_prompt_opened), or that the center page records.
type FunnelEvent struct {
	Stage string `json:"stage"`
	Prompt
	Time time.Time `json:"time"`
}

// MaxFunnelEvents bounds one report of prompt events.
const MaxFunnelEvents = 1000

// CheckFunnelEvents refuses a batch with an event of another stage than
// shown or opened (the enrolment calls record the rest), a bad prompt, or a
// time more than a day ahead; a zero time means now.
func CheckFunnelEvents(evs []FunnelEvent, now time.Time) error {
	if len(evs) == 0 {
		return warden.FieldErrorf("events", "events is required: [{\"stage\": \"shown\"|\"opened\", \"region\", \"moment\", \"variant\", \"time\"}]")
	}
	if len(evs) > MaxFunnelEvents {
		return warden.FieldErrorf("events", "events has %d items; at most %d", len(evs), MaxFunnelEvents)
	}
	for i, e := range evs {
		prefix := "events[" + strconv.Itoa(i) + "]."
		if e.Stage != StageShown && e.Stage != StageOpened {
			return warden.FieldErrorf(prefix+"stage", "stage must be shown or opened (enrolments record started and confirmed themselves)")
		}
		if err := e.Prompt.Check(prefix); err != nil {
			return err
		}
		if e.Time.After(now.Add(24 * time.Hour)) {
			return warden.FieldErrorf(prefix+"time", "time is more than a day in the future")
		}
	}
	return nil
}

// RecordPrompts stores checked prompt events (CheckFunnelEvents).
func (s *Service) RecordPrompts(ctx context.Context, evs []FunnelEvent) error {
	if err := CheckFunnelEvents(evs, s.opt.Now()); err != nil {
		return err
	}
	out := make([]sqlstore.FunnelEvent, len(evs))
	for i, e := range evs {
		at := e.Time
		if at.IsZero() {
			at = s.opt.Now()
		}
		out[i] = sqlstore.FunnelEvent{Stage: e.Stage, Region: e.Region, Moment: e.Moment, Variant: e.Variant, AtUS: at.UnixMicro()}
	}
	return s.opt.DB.AddFunnelEvents(ctx, out)
}

// RecordPrompt stores one prompt event at now (the center page's).
func (s *Service) RecordPrompt(ctx context.Context, stage string, p Prompt) error {
	return s.RecordPrompts(ctx, []FunnelEvent{{Stage: stage, Prompt: p}})
}

// Counts are a funnel's counts per stage, with the conversion from each
// stage to the next.
type Counts struct {
	Shown     int64 `json:"shown"`
	Opened    int64 `json:"opened"`
	Started   int64 `json:"started"`
	Confirmed int64 `json:"confirmed"`
}

func (c *Counts) add(stage string, n int64) {
	switch stage {
	case StageShown:
		c.Shown += n
	case StageOpened:
		c.Opened += n
	case StageStarted:
		c.Started += n
	case StageConfirmed:
		c.Confirmed += n
	}
}

// Of returns the count of stage.
func (c Counts) Of(stage string) int64 {
	switch stage {
	case StageShown:
		return c.Shown
	case StageOpened:
		return c.Opened
	case StageStarted:
		return c.Started
	}
	return c.Confirmed
}

// WeekCounts are the counts of the ISO week starting on Week.
type WeekCounts struct {
	Week string `json:"week"` // YYYY-MM-DD, a Monday
	Counts
}

// Funnel is the education funnel over [From, To): totals, and counts by
// region, by the moment of the prompt, by variant and by week. An event
// without a region, moment or variant is counted under "unknown".
type Funnel struct {
	From      time.Time          `json:"from"`
	To        time.Time          `json:"to"`
	Stages    []string           `json:"stages"`
	Total     Counts             `json:"total"`
	ByRegion  map[string]*Counts `json:"by_region"`
	ByMoment  map[string]*Counts `json:"by_moment"`
	ByVariant map[string]*Counts `json:"by_variant"`
	ByWeek    []WeekCounts       `json:"by_week"`
}

// Funnel counts the funnel's events in [from, to).
func (s *Service) Funnel(ctx context.Context, from, to time.Time) (*Funnel, error) {
	rows, err := s.opt.DB.FunnelCounts(ctx, from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return nil, err
	}
	f := &Funnel{From: from.UTC(), To: to.UTC(), Stages: Stages, ByRegion: map[string]*Counts{}, ByMoment: map[string]*Counts{},
		ByVariant: map[string]*Counts{}, ByWeek: []WeekCounts{}}
	weeks := map[int64]*Counts{}
	bump := func(m map[string]*Counts, k, stage string, n int64) {
		if k == "" {
			k = "unknown"
		}
		if m[k] == nil {
			m[k] = &Counts{}
		}
		m[k].add(stage, n)
	}
	for _, r := range rows {
		f.Total.add(r.Stage, r.N)
		bump(f.ByRegion, r.Region, r.Stage, r.N)
		bump(f.ByMoment, r.Moment, r.Stage, r.N)
		bump(f.ByVariant, r.Variant, r.Stage, r.N)
		if weeks[r.Week] == nil {
			weeks[r.Week] = &Counts{}
		}
		weeks[r.Week].add(r.Stage, r.N)
	}
	keys := make([]int64, 0, len(weeks))
	for k := range weeks {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		// Week k starts on day 7k-3 since 1970-01-01 (a Monday).
		day := time.Unix((7*k-3)*86400, 0).UTC()
		f.ByWeek = append(f.ByWeek, WeekCounts{Week: day.Format("2006-01-02"), Counts: *weeks[k]})
	}
	return f, nil
}

// Regions returns the funnel's regions, sorted.
func (f *Funnel) Regions() []string {
	out := make([]string, 0, len(f.ByRegion))
	for k := range f.ByRegion {
		out = append(out, k)
	}
	slices.SortFunc(out, strings.Compare)
	return out
}
