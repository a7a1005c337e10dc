package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine/state"
)

// Error is a problem in a rule set, pointing at the file, line and column to
// fix. Line and Col are 1-based; 0 means unknown.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return e.File + ": " + e.Msg
	}
	return e.Msg
}

// Errors is every problem found in a rule set, in file order.
type Errors []*Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

func asError(err error, target **Error) bool { return errors.As(err, target) }

// Labels tells whether an entity (an account, content, IP …) carries a label
// set by enforcement or a moderator, such as "verified" or "allowlisted".
// Rules read it with has_label(entity, label).
type Labels interface {
	Has(entity, label string) bool
}

type valueKind uint8

const (
	kindNum valueKind = iota
	kindBool
	kindStr
)

// node is a counter or a named feature: something computed once per event,
// before the rules.
type node struct {
	name string
	pos  pos
	deps []string
	ctr  *counter // nil for a feature
	prog *program
	kind valueKind
	idx  int // index into Env.N, B or S
	uses needs
	// labels is set when the node's expression calls has_label, whose
	// answer depends on the labels earlier rules set on this engine.
	labels bool
}

type counter struct {
	spec  state.Spec
	seed  uint64 // identifies the definition: a changed counter starts afresh
	on    map[string]bool
	key   []valueFn
	of    valueFn
	where *program
	// crowd is the counter's index among the crowd counters (those not
	// keyed by the actor), or -1 for one keyed by the actor; see Crowd.
	crowd   int
	byActor bool // one of its key's parts is the actor
}

// valueFn yields a string: a direct field read when the expression is a
// plain field name, else a compiled expression.
type valueFn struct {
	field func(*Env) string
	prog  *program
}

// program is a compiled expression: for the virtual machine, and as
// closures when the closure compiler handles it (fast.k set by ok).
type program struct {
	vm   *vm.Program
	fast cl
	ok   bool
}

type ruleMode uint8

const (
	modeEnforce ruleMode = iota
	modeShadow
	modeSampled
	modeDisabled
)

type rule struct {
	name     string
	file     string
	pos      pos
	version  int
	action   warden.Action
	mode     ruleMode
	modeStr  string
	sample   uint64 // per 10,000 actors, for sampled mode
	tags     []string
	category string
	caseKind string
	weight   float64
	on       map[string]bool
	prog     *program
	reason   []reasonPart
	labels   []labelEffect
	cost     int
	deps     []string
	uses     needs
	seed     uint64
	stats    *ruleStats
}

type reasonPart struct {
	lit  string
	prog *program
}

type labelEffect struct {
	entity valueFn
	label  string
	ttl    time.Duration
}

// plan is what runs for one event type: counters and features in
// dependency order, then rules, cheapest first.
type plan struct {
	nodes []*node
	rules []*rule
	needs needs
	// crowd is the plan's crowd counters and the features they read, in
	// dependency order: what ObserveCrowd computes for the event type.
	crowd      []*node
	crowdNeeds needs
}

// RuleSet is a compiled, checked rule set. It is immutable and safe for
// concurrent use.
type RuleSet struct {
	nodes     []*node // every counter and feature, in dependency order
	rules     []*rule // every rule, in declaration order
	plans     map[string]*plan
	def       *plan // for event types no rule or counter names
	lists     map[string]*list
	nN        int
	nB        int
	nS        int
	maxWindow time.Duration
	fixtures  []fixtureFile
	nCrowd    int   // crowd counters
	crowdErr  error // why the crowd counters cannot be counted apart, if they cannot
}

type list struct {
	set   map[string]struct{}
	lower []string // for list_match
	// The index list_match builds on first use.
	once     sync.Once
	byFirst  [256][]string
	nonASCII []string
}

// CompileOptions configure Compile.
type CompileOptions struct {
	// Labels answers has_label; nil means no entity has any label.
	Labels Labels
	// Modes overrides rules' modes by name (a rule promoted from shadow
	// to enforce in the console); a name no rule has is ignored.
	Modes map[string]string
	// Partners answers partner_listed and partner_trust; nil means no
	// partner lists anything.
	Partners Partners
}

var durationUnits = "use a Go duration such as 30s, 10m, 24h"

