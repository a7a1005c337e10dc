// Package survey reads trust benchmark survey waves (CONTRACT §9): a
// codebook in YAML that names every column of the wave's CSV file (the
// region, an optional pseudonymous platform id, an optional design weight,
// scale items with reverse coding and labels per language, categorical
// columns such as age band and gender), and the CSV file itself, validated
// strictly against it. The platform id is kept only as an HMAC-SHA256 under
// a salt that lives in its own key file, never with the survey.
package survey

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wardenhq/warden"
)

// MaxCodebookBytes bounds a codebook file.
const MaxCodebookBytes = 1 << 20

// Codebook describes a wave's columns.
type Codebook struct {
	// Region names the column of ISO 3166-1 alpha-2 region codes
	// (default "region").
	Region string `yaml:"region" json:"region"`
	// PlatformID names the optional column of respondents' platform
	// account ids; they are stored only as salted hashes.
	PlatformID string `yaml:"platform_id,omitempty" json:"platform_id,omitempty"`
	// Weight names the optional column of design weights (default: 1).
	Weight string `yaml:"weight,omitempty" json:"weight,omitempty"`
	// Trust is the item the trust index is computed on.
	Trust string `yaml:"trust" json:"trust"`
	// Languages lists the label languages; every label must be in one.
	Languages []string         `yaml:"languages,omitempty" json:"languages,omitempty"`
	Scales    map[string]Scale `yaml:"scales" json:"scales"`
	Items     []Item           `yaml:"items" json:"items"`
	Columns   []Column         `yaml:"columns,omitempty" json:"columns,omitempty"`
}

// Scale is an integer answer scale from Min to Max.
type Scale struct {
	Min int `yaml:"min" json:"min"`
	Max int `yaml:"max" json:"max"`
	// TopBox is how many of the highest points count as the top box
	// (default 2: top-2-box).
	TopBox int `yaml:"top_box,omitempty" json:"top_box,omitempty"`
	// Missing lists codes that mean no answer (for example 99); an empty
	// cell means no answer too.
	Missing []int `yaml:"missing,omitempty" json:"missing,omitempty"`
	// Labels holds, per language, the label of each point.
	Labels map[string]map[int]string `yaml:"labels,omitempty" json:"labels,omitempty"`
}

// Item is one scale question, a CSV column.
type Item struct {
	Name  string `yaml:"name" json:"name"`
	Scale string `yaml:"scale" json:"scale"`
	// Reverse items are stored reverse coded: min + max - answer.
	Reverse bool `yaml:"reverse,omitempty" json:"reverse,omitempty"`
	// Labels holds the question text per language.
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
}

// Column is a categorical column (a raking variable such as age band).
type Column struct {
	Name   string   `yaml:"name" json:"name"`
	Levels []string `yaml:"levels" json:"levels"`
	// Labels holds, per language, the label of each level.
	Labels map[string]map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
}

