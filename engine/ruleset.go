package engine

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// The YAML form of a rule set. A rule set is a directory of files (the
// built-in pack, or --rules DIR); each *.yaml file may declare lists,
// counters, features and rules, which share one namespace. Files named
// *.test.yaml hold fixtures (see fixture.go).

type fileDoc struct {
	Lists    []listDoc    `yaml:"lists"`
	Counters []counterDoc `yaml:"counters"`
	Features []featureDoc `yaml:"features"`
	Rules    []ruleDoc    `yaml:"rules"`
}

type listDoc struct {
	pos
	Name   string   `yaml:"name"`
	File   string   `yaml:"file"`
	Values []string `yaml:"values"`
}

type counterDoc struct {
	pos
	Name   string   `yaml:"name"`
	Kind   string   `yaml:"kind"`
	On     []string `yaml:"on"`
	Key    keySrc   `yaml:"key"`
	Of     src      `yaml:"of"`
	Where  src      `yaml:"where"`
	Window string   `yaml:"window"`
	K      int      `yaml:"k"`
	Limit  float64  `yaml:"limit"`
}

type featureDoc struct {
	pos
	Name string `yaml:"name"`
	Expr src    `yaml:"expr"`
}

type ruleDoc struct {
	pos
	Name    string   `yaml:"name"`
	On      []string `yaml:"on"`
	When    src      `yaml:"when"`
	Action  string   `yaml:"action"`
	Reason  src      `yaml:"reason"`
	Mode    string   `yaml:"mode"`
	Version int      `yaml:"version"`
	Tags    []string `yaml:"tags"`
	// Category is a report category; absent, the first tag that is one,
	// else "other".
	Category string `yaml:"category"`
	// Case is what its flagged hits open for a person: account (default),
	// campaign:lockstep, campaign:text, campaign:linked, or none.
	Case   string      `yaml:"case"`
	Score  *float64    `yaml:"score"`
	Labels []effectDoc `yaml:"labels"`
}

type effectDoc struct {
	pos
	Entity string `yaml:"entity"`
	Label  string `yaml:"label"`
	TTL    string `yaml:"ttl"`
}

// pos is where a YAML node starts.
type pos struct {
	File      string `yaml:"-"`
	Line, Col int    `yaml:"-"`
}

// src is an expression (or template) with where its text starts in the
// file, so that errors inside it point at the right column.
type src struct {
	S         string
	Line, Col int
	// Block is set for literal and folded scalars, whose text starts on the
	// line after the indicator.
	Block bool
}

func (s *src) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &Error{Line: n.Line, Col: n.Column, Msg: "expected an expression (a string)"}
	}
	s.S, s.Line, s.Col = n.Value, n.Line, n.Column
	switch n.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		s.Col++
	case yaml.LiteralStyle, yaml.FoldedStyle:
		s.Block = true
	}
	return nil
}

// keySrc is a counter key: one expression, or a list of them for a
// combination such as [actor, target].
type keySrc []src

func (k *keySrc) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		var s src
		if err := s.UnmarshalYAML(n); err != nil {
			return err
		}
		*k = keySrc{s}
		return nil
	}
	for _, c := range n.Content {
		var s src
		if err := s.UnmarshalYAML(c); err != nil {
			return err
		}
		*k = append(*k, s)
	}
	return nil
}

// allowed keys per mapping, for errors on typos that yaml.v3 does not catch
// inside custom unmarshalers.
var allowed = map[string][]string{
	"file":    {"lists", "counters", "features", "rules"},
	"list":    {"name", "file", "values"},
	"counter": {"name", "kind", "on", "key", "of", "where", "window", "k", "limit"},
	"feature": {"name", "expr"},
	"rule":    {"name", "on", "when", "action", "reason", "mode", "version", "tags", "category", "case", "score", "labels"},
	"label":   {"entity", "label", "ttl"},
}

func checkKeys(n *yaml.Node, what string) error {
	if n.Kind != yaml.MappingNode {
		return &Error{Line: n.Line, Col: n.Column, Msg: fmt.Sprintf("expected a %s (a mapping of keys to values)", what)}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(allowed[what], k.Value) {
			msg := fmt.Sprintf("unknown key %q in a %s", k.Value, what)
			if s := closest(k.Value, allowed[what]); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else {
				msg += "; allowed: " + strings.Join(allowed[what], ", ")
			}
			return &Error{Line: k.Line, Col: k.Column, Msg: msg}
		}
	}
	return nil
}