// Compile reads and checks the rule set in fsys. On any problem it returns
// nil and Errors listing every problem found, each naming file, line and
// column.
func Compile(fsys fs.FS, opts CompileOptions) (*RuleSet, error) {
	srcs, errs := readSources(fsys)
	c := &compiler{fsys: fsys, opts: opts, rs: &RuleSet{lists: map[string]*list{}}, names: map[string]pos{}, decl: map[string]any{}}
	c.errs = errs
	for i := range srcs {
		c.declare(&srcs[i])
	}
	c.lineText = map[string][]string{}
	for _, s := range srcs {
		c.lineText[s.name] = splitLines(s.text)
	}
	if len(c.errs) == 0 {
		c.compileNodes()
	}
	if len(c.errs) == 0 {
		c.compileRules()
	}
	if len(c.errs) == 0 {
		c.buildPlans()
		c.crowdPlans()
	}
	fx, ferrs := readFixtures(fsys)
	c.errs = append(c.errs, ferrs...)
	if len(c.errs) > 0 {
		sort.SliceStable(c.errs, func(i, j int) bool {
			a, b := c.errs[i], c.errs[j]
			if a.File != b.File {
				return a.File < b.File
			}
			return a.Line < b.Line
		})
		return nil, c.errs
	}
	c.rs.fixtures = fx
	return c.rs, nil
}

type compiler struct {
	fsys     fs.FS
	opts     CompileOptions
	rs       *RuleSet
	errs     Errors
	names    map[string]pos
	decl     map[string]any // name → *counterDoc, *featureDoc
	order    []string       // counters and features in declaration order
	ruleDocs []*ruleDoc
	lineText map[string][]string
	known    map[string]*node
}

func splitLines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func (c *compiler) errorf(p pos, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: p.File, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)})
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s[0] != '_'
}

func (c *compiler) claim(name string, p pos, what string) bool {
	switch {
	case !validName(name):
		c.errorf(p, "%s name %q must be letters, digits and underscores, starting with a letter", what, name)
		return false
	case envNames[name]:
		c.errorf(p, "%s name %q is taken by a built-in field or function: choose another", what, name)
		return false
	}
	if prev, ok := c.names[name]; ok {
		c.errorf(p, "%s %q is already declared at %s:%d", what, name, prev.File, prev.Line)
		return false
	}
	c.names[name] = p
	return true
}

func (c *compiler) declare(s *source) {
	d := &s.doc
	for i := range d.Lists {
		l := &d.Lists[i]
		l.pos.File = s.name
		c.declareList(l)
	}
	for i := range d.Counters {
		ct := &d.Counters[i]
		c.declareNode(ct.Name, &ct.pos, s.name, "counter", ct)
	}
	for i := range d.Features {
		f := &d.Features[i]
		c.declareNode(f.Name, &f.pos, s.name, "feature", f)
	}
	for i := range d.Rules {
		r := &d.Rules[i]
		r.pos.File = s.name
		if c.claim(r.Name, r.pos, "rule") {
			c.ruleDocs = append(c.ruleDocs, r)
		}
	}
}

// declareNode declares a counter or a feature, in declaration order.
func (c *compiler) declareNode(name string, p *pos, file, what string, doc any) {
	p.File = file
	if c.claim(name, *p, what) {
		c.decl[name] = doc
		c.order = append(c.order, name)
	}
}

// declareList builds a list from its inline values and, with file:, from a
// file of one value a line (# starts a comment) relative to the rule file.
func (c *compiler) declareList(l *listDoc) {
	if !c.claim(l.Name, l.pos, "list") {
		return
	}
	lst := &list{set: map[string]struct{}{}}
	c.rs.lists[l.Name] = lst
	vals := l.Values
	if l.File != "" {
		data, err := fs.ReadFile(c.fsys, joinPath(path.Dir(l.pos.File), l.File))
		if err != nil {
			c.errorf(l.pos, "list %q: cannot read %s: %v", l.Name, l.File, err)
			return
		}
		vals = append(slices.Clone(vals), strings.Split(string(data), "\n")...)
	}
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if v == "" || strings.HasPrefix(v, "#") {
			continue
		}
		lst.set[v] = struct{}{}
		lst.lower = append(lst.lower, strings.ToLower(v))
	}
}

// refs parses an expression and returns the identifiers it names; a syntax
// error is reported at its position.
func (c *compiler) refs(p pos, s src) []string {
	tree, err := parser.Parse(s.S)
	if err != nil {
		c.exprError(p, s, err)
		return nil
	}
	var v identVisitor
	ast.Walk(&tree.Node, &v)
	return v.names
}