var (
	namePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.]{0,63}$`)
	langPattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
)

// ParseCodebook reads and validates a codebook. Unknown keys, duplicate
// names, an item on an undefined scale, a trust item that is not an item,
// a label in an undeclared language and a label for a point outside the
// scale are errors naming the place (items[2].scale and the like).
func ParseCodebook(data []byte) (*Codebook, error) {
	if len(data) > MaxCodebookBytes {
		return nil, &warden.Error{Code: warden.ETOOLARGE, Field: "codebook", Message: fmt.Sprintf("the codebook is over %d bytes", MaxCodebookBytes)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var cb Codebook
	if err := dec.Decode(&cb); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, warden.FieldErrorf("codebook", "the codebook is empty")
		}
		return nil, warden.FieldErrorf("codebook", "codebook YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, warden.FieldErrorf("codebook", "the codebook must be one YAML document")
	}
	if err := cb.validate(); err != nil {
		return nil, err
	}
	return &cb, nil
}

func (cb *Codebook) validate() error {
	if cb.Region == "" {
		cb.Region = "region"
	}
	langs := map[string]bool{}
	for i, l := range cb.Languages {
		if !langPattern.MatchString(l) || langs[l] {
			return warden.FieldErrorf(fmt.Sprintf("languages[%d]", i), "%q is not a language tag (like en or pt-BR) or appears twice", clip(l))
		}
		langs[l] = true
	}
	lang := func(field, l string) error {
		if !langs[l] {
			return warden.FieldErrorf(field, "label language %q is not in languages (%s)", clip(l), strings.Join(cb.Languages, ", "))
		}
		return nil
	}
	names := map[string]string{}
	claim := func(field, name, what string) error {
		if !namePattern.MatchString(name) {
			return warden.FieldErrorf(field, "%s name %q must start with a letter and hold only letters, digits, _ and . (at most 64)", what, clip(name))
		}
		if prev, dup := names[name]; dup {
			return warden.FieldErrorf(field, "%q names two columns (%s and %s)", name, prev, field)
		}
		names[name] = field
		return nil
	}
	if err := claim("region", cb.Region, "the region column's"); err != nil {
		return err
	}
	if cb.PlatformID != "" {
		if err := claim("platform_id", cb.PlatformID, "the platform id column's"); err != nil {
			return err
		}
	}
	if cb.Weight != "" {
		if err := claim("weight", cb.Weight, "the weight column's"); err != nil {
			return err
		}
	}
	if len(cb.Scales) == 0 {
		return warden.FieldErrorf("scales", "define at least one scale (min, max)")
	}
	for _, name := range sortedKeys(cb.Scales) {
		s, field := cb.Scales[name], "scales."+name
		if !namePattern.MatchString(name) {
			return warden.FieldErrorf(field, "scale name %q must start with a letter and hold only letters, digits, _ and .", clip(name))
		}
		if s.Max <= s.Min || s.Max-s.Min > 100 {
			return warden.FieldErrorf(field, "scale %q needs min < max, at most 100 points apart (got %d..%d)", name, s.Min, s.Max)
		}
		if s.TopBox == 0 {
			s.TopBox = 2
		}
		if s.TopBox < 1 || s.TopBox > s.Max-s.Min {
			return warden.FieldErrorf(field+".top_box", "top_box of %q must be between 1 and %d", name, s.Max-s.Min)
		}
		for i, m := range s.Missing {
			if m >= s.Min && m <= s.Max {
				return warden.FieldErrorf(fmt.Sprintf("%s.missing[%d]", field, i), "missing code %d of %q lies on the scale %d..%d", m, name, s.Min, s.Max)
			}
		}
		for _, l := range sortedKeys(s.Labels) {
			if err := lang(field+".labels."+l, l); err != nil {
				return err
			}
			for _, p := range sortedKeys(s.Labels[l]) {
				if p < s.Min || p > s.Max {
					return warden.FieldErrorf(fmt.Sprintf("%s.labels.%s.%d", field, l, p), "point %d of %q is outside %d..%d", p, name, s.Min, s.Max)
				}
			}
		}
		cb.Scales[name] = s
	}
	if len(cb.Items) == 0 {
		return warden.FieldErrorf("items", "list at least one item (the trust item)")
	}
	for i, it := range cb.Items {
		field := fmt.Sprintf("items[%d]", i)
		if err := claim(field+".name", it.Name, "an item's"); err != nil {
			return err
		}
		if _, ok := cb.Scales[it.Scale]; !ok {
			return warden.FieldErrorf(field+".scale", "item %q is on scale %q, which scales does not define", it.Name, clip(it.Scale))
		}
		for _, l := range sortedKeys(it.Labels) {
			if err := lang(field+".labels."+l, l); err != nil {
				return err
			}
		}
	}
	if cb.Trust == "" || !slices.ContainsFunc(cb.Items, func(it Item) bool { return it.Name == cb.Trust }) {
		return warden.FieldErrorf("trust", "trust must name one of the items (got %q)", clip(cb.Trust))
	}
	for i, c := range cb.Columns {
		field := fmt.Sprintf("columns[%d]", i)
		if err := claim(field+".name", c.Name, "a column's"); err != nil {
			return err
		}
		if len(c.Levels) == 0 {
			return warden.FieldErrorf(field+".levels", "column %q needs its levels", c.Name)
		}
		seen := map[string]bool{}
		for j, l := range c.Levels {
			if l == "" || len(l) > 100 || seen[l] || strings.TrimSpace(l) != l {
				return warden.FieldErrorf(fmt.Sprintf("%s.levels[%d]", field, j), "level %q of %q is empty, over 100 bytes, padded or repeated", clip(l), c.Name)
			}
			seen[l] = true
		}
		for _, l := range sortedKeys(c.Labels) {
			if err := lang(field+".labels."+l, l); err != nil {
				return err
			}
			for _, lv := range sortedKeys(c.Labels[l]) {
				if !seen[lv] {
					return warden.FieldErrorf(field+".labels."+l, "label for %q, which is not a level of %q", clip(lv), c.Name)
				}
			}
		}
	}
	return nil
}

// Item returns the named item and its scale.
func (cb *Codebook) Item(name string) (Item, Scale, bool) {
	for _, it := range cb.Items {
		if it.Name == name {
			return it, cb.Scales[it.Scale], true
		}
	}
	return Item{}, Scale{}, false
}

func sortedKeys[K interface{ ~string | ~int }, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