func (d *fileDoc) UnmarshalYAML(n *yaml.Node) error {
	if err := checkKeys(n, "file"); err != nil {
		return err
	}
	type plain fileDoc
	return n.Decode((*plain)(d))
}

func decodeAt[T any](n *yaml.Node, what string, p *pos, v *T) error {
	if err := checkKeys(n, what); err != nil {
		return err
	}
	p.Line, p.Col = n.Line, n.Column
	return n.Decode(v)
}

func (d *listDoc) UnmarshalYAML(n *yaml.Node) error {
	type plain listDoc
	return decodeAt(n, "list", &d.pos, (*plain)(d))
}

func (d *counterDoc) UnmarshalYAML(n *yaml.Node) error {
	type plain counterDoc
	return decodeAt(n, "counter", &d.pos, (*plain)(d))
}

func (d *featureDoc) UnmarshalYAML(n *yaml.Node) error {
	type plain featureDoc
	return decodeAt(n, "feature", &d.pos, (*plain)(d))
}

func (d *ruleDoc) UnmarshalYAML(n *yaml.Node) error {
	type plain ruleDoc
	return decodeAt(n, "rule", &d.pos, (*plain)(d))
}

func (d *effectDoc) UnmarshalYAML(n *yaml.Node) error {
	type plain effectDoc
	return decodeAt(n, "label", &d.pos, (*plain)(d))
}

// closest returns the candidate within edit distance 2 of s, if any.
func closest(s string, cands []string) string {
	best, bd := "", 3
	for _, c := range cands {
		if d := editDistance(s, c); d < bd {
			best, bd = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// source is one parsed rule file.
type source struct {
	name string // path within the rule set
	text []byte
	doc  fileDoc
}

// LadderDir is the directory of a rule set that holds enforcement ladders
// (package enforce), not rules.
const LadderDir = "ladders"

// ValvesDir is the directory of a rule set that holds the rules' safety
// valves (package enforce), not rules.
const ValvesDir = "valves"

// isRuleFile reports whether name is a rule file (not a fixture).
func isRuleFile(name string) bool {
	return (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) && !isFixtureFile(name)
}

func isFixtureFile(name string) bool {
	return strings.HasSuffix(name, ".test.yaml") || strings.HasSuffix(name, ".test.yml")
}

// readSources parses every rule file under fsys, in name order.
func readSources(fsys fs.FS) ([]source, Errors) {
	var srcs []source
	var errs Errors
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (p == LadderDir || p == ValvesDir) {
			return fs.SkipDir // enforcement ladders and valves: package enforce reads them
		}
		if d.IsDir() || !isRuleFile(p) {
			return nil
		}
		text, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, &Error{File: p, Msg: err.Error()})
			return nil
		}
		s := source{name: p, text: text}
		if err := yaml.Unmarshal(text, &s.doc); err != nil {
			errs = append(errs, yamlError(p, err))
			return nil
		}
		srcs = append(srcs, s)
		return nil
	})
	if err != nil {
		errs = append(errs, &Error{Msg: "reading the rule set: " + err.Error()})
	}
	return srcs, errs
}

// yamlError turns a yaml.v3 error (or one of ours raised inside it) into an
// Error naming the file.
func yamlError(file string, err error) *Error {
	var e *Error
	if asError(err, &e) {
		c := *e
		c.File = file
		return &c
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	// yaml.v3 reports "line N: message".
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			fmt.Sscanf(rest[:i], "%d", &line)
			msg = strings.TrimSpace(rest[i+1:])
		}
	}
	if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
		msg = te.Errors[0]
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			if i := strings.IndexByte(rest, ':'); i > 0 {
				fmt.Sscanf(rest[:i], "%d", &line)
				msg = strings.TrimSpace(rest[i+1:])
			}
		}
	}
	return &Error{File: file, Line: line, Msg: msg}
}

func joinPath(dir, p string) string { return path.Clean(path.Join(dir, p)) }
