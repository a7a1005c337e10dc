package messaging

import (
	"slices"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/insights"
	"github.com/wardenhq/warden/survey"
)

// Results are one experiment's results in a survey wave.
type Results struct {
	Experiment string          `json:"experiment"`
	Wave       string          `json:"wave"`
	Stopped    bool            `json:"stopped,omitempty"`
	Messages   []MessageResult `json:"messages"`
}

// MessageResult is the trust index per arm of one message, over the
// wave's respondents with a platform id in the message's regions (pooled:
// the assignment spreads every region evenly over the arms).
type MessageResult struct {
	Regions []string    `json:"regions"`
	Theme   string      `json:"theme,omitempty"`
	Arms    []ArmResult `json:"arms"`
}

// ArmResult is one arm's trust index and, for a variant, its difference
// from the control arm.
type ArmResult struct {
	Variant string `json:"variant"`
	Control bool   `json:"control"`
	// N counts the arm's respondents who answered the trust item; Index
	// is nil, with Error saying why, when it cannot be computed (fewer
	// than two answers).
	N     int                  `json:"n"`
	Index *insights.TrustIndex `json:"index,omitempty"`
	Error string               `json:"error,omitempty"`
	// VsControl is variant minus control: top-2-box and mean with a
	// two-sided z test at 5 % (independent groups).
	VsControl *Difference `json:"vs_control,omitempty"`
}

// Difference is an arm's difference from control; each figure carries its
// own significance flag (the two are two tests, not one).
type Difference struct {
	TopBox insights.Change `json:"top2"`
	Mean   insights.Change `json:"mean"`
}

// Analyze computes e's results in wave w: each linked respondent (one
// with a platform id) in a message's regions is put in the arm their
// stored pseudonym is assigned to, and each arm's trust index (top-2-box
// and mean, 95 % intervals widened by the design effect of the weights)
// is compared with control's.
func Analyze(e *Experiment, w *survey.Wave) Results {
	res := Results{Experiment: e.ID, Wave: w.Name, Stopped: e.Stopped, Messages: []MessageResult{}}
	for _, m := range e.Messages {
		arms := m.Arms()
		groups := make([][]survey.Respondent, len(arms))
		for _, r := range w.Respondents {
			if r.PlatformHash == "" || !slices.Contains(m.Regions, r.Region) {
				continue
			}
			k := slices.Index(arms, e.Arm(m, r.PlatformHash))
			groups[k] = append(groups[k], r)
		}
		mr := MessageResult{Regions: m.Regions, Theme: m.Theme, Arms: make([]ArmResult, len(arms))}
		for k, arm := range arms {
			ar := ArmResult{Variant: arm, Control: arm == Control}
			for _, r := range groups[k] {
				if _, ok := r.Answers[w.Codebook.Trust]; ok {
					ar.N++
				}
			}
			if ti, err := survey.GroupTrust(w.Codebook, groups[k]); err != nil {
				ar.Error = warden.ErrorMessage(err)
			} else {
				ar.Index = &ti
			}
			mr.Arms[k] = ar
		}
		if ctl := mr.Arms[0].Index; ctl != nil {
			for k := 1; k < len(arms); k++ {
				if v := mr.Arms[k].Index; v != nil {
					mr.Arms[k].VsControl = &Difference{TopBox: insights.Compare(v.TopBox, ctl.TopBox), Mean: insights.Compare(v.Mean, ctl.Mean)}
				}
			}
		}
		res.Messages = append(res.Messages, mr)
	}
	return res
}
