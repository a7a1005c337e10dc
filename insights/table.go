// Package insights measures trust: key-driver analysis of a survey outcome
// by ordinary least squares (relaimpo's lmg, first, last, betasq, pratt and
// Johnson's relative weights), raking of survey weights to population
// margins as R's survey::rake does, design effects, and the trust index per
// region and wave. It is pure computation: it reads CSV and JSON it is
// given and imports no store.
package insights

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wardenhq/warden"
)

// Limits of what ReadCSV accepts.
const (
	MaxColumns  = 1000
	MaxRows     = 5_000_000
	MaxCellSize = 4096
)

// Table is a CSV file read whole: a header of unique column names and rows
// of string cells, every row as wide as the header.
type Table struct {
	Header []string
	Rows   [][]string
	// Lines holds the file line each row starts on (the header is line 1
	// unless a quoted header cell spans lines).
	Lines []int
	index map[string]int
}

// CellError returns an invalid-input error about one cell: its row (1 is
// the first row after the header), file line and column.
func (t *Table) CellError(row int, col, format string, args ...any) *warden.Error {
	line := 0
	if row >= 1 && row <= len(t.Lines) {
		line = t.Lines[row-1]
	}
	return &warden.Error{Code: warden.EINVALID, Field: fmt.Sprintf("row %d, column %s", row, col),
		Message: fmt.Sprintf("row %d (line %d), column %q: %s", row, line, col, fmt.Sprintf(format, args...))}
}

// ReadCSV reads a CSV file with a header row. Every error names the row
// (and column where there is one); on error no table is returned.
func ReadCSV(r io.Reader) (*Table, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, warden.FieldErrorf("row 0", "the CSV file is empty: it needs a header row naming the columns")
	}
	if err != nil {
		return nil, csvError(err)
	}
	if len(head) > MaxColumns {
		return nil, warden.FieldErrorf("row 0", "the header has %d columns; the limit is %d", len(head), MaxColumns)
	}
	t := &Table{Header: make([]string, len(head)), index: make(map[string]int, len(head))}
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		switch {
		case h == "":
			return nil, warden.FieldErrorf(fmt.Sprintf("row 0, column %d", i+1), "header cell %d is empty: every column needs a name", i+1)
		case !utf8.ValidString(h) || len(h) > 200:
			return nil, warden.FieldErrorf(fmt.Sprintf("row 0, column %d", i+1), "header cell %d is not a column name (UTF-8, at most 200 bytes)", i+1)
		}
		if _, dup := t.index[h]; dup {
			return nil, warden.FieldErrorf("row 0, column "+h, "column %q appears twice in the header", h)
		}
		t.index[h] = i
		t.Header[i] = h
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		row := len(t.Rows) + 1
		line, _ := cr.FieldPos(0)
		if row > MaxRows {
			return nil, warden.FieldErrorf(fmt.Sprintf("row %d", row), "more than %d rows", MaxRows)
		}
		for i, c := range rec {
			if len(c) > MaxCellSize || !utf8.ValidString(c) {
				return nil, &warden.Error{Code: warden.EINVALID, Field: fmt.Sprintf("row %d, column %s", row, t.Header[i]),
					Message: fmt.Sprintf("row %d (line %d), column %q: the cell is not UTF-8 text of at most %d bytes", row, line, t.Header[i], MaxCellSize)}
			}
		}
		t.Rows = append(t.Rows, rec)
		t.Lines = append(t.Lines, line)
	}
	return t, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		msg := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			msg = "the row has a different number of cells from the header"
		}
		return &warden.Error{Code: warden.EINVALID, Field: fmt.Sprintf("line %d, column %d", pe.Line, pe.Column),
			Message: fmt.Sprintf("CSV line %d, column %d: %s", pe.Line, pe.Column, msg)}
	}
	return warden.Errorf(warden.EINVALID, "read CSV: %v", err)
}

// Column returns the index of the named column, or an error naming it and
// the columns there are.
func (t *Table) Column(name string) (int, error) {
	if i, ok := t.index[name]; ok {
		return i, nil
	}
	return -1, warden.FieldErrorf(name, "no column %q in the CSV file; its columns are %s", name, strings.Join(t.Header, ", "))
}

// Numbers returns the named column as finite numbers; an empty or
// non-numeric cell is an error naming its row and column.
func (t *Table) Numbers(name string) ([]float64, error) {
	c, err := t.Column(name)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(t.Rows))
	for r, rec := range t.Rows {
		s := strings.TrimSpace(rec[c])
		if s == "" || strings.EqualFold(s, "NA") {
			return nil, t.CellError(r+1, name, "the value is missing; every row needs a number here")
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, t.CellError(r+1, name, "%q is not a finite number", clip(s))
		}
		out[r] = v
	}
	return out, nil
}

// Strings returns the named column's cells, trimmed of spaces.
func (t *Table) Strings(name string) ([]string, error) {
	c, err := t.Column(name)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(t.Rows))
	for r, rec := range t.Rows {
		out[r] = strings.TrimSpace(rec[c])
	}
	return out, nil
}

// Weights returns the named column as survey weights: finite, not
// negative, and not all zero.
func (t *Table) Weights(name string) ([]float64, error) {
	w, err := t.Numbers(name)
	if err != nil {
		return nil, err
	}
	sum := 0.0
	for r, v := range w {
		if v < 0 {
			return nil, t.CellError(r+1, name, "a weight cannot be negative (%g)", v)
		}
		sum += v
	}
	if sum <= 0 {
		return nil, warden.FieldErrorf(name, "every weight in column %q is zero", name)
	}
	return w, nil
}

func clip(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		return string([]rune(s)[:40]) + "…"
	}
	return s
}

// DriverInput reads a key-driver model's columns from the table: the
// outcome, the predictors in the order given and, when weight is not
// empty, the survey weights.
func (t *Table) DriverInput(outcome string, predictors []string, weight string) (DriverInput, error) {
	in := DriverInput{Names: predictors}
	var err error
	if in.Outcome, err = t.Numbers(outcome); err != nil {
		return DriverInput{}, err
	}
	for _, name := range predictors {
		if name == outcome {
			return DriverInput{}, warden.FieldErrorf(name, "%q is the outcome; it cannot also be a predictor", name)
		}
		col, err := t.Numbers(name)
		if err != nil {
			return DriverInput{}, err
		}
		in.Predictors = append(in.Predictors, col)
	}
	if weight != "" {
		if in.Weights, err = t.Weights(weight); err != nil {
			return DriverInput{}, err
		}
	}
	return in, nil
}