type identVisitor struct{ names []string }

func (v *identVisitor) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		v.names = append(v.names, x.Value)
	case *ast.CallNode:
		// in_list("name", …) names a list by a string.
		if id, ok := x.Callee.(*ast.IdentifierNode); ok && (id.Value == "in_list" || id.Value == "list_match") && len(x.Arguments) > 0 {
			if s, ok := x.Arguments[0].(*ast.StringNode); ok {
				v.names = append(v.names, "list:"+s.Value)
			}
		}
	}
}

// exprError maps an error inside an expression to its place in the file.
func (c *compiler) exprError(p pos, s src, err error) {
	line, col := s.Line, s.Col
	msg := err.Error()
	var fe *file.Error
	if errors.As(err, &fe) {
		msg = fe.Message
		if s.Block {
			// The block's text starts on the next line, less the block's
			// indentation, which its first line shows.
			line = s.Line + fe.Line
			indent := 0
			if lines := c.lineText[p.File]; s.Line < len(lines) {
				l := lines[s.Line]
				indent = len(l) - len(strings.TrimLeft(l, " \t"))
			}
			col = indent + fe.Column + 1
		} else {
			line = s.Line + fe.Line - 1
			if fe.Line <= 1 {
				col = s.Col + fe.Column
			} else {
				col = fe.Column + 1
			}
		}
		if strings.HasPrefix(msg, "unknown name ") {
			name := strings.TrimPrefix(msg, "unknown name ")
			if i := strings.IndexAny(name, " ("); i > 0 {
				name = name[:i]
			}
			cands := make([]string, 0, len(c.names)+len(envNames))
			for n := range c.names {
				cands = append(cands, n)
			}
			for n := range envNames {
				cands = append(cands, n)
			}
			sort.Strings(cands)
			if best := closest(name, cands); best != "" {
				msg = fmt.Sprintf("unknown name %s: did you mean %s?", name, best)
			} else {
				msg = fmt.Sprintf("unknown name %s: not a field, counter, feature or function", name)
			}
		}
	}
	c.errs = append(c.errs, &Error{File: p.File, Line: line, Col: col, Msg: msg})
}

