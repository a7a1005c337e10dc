// Package messaging runs regional trust messaging experiments (CONTRACT
// §9): per-region messages with variants, defined as data (a built-in YAML
// file and experiments an admin stores), a deterministic assignment of a
// platform user to a variant or the control arm by a salted hash of their
// pseudonymous id, and the trust index of a survey wave's respondents per
// arm with the difference from control.
package messaging

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/survey"
)

// Control is the arm every message has besides its variants: the user is
// shown nothing.
const Control = "control"

// Limits of an experiment.
const (
	MaxMessages    = 50
	MaxVariants    = 9
	MaxTextRunes   = 500
	MaxBodyBytes   = 256 << 10
	maxTitleRunes  = 200
	maxThemeRunes  = 64
	maxRegionsEach = 50
)

// Experiment is one messaging experiment.
type Experiment struct {
	ID    string `yaml:"id" json:"id"`
	Title string `yaml:"title,omitempty" json:"title,omitempty"`
	// Seed seeds the assignment hash: another seed shuffles users anew.
	Seed uint64 `yaml:"seed" json:"seed"`
	// Stopped experiments assign no one; their results stay readable.
	Stopped  bool      `yaml:"stopped,omitempty" json:"stopped,omitempty"`
	Messages []Message `yaml:"messages" json:"messages"`
}

// Message is the message of some regions, with its variants.
type Message struct {
	Regions  []string  `yaml:"regions" json:"regions"`
	Theme    string    `yaml:"theme,omitempty" json:"theme,omitempty"`
	Variants []Variant `yaml:"variants" json:"variants"`
}

