package insights

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/wardenhq/warden"
)

// Raking modes.
const (
	// ModeRSurvey stops as R's survey::rake does with its default control
	// (maxit = 10, epsilon = 1): after each cycle over the margins it
	// compares the weighted cross-table of all the margins' variables
	// (svytable(~a+b+…)) with the one a cycle earlier and stops when the
	// largest change of a cell is below 1 (an absolute amount, in the units
	// of the totals, since epsilon ≥ 1).
	ModeRSurvey = "r-survey"
	// ModeConverged runs to the fixed point: R's rule with epsilon 1e-10
	// (which R reads, being below 1, as a fraction of the starting weights'
	// sum) and at most 1000 cycles.
	ModeConverged = "converged"
)

// Limits of what ParseMargins accepts.
const (
	MaxMargins      = 50
	MaxMarginLevels = 10_000
	// MaxMarginsBytes bounds a margins file.
	MaxMarginsBytes = 8 << 20
	// marginsTolerance is how far (relative to the first margin's sum) the
	// sums of the margins may differ; rounding of published counts is
	// tolerated, two different populations are not.
	marginsTolerance = 1e-6
)

// Margin is one raking variable's population totals, levels in the order
// of the margins file.
type Margin struct {
	Var    string
	Levels []string
	Totals []float64
}

// Sum is the margin's population total.
func (m Margin) Sum() float64 {
	s := 0.0
	for _, v := range m.Totals {
		s += v
	}
	return s
}

// ParseMargins reads population margins as JSON {"VAR": {"LEVEL": total}}.
// The order of the variables is kept: raking adjusts them in that order.
// Duplicate names, totals that are not finite and ≥ 0, an empty margin and
// margins whose sums differ are errors naming the variable (and level).
func ParseMargins(data []byte) ([]Margin, error) {
	if len(data) > MaxMarginsBytes {
		return nil, &warden.Error{Code: warden.ETOOLARGE, Field: "margins", Message: fmt.Sprintf("the margins file is over %d bytes", MaxMarginsBytes)}
	}
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	var out []Margin
	// read reads one token, which must be of kind k (0: any); what says
	// what was expected there.
	read := func(k jsontext.Kind, what string) (jsontext.Token, error) {
		tok, err := dec.ReadToken()
		if err != nil {
			return tok, marginsSyntax(err)
		}
		if k != 0 && tok.Kind() != k {
			return tok, warden.FieldErrorf("margins"+fieldPath(string(dec.StackPointer())), "%s", what)
		}
		return tok, nil
	}
	if _, err := read('{', `the margins must be a JSON object {"VAR": {"LEVEL": total}}`); err != nil {
		return nil, err
	}
	for dec.PeekKind() != '}' {
		tok, err := read(0, "")
		if err != nil {
			return nil, err
		}
		name := tok.String()
		if err := checkName(name, "margins."+name, "a variable"); err != nil {
			return nil, err
		}
		if len(out) == MaxMargins {
			return nil, warden.FieldErrorf("margins", "more than %d margins", MaxMargins)
		}
		m := Margin{Var: name}
		if _, err := read('{', fmt.Sprintf(`margin %q must be an object {"LEVEL": total}`, name)); err != nil {
			return nil, err
		}
		for dec.PeekKind() != '}' {
			tok, err := read(0, "")
			if err != nil {
				return nil, err
			}
			level := tok.String()
			field := "margins." + name + "." + level
			if err := checkName(level, field, "a level"); err != nil {
				return nil, err
			}
			if len(m.Levels) == MaxMarginLevels {
				return nil, warden.FieldErrorf("margins."+name, "margin %q has more than %d levels", name, MaxMarginLevels)
			}
			vt, err := read('0', fmt.Sprintf("the total of %s = %s must be a number", name, level))
			if err != nil {
				return nil, err
			}
			v, err := vt.Float()
			if err != nil || math.IsInf(v, 0) || math.IsNaN(v) || v < 0 {
				return nil, warden.FieldErrorf(field, "the total of %s = %s must be a finite number ≥ 0 (got %s)", name, level, clip(vt.String()))
			}
			m.Levels = append(m.Levels, level)
			m.Totals = append(m.Totals, v)
		}
		if _, err := read('}', ""); err != nil {
			return nil, err
		}
		if len(m.Levels) == 0 || m.Sum() <= 0 {
			return nil, warden.FieldErrorf("margins."+name, "margin %q has no level with a positive total", name)
		}
		out = append(out, m)
	}
	if _, err := read('}', ""); err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, warden.FieldErrorf("margins", "unexpected data after the margins object")
	}
	if len(out) == 0 {
		return nil, warden.FieldErrorf("margins", "name at least one margin")
	}
	for _, m := range out[1:] {
		a, b := out[0].Sum(), m.Sum()
		if math.Abs(a-b) > marginsTolerance*a {
			return nil, warden.FieldErrorf("margins."+m.Var, "margin %q sums to %g but %q sums to %g: every margin must total the same population", m.Var, b, out[0].Var, a)
		}
	}
	return out, nil
}

