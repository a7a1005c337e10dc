package engine

import (
	"math"
	"regexp"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// The closure compiler turns a checked expression's tree into Go closures
// over *Env. The expr virtual machine reads struct fields through
// reflection, boxing each value; most rule expressions are comparisons and
// boolean logic over fields, counters and features, which closures run an
// order of magnitude faster and without allocating. Expressions using
// anything else (builtins, arrays, maps other than attrs) keep running on
// the virtual machine; expr's checker has already vouched for both.

type cl struct {
	k valueKind
	n func(*Env) float64
	b func(*Env) bool
	s func(*Env) string
}

// closureCompiler knows the rule set's lists and labels, for the calls.
type closureCompiler struct {
	lists    map[string]*list
	labels   Labels
	partners Partners
}

// compile returns the closure for n, or ok=false when n uses something the
// closure compiler does not handle.
func (c *closureCompiler) compile(n ast.Node) (cl, bool) {
	switch x := n.(type) {
	case *ast.BoolNode:
		v := x.Value
		return cl{k: kindBool, b: func(*Env) bool { return v }}, true
	case *ast.IntegerNode:
		v := float64(x.Value)
		return cl{k: kindNum, n: func(*Env) float64 { return v }}, true
	case *ast.FloatNode:
		v := x.Value
		return cl{k: kindNum, n: func(*Env) float64 { return v }}, true
	case *ast.StringNode:
		v := x.Value
		return cl{k: kindStr, s: func(*Env) string { return v }}, true
	case *ast.ConstantNode:
		switch v := x.Value.(type) {
		case bool:
			return cl{k: kindBool, b: func(*Env) bool { return v }}, true
		case string:
			return cl{k: kindStr, s: func(*Env) string { return v }}, true
		case int:
			f := float64(v)
			return cl{k: kindNum, n: func(*Env) float64 { return f }}, true
		case float64:
			return cl{k: kindNum, n: func(*Env) float64 { return v }}, true
		}
	case *ast.IdentifierNode:
		if f, ok := strFields[x.Value]; ok {
			return cl{k: kindStr, s: f}, true
		}
		if f, ok := numFields[x.Value]; ok {
			return cl{k: kindNum, n: f}, true
		}
		if f, ok := boolFields[x.Value]; ok {
			return cl{k: kindBool, b: f}, true
		}
	case *ast.MemberNode:
		return c.member(x)
	case *ast.UnaryNode:
		a, ok := c.compile(x.Node)
		if !ok {
			return cl{}, false
		}
		switch {
		case (x.Operator == "!" || x.Operator == "not") && a.k == kindBool:
			f := a.b
			return cl{k: kindBool, b: func(e *Env) bool { return !f(e) }}, true
		case x.Operator == "-" && a.k == kindNum:
			f := a.n
			return cl{k: kindNum, n: func(e *Env) float64 { return -f(e) }}, true
		case x.Operator == "+" && a.k == kindNum:
			return a, true
		}
	case *ast.BinaryNode:
		return c.binary(x)
	case *ast.ConditionalNode:
		cond, ok1 := c.compile(x.Cond)
		a, ok2 := c.compile(x.Exp1)
		b, ok3 := c.compile(x.Exp2)
		if !ok1 || !ok2 || !ok3 || cond.k != kindBool || a.k != b.k {
			return cl{}, false
		}
		p := cond.b
		switch a.k {
		case kindBool:
			return cl{k: kindBool, b: func(e *Env) bool {
				if p(e) {
					return a.b(e)
				}
				return b.b(e)
			}}, true
		case kindNum:
			return cl{k: kindNum, n: func(e *Env) float64 {
				if p(e) {
					return a.n(e)
				}
				return b.n(e)
			}}, true
		case kindStr:
			return cl{k: kindStr, s: func(e *Env) string {
				if p(e) {
					return a.s(e)
				}
				return b.s(e)
			}}, true
		}
	case *ast.CallNode:
		return c.call(x)
	}
	return cl{}, false
}

func (c *closureCompiler) member(x *ast.MemberNode) (cl, bool) {
	if x.Optional {
		return cl{}, false
	}
	id, ok := x.Node.(*ast.IdentifierNode)
	if !ok {
		return cl{}, false
	}
	switch id.Value {
	case "_n", "_b", "_s":
		in, ok := x.Property.(*ast.IntegerNode)
		if !ok {
			return cl{}, false
		}
		i := in.Value
		switch id.Value {
		case "_n":
			return cl{k: kindNum, n: func(e *Env) float64 { return e.N[i] }}, true
		case "_b":
			return cl{k: kindBool, b: func(e *Env) bool { return e.B[i] }}, true
		default:
			return cl{k: kindStr, s: func(e *Env) string { return e.S[i] }}, true
		}
	case "detect":
		p, ok := x.Property.(*ast.StringNode)
		if !ok {
			return cl{}, false
		}
		if f, ok := detectNum[p.Value]; ok {
			return cl{k: kindNum, n: f}, true
		}
		if f, ok := detectStr[p.Value]; ok {
			return cl{k: kindStr, s: f}, true
		}
		if f, ok := detectBool[p.Value]; ok {
			return cl{k: kindBool, b: f}, true
		}
	case "attrs":
		p, ok := x.Property.(*ast.StringNode)
		if !ok {
			return cl{}, false
		}
		k := p.Value
		// A missing attribute reads as "".
		return cl{k: kindStr, s: func(e *Env) string { return e.Attrs[k] }}, true
	}
	return cl{}, false
}

func (c *closureCompiler) call(x *ast.CallNode) (cl, bool) {
	id, ok := x.Callee.(*ast.IdentifierNode)
	if ok && partnerFuncs[id.Value] && len(x.Arguments) == 3 {
		return c.partnerCall(id.Value, x)
	}
	if !ok || len(x.Arguments) != 2 {
		return cl{}, false
	}
	a, ok1 := c.compile(x.Arguments[0])
	b, ok2 := c.compile(x.Arguments[1])
	if !ok1 || !ok2 || a.k != kindStr || b.k != kindStr {
		return cl{}, false
	}
	switch id.Value {
	case "in_list", "list_match":
		name, ok := x.Arguments[0].(*ast.StringNode)
		if !ok {
			return cl{}, false
		}
		l := c.lists[name.Value]
		if l == nil {
			return cl{}, false
		}
		v := b.s
		if id.Value == "in_list" {
			return cl{k: kindBool, b: func(e *Env) bool { _, ok := l.set[v(e)]; return ok }}, true
		}
		return cl{k: kindBool, b: func(e *Env) bool { return l.match(v(e)) }}, true
	case "has_label":
		labels := c.labels
		if labels == nil {
			return cl{k: kindBool, b: func(*Env) bool { return false }}, true
		}
		return cl{k: kindBool, b: func(e *Env) bool { return labels.Has(a.s(e), b.s(e)) }}, true
	}
	return cl{}, false
}

// partnerCall compiles partner_listed and partner_trust, whose third
// argument (the partnerCtx the compiler appends) is read from the Env.
func (c *closureCompiler) partnerCall(name string, x *ast.CallNode) (cl, bool) {
	a, ok1 := c.compile(x.Arguments[0])
	b, ok2 := c.compile(x.Arguments[1])
	if !ok1 || !ok2 || a.k != kindStr || b.k != kindStr {
		return cl{}, false
	}
	ps := c.partners
	if name == "partner_listed" {
		return cl{k: kindBool, b: func(e *Env) bool {
			_, t := e.P.lookup(ps, a.s(e), b.s(e))
			return t != TrustNone
		}}, true
	}
	return cl{k: kindStr, s: func(e *Env) string {
		_, t := e.P.lookup(ps, a.s(e), b.s(e))
		return TrustName(t)
	}}, true
}

func (c *closureCompiler) binary(x *ast.BinaryNode) (cl, bool) {
	l, ok1 := c.compile(x.Left)
	r, ok2 := c.compile(x.Right)
	if !ok1 || !ok2 {
		return cl{}, false
	}
	op := x.Operator
	switch {
	case l.k == kindBool && r.k == kindBool:
		a, b := l.b, r.b
		switch op {
		case "&&", "and":
			return cl{k: kindBool, b: func(e *Env) bool { return a(e) && b(e) }}, true
		case "||", "or":
			return cl{k: kindBool, b: func(e *Env) bool { return a(e) || b(e) }}, true
		case "==":
			return cl{k: kindBool, b: func(e *Env) bool { return a(e) == b(e) }}, true
		case "!=":
			return cl{k: kindBool, b: func(e *Env) bool { return a(e) != b(e) }}, true
		}
	case l.k == kindNum && r.k == kindNum:
		a, b := l.n, r.n
		switch op {
		case "<":
			return cl{k: kindBool, b: func(e *Env) bool { return a(e) < b(e) }}, true
		case "<=":
			return cl{k: kindBool, b: func(e *Env) bool { return a(e) <= b(e) }}, true
		case ">":
			return cl{k: kindBool, b: func(e *Env) bool { return a(e) > b(e) }}, true
		case ">=":
			return cl{k: kindBool, b: func(e *Env) bool { return a(e) >= b(e) }}, true
		case "==":
			return cl{k: kindBool, b: func(e *Env) bool { return a(e) == b(e) }}, true
		case "!=":
			return cl{k: kindBool, b: func(e *Env) bool { return a(e) != b(e) }}, true
		case "+":
			return cl{k: kindNum, n: func(e *Env) float64 { return a(e) + b(e) }}, true
		case "-":
			return cl{k: kindNum, n: func(e *Env) float64 { return a(e) - b(e) }}, true
		case "*":
			return cl{k: kindNum, n: func(e *Env) float64 { return a(e) * b(e) }}, true
		case "/":
			return cl{k: kindNum, n: func(e *Env) float64 { return a(e) / b(e) }}, true
		case "**", "^":
			return cl{k: kindNum, n: func(e *Env) float64 { return math.Pow(a(e), b(e)) }}, true
		}
	case l.k == kindStr && r.k == kindStr:
		a, b := l.s, r.s
		switch op {
		case "==":
			return cl{k: kindBool, b: func(e *Env) bool { return a(e) == b(e) }}, true
		case "!=":
			return cl{k: kindBool, b: func(e *Env) bool { return a(e) != b(e) }}, true
		case "contains":
			return cl{k: kindBool, b: func(e *Env) bool { return strings.Contains(a(e), b(e)) }}, true
		case "startsWith":
			return cl{k: kindBool, b: func(e *Env) bool { return strings.HasPrefix(a(e), b(e)) }}, true
		case "endsWith":
			return cl{k: kindBool, b: func(e *Env) bool { return strings.HasSuffix(a(e), b(e)) }}, true
		case "+":
			return cl{k: kindStr, s: func(e *Env) string { return a(e) + b(e) }}, true
		case "matches":
			p, ok := x.Right.(*ast.StringNode)
			if !ok {
				return cl{}, false
			}
			re, err := regexp.Compile(p.Value)
			if err != nil {
				return cl{}, false
			}
			return cl{k: kindBool, b: func(e *Env) bool { return re.MatchString(a(e)) }}, true
		}
	}
	return cl{}, false
}

// match reports whether any entry of l is a case-insensitive substring of s
// (ASCII case folding). It runs on every event for user agents, so it
// neither lowercases s (an allocation) nor scans s once per entry: entries
// are indexed by their first byte, and each position of s is tried only
// against the entries starting with that byte.
func (l *list) match(s string) bool {
	l.once.Do(l.index)
	for i := 0; i < len(s); i++ {
		for _, v := range l.byFirst[lowerByte(s[i])] {
			if len(s)-i >= len(v) && foldedPrefix(s[i:], v) {
				return true
			}
		}
	}
	return l.other(s)
}

func (l *list) index() {
	for _, v := range l.lower {
		if v == "" {
			continue
		}
		if isASCII(v) {
			l.byFirst[v[0]] = append(l.byFirst[v[0]], v)
		} else {
			l.nonASCII = append(l.nonASCII, v)
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// other matches the entries with non-ASCII letters the slow way, with
// Unicode case folding.
func (l *list) other(s string) bool {
	if len(l.nonASCII) == 0 {
		return false
	}
	s = strings.ToLower(s)
	for _, v := range l.nonASCII {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}

func lowerByte(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// foldedPrefix reports whether s starts with lower, ignoring ASCII case in s.
func foldedPrefix(s, lower string) bool {
	for j := 0; j < len(lower); j++ {
		if lowerByte(s[j]) != lower[j] {
			return false
		}
	}
	return true
}