// Variant is one wording of a message.
type Variant struct {
	ID   string `yaml:"id" json:"id"`
	Text string `yaml:"text" json:"text"`
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// Validate checks e: an id of lower case letters, digits and _ . -; one to
// MaxMessages messages, each in ISO 3166-1 regions no other message of e
// has, with one to MaxVariants variants of distinct ids (not "control")
// and texts of at most MaxTextRunes characters with no personal data.
// Regions are normalised (UK is GB). The error names the field.
func (e *Experiment) Validate() error {
	if !idPattern.MatchString(e.ID) {
		return warden.FieldErrorf("id", "an experiment id is 1 to 64 lower case letters, digits and _ . - (like regional-trust), got %q", clipText(e.ID))
	}
	if utf8.RuneCountInString(e.Title) > maxTitleRunes {
		return warden.FieldErrorf("title", "the title is over %d characters", maxTitleRunes)
	}
	if len(e.Messages) == 0 || len(e.Messages) > MaxMessages {
		return warden.FieldErrorf("messages", "an experiment has 1 to %d messages", MaxMessages)
	}
	regions := map[string]int{}
	variants := map[string]bool{}
	for i := range e.Messages {
		m := &e.Messages[i]
		field := fmt.Sprintf("messages[%d]", i)
		if len(m.Regions) == 0 || len(m.Regions) > maxRegionsEach {
			return warden.FieldErrorf(field+".regions", "a message names 1 to %d regions (ISO 3166-1 alpha-2)", maxRegionsEach)
		}
		for j, r := range m.Regions {
			reg, err := survey.Region(r)
			if err != nil {
				return warden.FieldErrorf(fmt.Sprintf("%s.regions[%d]", field, j), "%s", err)
			}
			if prev, dup := regions[reg]; dup {
				return warden.FieldErrorf(fmt.Sprintf("%s.regions[%d]", field, j), "region %s has a message already (messages[%d]): a user sees one message", reg, prev)
			}
			regions[reg] = i
			m.Regions[j] = reg
		}
		if utf8.RuneCountInString(m.Theme) > maxThemeRunes {
			return warden.FieldErrorf(field+".theme", "the theme is over %d characters", maxThemeRunes)
		}
		if len(m.Variants) == 0 || len(m.Variants) > MaxVariants {
			return warden.FieldErrorf(field+".variants", "a message has 1 to %d variants besides its control arm", MaxVariants)
		}
		for j, v := range m.Variants {
			vf := fmt.Sprintf("%s.variants[%d]", field, j)
			if !idPattern.MatchString(v.ID) || v.ID == Control {
				return warden.FieldErrorf(vf+".id", "a variant id is 1 to 64 lower case letters, digits and _ . -, not %q, got %q", Control, clipText(v.ID))
			}
			if variants[v.ID] {
				return warden.FieldErrorf(vf+".id", "variant %q appears twice in the experiment", v.ID)
			}
			variants[v.ID] = true
			switch {
			case strings.TrimSpace(v.Text) == "" || !utf8.ValidString(v.Text):
				return warden.FieldErrorf(vf+".text", "variant %q needs its text (UTF-8)", v.ID)
			case utf8.RuneCountInString(v.Text) > MaxTextRunes:
				return warden.FieldErrorf(vf+".text", "the text of %q is over %d characters", v.ID, MaxTextRunes)
			}
			if kind := warden.PersonalData(v.Text); kind != "" {
				return warden.FieldErrorf(vf+".text", "the text of %q holds %s: a message shown to many users carries no contact or link", v.ID, kind)
			}
		}
	}
	return nil
}

// Arms lists m's arms: the control arm first, then the variants' ids.
func (m Message) Arms() []string {
	out := []string{Control}
	for _, v := range m.Variants {
		out = append(out, v.ID)
	}
	return out
}

// For returns the message of region in e.
func (e *Experiment) For(region string) (Message, bool) {
	for _, m := range e.Messages {
		if slices.Contains(m.Regions, region) {
			return m, true
		}
	}
	return Message{}, false
}

//go:embed experiments.yaml
var builtin []byte

// Defaults returns the built-in experiments (messaging/experiments.yaml).
func Defaults() []Experiment {
	es, err := ParseYAML(builtin)
	if err != nil {
		panic("messaging/experiments.yaml: " + err.Error())
	}
	return es
}

// ParseYAML reads a file of experiments ({experiments: [...]}) strictly:
// unknown keys are errors, each experiment is validated, ids are distinct
// and no region runs in two of them.
func ParseYAML(data []byte) ([]Experiment, error) {
	if len(data) > MaxBodyBytes {
		return nil, warden.Errorf(warden.ETOOLARGE, "the experiments file is over %d bytes", MaxBodyBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f struct {
		Experiments []Experiment `yaml:"experiments"`
	}
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, warden.FieldErrorf("experiments", "the experiments file is empty")
		}
		return nil, warden.FieldErrorf("experiments", "experiments YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	for i := range f.Experiments {
		if err := f.Experiments[i].Validate(); err != nil {
			return nil, prefixed(fmt.Sprintf("experiments[%d]", i), err)
		}
		if err := Overlap(f.Experiments[i], f.Experiments[:i]); err != nil {
			return nil, prefixed(fmt.Sprintf("experiments[%d]", i), err)
		}
	}
	return f.Experiments, nil
}

// DecodeJSON reads one experiment from a request body, strictly (unknown
// fields are errors naming them), and validates it.
func DecodeJSON(body []byte) (Experiment, error) {
	var e Experiment
	if err := warden.DecodeStrict(body, &e); err != nil {
		return Experiment{}, err
	}
	if err := e.Validate(); err != nil {
		return Experiment{}, err
	}
	return e, nil
}

// Overlap returns an error when e has the id of one of others, or, both
// running, shares a region with one of them (an ECONFLICT).
func Overlap(e Experiment, others []Experiment) error {
	for _, o := range others {
		if o.ID == e.ID {
			return warden.FieldErrorf("id", "experiment %q appears twice", e.ID)
		}
	}
	if e.Stopped {
		return nil
	}
	for _, o := range others {
		if o.Stopped {
			continue
		}
		for i, m := range e.Messages {
			for _, r := range m.Regions {
				if _, ok := o.For(r); ok {
					return &warden.Error{Code: warden.ECONFLICT, Field: fmt.Sprintf("messages[%d].regions", i),
						Message: fmt.Sprintf("region %s runs in experiment %q already; stop that one first (\"stopped\": true) or leave %s out", r, o.ID, r)}
				}
			}
		}
	}
	return nil
}

func prefixed(prefix string, err error) error {
	var we *warden.Error
	if errors.As(err, &we) {
		c := *we
		c.Field = prefix + "." + c.Field
		return &c
	}
	return err
}

func clipText(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