// marginsSyntax turns a JSON syntax error into an error naming where.
func marginsSyntax(err error) error {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		msg := se.Err.Error()
		if se.Err == jsontext.ErrDuplicateName {
			msg = "a name appears twice"
		}
		return warden.FieldErrorf("margins"+fieldPath(string(se.JSONPointer)), "margins JSON at byte %d: %s", se.ByteOffset, msg)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return warden.FieldErrorf("margins", "the margins JSON ends early (or is empty)")
	}
	return warden.FieldErrorf("margins", "margins JSON: %v", err)
}

func fieldPath(pointer string) string {
	pointer = strings.TrimPrefix(pointer, "/")
	if pointer == "" {
		return ""
	}
	return "." + strings.ReplaceAll(pointer, "/", ".")
}

func checkName(s, field, what string) error {
	if s == "" || len(s) > 200 || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return warden.FieldErrorf(field, "%s name must be UTF-8 text of 1 to 200 bytes without NUL", what)
	}
	return nil
}

// RakeOptions tunes Rake.
type RakeOptions struct {
	// Mode is ModeRSurvey (the default) or ModeConverged.
	Mode string
}

// RakeResult is the outcome of raking.
type RakeResult struct {
	Weights []float64
	// Cycles is the number of passes over all margins made.
	Cycles int
	// Converged is whether the stopping rule was met before the cycle
	// limit (R warns "Raking did not converge" when it is not).
	Converged bool
	// Delta is the largest change of a cell of the cross-table of all
	// margins' variables in the last cycle.
	Delta float64
}

// Rake adjusts the starting weights w so that the weighted totals of each
// margin's variable match its population totals, by iterative proportional
// fitting (post-stratifying on each margin in turn). values[k][i] is row
// i's level of margins[k]. A row whose level is not in its margin, a level
// with a positive total but no weighted respondents and a level with
// respondents but a zero total are errors naming the row or level.
func Rake(values [][]string, w []float64, margins []Margin, opt RakeOptions) (*RakeResult, error) {
	maxit, eps := 10, 1.0
	switch opt.Mode {
	case "", ModeRSurvey:
	case ModeConverged:
		maxit, eps = 1000, 1e-10*sum(w)
	default:
		return nil, warden.FieldErrorf("mode", "mode %q is not %s or %s", opt.Mode, ModeRSurvey, ModeConverged)
	}
	return rake(values, w, margins, maxit, eps)
}