// deps returns the counters and features among names.
func (c *compiler) deps(names []string) []string {
	var out []string
	for _, n := range names {
		if _, ok := c.decl[n]; ok && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func (c *compiler) checkLists(p pos, names []string) {
	for _, n := range names {
		if l, ok := strings.CutPrefix(n, "list:"); ok {
			if _, ok := c.rs.lists[l]; !ok {
				c.errorf(p, "unknown list %q: declare it under lists:", l)
			}
		}
	}
}

func usesOf(names []string) needs {
	return needs{
		textHash: slices.Contains(names, "text_hash"),
		attrs:    slices.Contains(names, "attrs"),
		age:      slices.Contains(names, "account_age_hours"),
		ip24:     slices.Contains(names, "ip24"),
	}
}

func (c *compiler) compileNodes() {
	// Dependencies first, from declaration order.
	type info struct {
		deps   []string
		uses   needs
		labels bool
	}
	infos := map[string]*info{}
	for _, name := range c.order {
		in := &info{}
		var all []string
		switch d := c.decl[name].(type) {
		case *counterDoc:
			for _, k := range d.Key {
				all = append(all, c.refs(d.pos, k)...)
			}
			if d.Of.S != "" {
				all = append(all, c.refs(d.pos, d.Of)...)
			}
			if d.Where.S != "" {
				all = append(all, c.refs(d.pos, d.Where)...)
			}
			c.checkLists(d.pos, all)
		case *featureDoc:
			all = c.refs(d.pos, d.Expr)
			c.checkLists(d.pos, all)
		}
		for _, n := range all {
			if partnerFuncs[n] {
				c.errorf(declPos(c.decl[name]), "%q calls %s: partner lists may be read only in a rule's when, so that its hits name the partner and a low-trust listing cannot block alone", name, n)
				break
			}
		}
		in.deps = c.deps(all)
		in.uses = usesOf(all)
		in.labels = slices.Contains(all, "has_label")
		infos[name] = in
	}
	if len(c.errs) > 0 {
		return
	}
	// Depth-first topological sort; a cycle is an error at the node that
	// closes it.
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var sorted []string
	var visit func(n string, from pos) bool
	visit = func(n string, from pos) bool {
		switch color[n] {
		case grey:
			c.errorf(from, "%q depends on itself through other counters or features: break the cycle", n)
			return false
		case black:
			return true
		}
		color[n] = grey
		for _, d := range infos[n].deps {
			if !visit(d, declPos(c.decl[n])) {
				return false
			}
		}
		color[n] = black
		sorted = append(sorted, n)
		return true
	}
	for _, n := range c.order {
		if !visit(n, declPos(c.decl[n])) {
			return
		}
	}
	c.known = map[string]*node{}
	for _, name := range sorted {
		nd := &node{name: name, deps: infos[name].deps, uses: infos[name].uses, labels: infos[name].labels}
		switch d := c.decl[name].(type) {
		case *counterDoc:
			nd.pos = d.pos
			nd.ctr = c.counter(d)
			nd.kind = kindNum
		case *featureDoc:
			nd.pos = d.pos
			prog := c.compile(d.pos, d.Expr)
			if prog == nil {
				continue
			}
			nd.prog = prog
			switch t := prog.vm.Node().Type(); {
			case t == nil:
				c.errorf(d.pos, "feature %q: cannot tell the type of %q; make it a number, bool or string", name, d.Expr.S)
			case t.Kind() == reflect.Bool:
				nd.kind = kindBool
			case t.Kind() == reflect.String:
				nd.kind = kindStr
			case t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64:
				nd.kind = kindNum
			default:
				c.errorf(d.pos, "feature %q is a %s; features must be a number, bool or string", name, t)
				continue
			}
		}
		switch nd.kind {
		case kindNum:
			nd.idx = c.rs.nN
			c.rs.nN++
		case kindBool:
			nd.idx = c.rs.nB
			c.rs.nB++
		case kindStr:
			nd.idx = c.rs.nS
			c.rs.nS++
		}
		c.known[name] = nd
		c.rs.nodes = append(c.rs.nodes, nd)
	}
}

func declPos(d any) pos {
	switch d := d.(type) {
	case *counterDoc:
		return d.pos
	case *featureDoc:
		return d.pos
	}
	return pos{}
}

func (c *compiler) counter(d *counterDoc) *counter {
	kind, ok := state.ParseKind(d.Kind)
	if !ok {
		c.errorf(d.pos, "counter %q: kind %q is not count, distinct, rate or last_k", d.Name, d.Kind)
		return nil
	}
	win, err := time.ParseDuration(d.Window)
	if err != nil || win < time.Second {
		c.errorf(d.pos, "counter %q: window %q is not a duration of at least 1s: %s", d.Name, d.Window, durationUnits)
		return nil
	}
	ct := &counter{spec: state.Spec{Kind: kind, Window: win, K: d.K, Limit: d.Limit}, crowd: -1}
	switch kind {
	case state.Distinct:
		if d.Of.S == "" {
			c.errorf(d.pos, "counter %q: a distinct counter needs of: the value to count distinct, such as target", d.Name)
			return nil
		}
	case state.LastK:
		if d.K < 1 || d.K > state.MaxK {
			c.errorf(d.pos, "counter %q: k must be 1..%d for last_k", d.Name, state.MaxK)
			return nil
		}
	case state.Rate:
		if d.Limit <= 0 {
			c.errorf(d.pos, "counter %q: a rate counter needs limit: events per window that drain away", d.Name)
			return nil
		}
	}
	if kind != state.Distinct && d.Of.S != "" {
		c.errorf(d.pos, "counter %q: of: only applies to distinct counters", d.Name)
	}
	if len(d.Key) == 0 {
		c.errorf(d.pos, "counter %q needs key: what to count by, such as actor, ip or [actor, target]", d.Name)
		return nil
	}
	if len(d.On) > 0 {
		ct.on = map[string]bool{}
		for _, t := range d.On {
			ct.on[t] = true
		}
	}
	for _, k := range d.Key {
		ct.key = append(ct.key, c.valueFn(d.pos, k))
		ct.byActor = ct.byActor || strings.TrimSpace(k.S) == "actor"
	}
	if d.Of.S != "" {
		ct.of = c.valueFn(d.pos, d.Of)
	}
	if d.Where.S != "" {
		ct.where = c.compile(d.pos, d.Where, expr.AsBool())
	}
	var id strings.Builder
	fmt.Fprintf(&id, "%s|%s|%s|%d|%g|%v", d.Name, kind, win, d.K, d.Limit, d.On)
	for _, k := range d.Key {
		id.WriteString("|" + k.S)
	}
	id.WriteString("|" + d.Of.S + "|" + d.Where.S)
	ct.seed = state.Hash(state.Seed, id.String())
	return ct
}

func (c *compiler) valueFn(p pos, s src) valueFn {
	if f, ok := strFields[strings.TrimSpace(s.S)]; ok {
		return valueFn{field: f}
	}
	return valueFn{prog: c.compile(p, s)}
}

// patcher rewrites counter and feature names into Env slice reads.
type patcher struct{ known map[string]*node }

func (p *patcher) Visit(n *ast.Node) {
	patchPartnerCall(n)
	id, ok := (*n).(*ast.IdentifierNode)
	if !ok {
		return
	}
	nd, ok := p.known[id.Value]
	if !ok {
		return
	}
	field := [...]string{"_n", "_b", "_s"}[nd.kind]
	ast.Patch(n, &ast.MemberNode{Node: &ast.IdentifierNode{Value: field}, Property: &ast.IntegerNode{Value: nd.idx}})
}

func (c *compiler) exprOptions() []expr.Option {
	lists := c.rs.lists
	labels := c.opts.Labels
	partners := c.opts.Partners
	return []expr.Option{
		expr.Env(Env{}),
		expr.Patch(&patcher{known: c.known}),
		expr.Function("in_list", func(p ...any) (any, error) {
			l := lists[p[0].(string)]
			if l == nil {
				return false, nil
			}
			_, ok := l.set[p[1].(string)]
			return ok, nil
		}, new(func(string, string) bool)),
		expr.Function("list_match", func(p ...any) (any, error) {
			l := lists[p[0].(string)]
			if l == nil {
				return false, nil
			}
			return l.match(p[1].(string)), nil
		}, new(func(string, string) bool)),
		expr.Function("has_label", func(p ...any) (any, error) {
			if labels == nil {
				return false, nil
			}
			return labels.Has(p[0].(string), p[1].(string)), nil
		}, new(func(string, string) bool)),
		// The compiler appends the evaluation's partnerCtx to each call
		// (patchPartnerCall): rules write partner_listed("email", attrs.email).
		expr.Function("partner_listed", func(p ...any) (any, error) {
			pc, _ := p[2].(*partnerCtx)
			if pc == nil {
				return false, nil
			}
			_, t := pc.lookup(partners, p[0].(string), p[1].(string))
			return t != TrustNone, nil
		}, new(func(string, string, *partnerCtx) bool)),
		expr.Function("partner_trust", func(p ...any) (any, error) {
			pc, _ := p[2].(*partnerCtx)
			if pc == nil {
				return "", nil
			}
			_, t := pc.lookup(partners, p[0].(string), p[1].(string))
			return TrustName(t), nil
		}, new(func(string, string, *partnerCtx) string)),
	}
}

func (c *compiler) compile(p pos, s src, extra ...expr.Option) *program {
	if strings.TrimSpace(s.S) == "" {
		c.errorf(p, "empty expression")
		return nil
	}
	opts := append(c.exprOptions(), extra...)
	prog, err := expr.Compile(s.S, opts...)
	if err != nil {
		c.exprError(p, s, err)
		return nil
	}
	cc := closureCompiler{lists: c.rs.lists, labels: c.opts.Labels, partners: c.opts.Partners}
	fast, ok := cc.compile(prog.Node())
	return &program{vm: prog, fast: fast, ok: ok}
}

func parseMode(s string) (ruleMode, uint64, error) {
	switch s {
	case "", warden.ModeEnforce:
		return modeEnforce, 0, nil
	case warden.ModeShadow:
		return modeShadow, 0, nil
	case warden.ModeDisabled:
		return modeDisabled, 0, nil
	}
	if rest, ok := strings.CutPrefix(s, warden.ModeSampled+":"); ok {
		p, err := strconv.ParseFloat(strings.TrimSuffix(rest, "%"), 64)
		if err == nil && p >= 0 && p <= 100 {
			return modeSampled, uint64(math.Round(p * 100)), nil
		}
	}
	return 0, 0, fmt.Errorf("mode %q is not disabled, shadow, sampled:P%% (such as sampled:10%%) or enforce", s)
}

// ruleCategory is the rule's declared category, checked against the report
// categories; without one, the first tag that names a category, else other.
func ruleCategory(declared string, tags []string) (string, error) {
	if declared != "" {
		if !slices.Contains(warden.Categories, declared) {
			return "", fmt.Errorf("category %q is not one of %s", declared, strings.Join(warden.Categories, ", "))
		}
		return declared, nil
	}
	for _, t := range tags {
		if slices.Contains(warden.Categories, t) {
			return t, nil
		}
	}
	return warden.CategoryOther, nil
}

var defaultWeight = map[warden.Action]float64{
	warden.ActionAllow: 0, warden.ActionChallenge: 0.3, warden.ActionRateLimit: 0.4,
	warden.ActionReview: 0.6, warden.ActionBlock: 0.9,
}

func (c *compiler) compileRules() {
	for _, d := range c.ruleDocs {
		if m, ok := c.opts.Modes[d.Name]; ok {
			d.Mode = m
		}
		r := &rule{name: d.Name, file: d.pos.File, pos: d.pos, version: d.Version, tags: d.Tags, modeStr: d.Mode}
		if r.version == 0 {
			r.version = 1
		}
		act, err := warden.ParseAction(d.Action)
		if err != nil {
			c.errorf(d.pos, "rule %q: %s", d.Name, warden.ErrorMessage(err))
			continue
		}
		r.action = act
		if r.category, err = ruleCategory(d.Category, d.Tags); err != nil {
			c.errorf(d.pos, "rule %q: %v", d.Name, err)
			continue
		}
		switch r.caseKind = d.Case; {
		case r.caseKind == "":
			r.caseKind = warden.CaseAccount
		case !slices.Contains(warden.CaseKinds, r.caseKind):
			c.errorf(d.pos, "rule %q: case %q is not one of %s", d.Name, d.Case, strings.Join(warden.CaseKinds, ", "))
			continue
		}
		if r.mode, r.sample, err = parseMode(d.Mode); err != nil {
			c.errorf(d.pos, "rule %q: %v", d.Name, err)
			continue
		}
		if r.modeStr == "" {
			r.modeStr = warden.ModeEnforce
		}
		r.weight = defaultWeight[act]
		if d.Score != nil {
			if *d.Score < 0 || *d.Score > 1 {
				c.errorf(d.pos, "rule %q: score must be in [0,1]", d.Name)
			}
			r.weight = *d.Score
		}
		if d.When.S == "" {
			c.errorf(d.pos, "rule %q needs when: the condition, such as follows_10m > 40", d.Name)
			continue
		}
		if len(d.On) > 0 {
			r.on = map[string]bool{}
			for _, t := range d.On {
				r.on[t] = true
			}
		}
		names := c.refs(d.pos, d.When)
		c.checkLists(d.pos, names)
		r.prog = c.compile(d.pos, d.When, expr.AsBool())
		r.cost = cost(r.prog)
		parts, pnames := c.reason(d)
		r.reason = parts
		names = append(names, pnames...)
		for _, l := range d.Labels {
			l.pos.File = d.pos.File
			ttl := time.Duration(0)
			if l.TTL != "" {
				if ttl, err = time.ParseDuration(l.TTL); err != nil {
					c.errorf(l.pos, "label ttl %q: %s", l.TTL, durationUnits)
				}
			}
			if l.Label == "" {
				c.errorf(l.pos, "a label effect needs label: the label to set")
			}
			ent := l.Entity
			if ent == "" {
				ent = "actor"
			}
			names = append(names, c.refs(l.pos, src{S: ent, Line: l.Line, Col: l.Col})...)
			r.labels = append(r.labels, labelEffect{entity: c.valueFn(l.pos, src{S: ent, Line: l.Line, Col: l.Col}), label: l.Label, ttl: ttl})
		}
		r.deps = c.deps(names)
		r.uses = usesOf(names)
		r.seed = state.Hash(state.Seed, r.name)
		c.rs.rules = append(c.rs.rules, r)
	}
}

// cost estimates a rule's price from its compiled size, so cheap rules run
// first and a rule set's slow rules are the ones a time budget cuts.
func cost(p *program) int {
	if p == nil {
		return 0
	}
	n := 0
	if !p.ok {
		// The virtual machine is slower than closures: run such rules last.
		n += 50
	}
	root := p.vm.Node()
	ast.Walk(&root, costVisitor{&n})
	return n
}

type costVisitor struct{ n *int }

func (v costVisitor) Visit(n *ast.Node) {
	*v.n++
	if _, ok := (*n).(*ast.CallNode); ok {
		*v.n += 10
	}
}

// reason compiles a reason template: text with {{expression}} parts.
func (c *compiler) reason(d *ruleDoc) ([]reasonPart, []string) {
	s := d.Reason.S
	if s == "" {
		return []reasonPart{{lit: "rule " + d.Name + " matched"}}, nil
	}
	var parts []reasonPart
	var names []string
	off := 0
	for {
		i := strings.Index(s[off:], "{{")
		if i < 0 {
			parts = append(parts, reasonPart{lit: s[off:]})
			return parts, names
		}
		j := strings.Index(s[off+i:], "}}")
		if j < 0 {
			c.errorf(pos{File: d.pos.File, Line: d.Reason.Line, Col: d.Reason.Col + off + i}, "rule %q: reason has {{ without }}", d.Name)
			return nil, nil
		}
		parts = append(parts, reasonPart{lit: s[off : off+i]})
		inner := s[off+i+2 : off+i+j]
		sub := src{S: inner, Line: d.Reason.Line, Col: d.Reason.Col + off + i + 2, Block: d.Reason.Block}
		names = append(names, c.refs(d.pos, sub)...)
		if p := c.compile(d.pos, sub); p != nil {
			parts = append(parts, reasonPart{prog: p})
		}
		off += i + j + 2
	}
}

// buildPlans makes one plan per event type any rule or counter names, and a
// default plan for the rest.
func (c *compiler) buildPlans() {
	rs := c.rs
	types := map[string]bool{}
	for _, nd := range rs.nodes {
		if nd.ctr != nil {
			for t := range nd.ctr.on {
				types[t] = true
			}
			if d := nd.ctr.spec.Window; d > rs.maxWindow {
				rs.maxWindow = d
			}
		}
	}
	for _, r := range rs.rules {
		for t := range r.on {
			types[t] = true
		}
	}
	rs.plans = map[string]*plan{}
	for t := range types {
		rs.plans[t] = c.plan(func(on map[string]bool) bool { return on == nil || on[t] })
	}
	rs.def = c.plan(func(on map[string]bool) bool { return on == nil })
}

// marker returns a function that marks a node and, transitively, the
// counters and features it reads in need.
func (c *compiler) marker(need map[string]bool) func(string) {
	var mark func(string)
	mark = func(n string) {
		if need[n] {
			return
		}
		need[n] = true
		for _, d := range c.known[n].deps {
			mark(d)
		}
	}
	return mark
}

func (c *compiler) plan(applies func(map[string]bool) bool) *plan {
	p := &plan{}
	need := map[string]bool{}
	mark := c.marker(need)
	for _, r := range c.rs.rules {
		if r.mode == modeDisabled || !applies(r.on) {
			continue
		}
		p.rules = append(p.rules, r)
		p.needs.or(r.uses)
		for _, d := range r.deps {
			mark(d)
		}
	}
	for _, nd := range c.rs.nodes {
		if nd.ctr != nil && applies(nd.ctr.on) {
			mark(nd.name)
		}
	}
	for _, nd := range c.rs.nodes {
		if need[nd.name] {
			p.nodes = append(p.nodes, nd)
			p.needs.or(nd.uses)
		}
	}
	sort.SliceStable(p.rules, func(i, j int) bool {
		if p.rules[i].cost != p.rules[j].cost {
			return p.rules[i].cost < p.rules[j].cost
		}
		return p.rules[i].name < p.rules[j].name
	})
	return p
}

// Rules returns how many rules the set holds, disabled ones included.
func (rs *RuleSet) Rules() int { return len(rs.rules) }

// Counters returns how many counters the set declares.
func (rs *RuleSet) Counters() int {
	n := 0
	for _, nd := range rs.nodes {
		if nd.ctr != nil {
			n++
		}
	}
	return n
}
