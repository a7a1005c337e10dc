package incident

import (
	"math"
	"slices"
	"time"

	"github.com/wardenhq/warden"
)

// Queue is a named work queue with an SLA: a case is due SLA after it opens.
// A case goes to the first queue whose rule matches it.
type Queue struct {
	Name string
	SLA  time.Duration
	// Match: empty fields match anything.
	Categories   []string
	SubjectKinds []string
	TrustedOnly  bool // only cases with a trusted flagger's report
	MinPriority  int
}

func (q *Queue) matches(c *warden.Case) bool {
	return (len(q.Categories) == 0 || slices.Contains(q.Categories, c.Category)) &&
		(len(q.SubjectKinds) == 0 || slices.Contains(q.SubjectKinds, c.SubjectKind)) &&
		(!q.TrustedOnly || c.Trusted) && c.Priority >= q.MinPriority
}

// DefaultQueues are the queues Warden starts with. Trusted flaggers get their
// own lane with the shortest SLA (DSA Art. 22: "given priority"); scams and
// fake profiles come next because the harm grows with every message sent.
var DefaultQueues = []Queue{
	{Name: "trusted_flagger", SLA: time.Hour, TrustedOnly: true},
	{Name: "scams", SLA: 4 * time.Hour, Categories: []string{warden.CategoryScam, warden.CategoryFakeProfile, warden.CategoryImpersonation}},
	{Name: "safety", SLA: 12 * time.Hour, Categories: []string{warden.CategoryHarassment}},
	{Name: "general", SLA: 24 * time.Hour},
}

// route picks c's queue; a case no rule matches goes to the last queue.
func route(queues []Queue, c *warden.Case) *Queue {
	for i := range queues {
		if queues[i].matches(c) {
			return &queues[i]
		}
	}
	return &queues[len(queues)-1]
}

// severity is the base priority of each category.
var severity = map[string]int{
	warden.CategoryScam:           60,
	warden.CategoryImpersonation:  50,
	warden.CategoryHarassment:     50,
	warden.CategoryFakeProfile:    40,
	warden.CategoryMisinformation: 35,
	warden.CategoryInappropriate:  30,
	warden.CategoryOther:          10,
}

// priorityInput is what a case's priority is computed from.
type priorityInput struct {
	category   string
	reach      int // distinct users the subject contacted in the last 30 days
	detections int // the subject's events the engine flagged
	reporters  int // distinct reporters so far
	trusted    bool
	// credibility is the best reporter's track record in [0,1]: the share of
	// their decided reports that led to action, smoothed towards 0.5.
	credibility float64
}

// priority scores a case; higher is more urgent. Each signal is bounded so
// that no one of them (a flood of reports, say) can bury the others:
// severity ≤ 60, reach ≤ 25, detections ≤ 20, reporters ≤ 15, track record
// ±10, trusted flagger +100 (which also routes it to its own lane).
func priority(in priorityInput) int {
	p := float64(severity[in.category])
	p += math.Min(25, 5*math.Log2(1+float64(in.reach)))
	p += math.Min(20, 5*math.Log2(1+float64(in.detections)))
	p += math.Min(15, 3*float64(max(0, in.reporters-1)))
	p += 20 * (in.credibility - 0.5)
	if in.trusted {
		p += 100
	}
	return int(math.Round(p))
}

// credibility smooths a reporter's record: (actioned+1)/(decided+2).
func credibility(decided, actioned int) float64 {
	return float64(actioned+1) / float64(decided+2)
}