// rake is Rake with its stopping rule given: at most maxit cycles, stopping
// after the first whose largest change of a cell of the cross-table of all
// the margins' variables is below eps.
func rake(values [][]string, w []float64, margins []Margin, maxit int, eps float64) (*RakeResult, error) {
	if len(values) != len(margins) {
		return nil, warden.FieldErrorf("margins", "%d columns for %d margins", len(values), len(margins))
	}
	n := len(w)
	if n == 0 {
		return nil, warden.FieldErrorf("weight", "there are no rows to rake")
	}
	for i, v := range w {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, &RowError{Row: i + 1, Column: "weight", Message: "a weight must be a finite number ≥ 0"}
		}
	}
	idx := make([][]int32, len(margins))
	for k, m := range margins {
		if len(values[k]) != n {
			return nil, warden.FieldErrorf(m.Var, "column %q has %d values for %d weights", m.Var, len(values[k]), n)
		}
		pos := make(map[string]int32, len(m.Levels))
		for l, name := range m.Levels {
			pos[name] = int32(l)
		}
		idx[k] = make([]int32, n)
		for i, v := range values[k] {
			l, ok := pos[v]
			if !ok {
				return nil, &RowError{Row: i + 1, Column: m.Var, Message: fmt.Sprintf("level %q is not in the margin %q (its levels are %s)", clip(v), m.Var, strings.Join(m.Levels, ", "))}
			}
			idx[k][i] = l
		}
	}
	// R's convergence test looks at svytable over all the margins'
	// variables: the weighted cross-table of every combination present.
	cell := make([]int32, n)
	cells := map[string]int32{}
	key := make([]byte, 4*len(margins))
	for i := range cell {
		for k := range idx {
			l := idx[k][i]
			key[4*k], key[4*k+1], key[4*k+2], key[4*k+3] = byte(l), byte(l>>8), byte(l>>16), byte(l>>24)
		}
		c, ok := cells[string(key)]
		if !ok {
			c = int32(len(cells))
			cells[string(key)] = c
		}
		cell[i] = c
	}
	ww := make([]float64, n)
	copy(ww, w)
	cross := func() []float64 {
		t := make([]float64, len(cells))
		for i, c := range cell {
			t[c] += ww[i]
		}
		return t
	}
	for k, m := range margins {
		start := make([]float64, len(m.Levels))
		for i, l := range idx[k] {
			start[l] += ww[i]
		}
		for l, pop := range m.Totals {
			switch s := start[l]; {
			case s == 0 && pop > 0:
				return nil, warden.FieldErrorf("margins."+m.Var+"."+m.Levels[l], "level %q of %q has a population total of %g but no respondents with a positive weight", m.Levels[l], m.Var, pop)
			case s > 0 && pop == 0:
				return nil, warden.FieldErrorf("margins."+m.Var+"."+m.Levels[l], "level %q of %q has respondents but a population total of 0", m.Levels[l], m.Var)
			}
		}
	}
	old := cross()
	res := &RakeResult{}
	most := 0
	for _, m := range margins {
		most = max(most, len(m.Levels))
	}
	ratio := make([]float64, most)
	for iter := 0; iter < maxit; iter++ {
		for k, m := range margins {
			cur := make([]float64, len(m.Levels))
			for i, l := range idx[k] {
				cur[l] += ww[i]
			}
			for l := range m.Levels {
				ratio[l] = 0
				if cur[l] > 0 {
					ratio[l] = m.Totals[l] / cur[l]
				}
			}
			for i, l := range idx[k] {
				ww[i] *= ratio[l]
			}
		}
		now := cross()
		delta := 0.0
		for c := range now {
			delta = math.Max(delta, math.Abs(now[c]-old[c]))
		}
		res.Cycles, res.Delta = iter+1, delta
		if delta < eps {
			res.Converged = true
			break
		}
		old = now
	}
	res.Weights = ww
	return res, nil
}

// RowError is an invalid value in one row and column of the input; the
// command line turns it into a Table.CellError with the file line.
type RowError struct {
	Row     int
	Column  string
	Message string
}

func (e *RowError) Error() string {
	return fmt.Sprintf("row %d, column %q: %s", e.Row, e.Column, e.Message)
}

// Trim bounds the weights to [lower, upper] as survey::trimWeights does:
// weights outside are set to the bound and the amount trimmed is shared
// equally among the weights not trimmed, so the total is kept. With strict,
// it repeats until no weight is outside (sharing only among weights never
// trimmed). It returns the new weights and how many were trimmed.
func Trim(w []float64, lower, upper float64, strict bool) ([]float64, int, error) {
	if math.IsNaN(lower) || math.IsNaN(upper) || lower > upper {
		return nil, 0, warden.FieldErrorf("trim", "the trimming bounds [%g, %g] are not an interval", lower, upper)
	}
	pw := append([]float64(nil), w...)
	trimmed := make([]bool, len(w))
	count := 0
	for {
		var cut float64
		canTrim := 0
		outside := make([]bool, len(pw))
		any := false
		for i, v := range pw {
			if v < lower || v > upper {
				outside[i], any = true, true
				nv := math.Max(lower, math.Min(v, upper))
				cut += v - nv
				pw[i] = nv
			}
		}
		if !any {
			break
		}
		for i := range pw {
			if !outside[i] && !trimmed[i] {
				canTrim++
			}
		}
		if canTrim == 0 {
			return nil, 0, warden.FieldErrorf("trim", "every weight is outside [%g, %g]: nothing is left to take the trimmed amount", lower, upper)
		}
		for i := range pw {
			if !outside[i] && !trimmed[i] {
				pw[i] += cut / float64(canTrim)
			}
			if outside[i] && !trimmed[i] {
				trimmed[i] = true
				count++
			}
		}
		if !strict {
			break
		}
	}
	return pw, count, nil
}

// Kish is Kish's design effect of unequal weights, n Σw² / (Σw)², over the
// rows with a positive weight, and the effective sample size n / deff.
func Kish(w []float64) (deff, ess float64) {
	var n, s, s2 float64
	for _, v := range w {
		if v > 0 {
			n++
			s += v
			s2 += v * v
		}
	}
	if s == 0 {
		return math.NaN(), 0
	}
	deff = n * s2 / (s * s)
	return deff, n / deff
}

// WeightedMean is Σ w x / Σ w.
func WeightedMean(x, w []float64) float64 {
	var s, sw float64
	for i, v := range x {
		s += w[i] * v
		sw += w[i]
	}
	return s / sw
}

func sum(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s
}
