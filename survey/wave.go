package survey

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/text/language"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/insights"
)

// Limits of a wave.
const (
	MaxRespondents  = 1_000_000
	MaxPlatformID   = 200
	SaltSize        = 32
	SaltFile        = "survey-id.key"
	maxWaveNameSize = 64
)

var waveName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)

// Wave is a validated survey wave: its codebook and respondents.
type Wave struct {
	Name        string
	Codebook    *Codebook
	Respondents []Respondent
}

// Respondent is one row of a wave.
type Respondent struct {
	// Row is the respondent's row in the imported file (1: the first after
	// the header).
	Row    int
	Region string
	// PlatformHash is the hex HMAC-SHA256 of the platform id under the
	// survey salt, "" when the respondent gave none.
	PlatformHash string
	Weight       float64
	// Answers holds the items answered, reverse items already reversed;
	// an item not answered is absent.
	Answers map[string]float64
	// Attrs holds the categorical columns answered.
	Attrs map[string]string
}

// CheckWaveName validates a wave's name.
func CheckWaveName(name string) error {
	if !waveName.MatchString(name) {
		return warden.FieldErrorf("wave", "a wave's name is 1 to %d letters, digits and _ . : - (like 2025-Q3), got %q", maxWaveNameSize, clip(name))
	}
	return nil
}

// ParseWave reads a wave's CSV file against its codebook. Every column of
// the file must be in the codebook and every codebook column in the file;
// a region that is not an ISO 3166-1 alpha-2 country code, an answer that
// is not a point of its item's scale (nor a missing code), a level not in
// its column, a weight that is not a finite number > 0: each is an error
// naming the row, the file line and the column, and no wave is returned.
// Platform ids are hashed with salt at once and not kept.
func ParseWave(name string, cb *Codebook, r io.Reader, salt []byte) (*Wave, error) {
	if err := CheckWaveName(name); err != nil {
		return nil, err
	}
	if cb.PlatformID != "" && len(salt) < SaltSize {
		return nil, warden.FieldErrorf("salt", "the survey salt must be at least %d bytes", SaltSize)
	}
	tab, err := insights.ReadCSV(r)
	if err != nil {
		return nil, err
	}
	if len(tab.Rows) > MaxRespondents {
		return nil, warden.FieldErrorf("in", "more than %d respondents", MaxRespondents)
	}
	if len(tab.Rows) == 0 {
		return nil, warden.FieldErrorf("in", "the file has a header but no respondents")
	}
	known := map[string]bool{cb.Region: true}
	for _, c := range []string{cb.PlatformID, cb.Weight} {
		if c != "" {
			known[c] = true
		}
	}
	for _, it := range cb.Items {
		known[it.Name] = true
	}
	for _, c := range cb.Columns {
		known[c.Name] = true
	}
	for i, h := range tab.Header {
		if !known[h] {
			return nil, warden.FieldErrorf(fmt.Sprintf("row 0, column %s", h), "column %d, %q, is not in the codebook (it lists %s)", i+1, clip(h), strings.Join(sortedKeys(known), ", "))
		}
	}
	col := func(name string) []string {
		c, err := tab.Strings(name)
		if err != nil {
			return nil
		}
		return c
	}
	for _, h := range sortedKeys(known) {
		if _, err := tab.Column(h); err != nil {
			return nil, warden.FieldErrorf("row 0, column "+h, "the codebook's column %q is not in the file's header", h)
		}
	}
	regions := col(cb.Region)
	var ids, weights []string
	if cb.PlatformID != "" {
		ids = col(cb.PlatformID)
	}
	if cb.Weight != "" {
		weights = col(cb.Weight)
	}
	items := make([][]string, len(cb.Items))
	for k, it := range cb.Items {
		items[k] = col(it.Name)
	}
	cats := make([][]string, len(cb.Columns))
	for k, c := range cb.Columns {
		cats[k] = col(c.Name)
	}
	levels := make([]map[string]bool, len(cb.Columns))
	for k, c := range cb.Columns {
		levels[k] = make(map[string]bool, len(c.Levels))
		for _, l := range c.Levels {
			levels[k][l] = true
		}
	}
	w := &Wave{Name: name, Codebook: cb, Respondents: make([]Respondent, len(tab.Rows))}
	for i := range tab.Rows {
		row := i + 1
		rs := Respondent{Row: row, Weight: 1, Answers: make(map[string]float64, len(cb.Items))}
		reg, err := Region(regions[i])
		if err != nil {
			return nil, tab.CellError(row, cb.Region, "%s", err)
		}
		rs.Region = reg
		if ids != nil && ids[i] != "" {
			if len(ids[i]) > MaxPlatformID {
				return nil, tab.CellError(row, cb.PlatformID, "a platform id is at most %d bytes", MaxPlatformID)
			}
			rs.PlatformHash = HashID(salt, ids[i])
		}
		if weights != nil {
			v, err := strconv.ParseFloat(weights[i], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
				return nil, tab.CellError(row, cb.Weight, "the weight %q is not a finite number > 0", clip(weights[i]))
			}
			rs.Weight = v
		}
		for k, it := range cb.Items {
			s := cb.Scales[it.Scale]
			v, ok, err := s.Value(items[k][i])
			if err != nil {
				return nil, tab.CellError(row, it.Name, "%s", err)
			}
			if ok {
				if it.Reverse {
					v = s.Min + s.Max - v
				}
				rs.Answers[it.Name] = float64(v)
			}
		}
		for k, c := range cb.Columns {
			v := cats[k][i]
			if v == "" {
				continue
			}
			if !levels[k][v] {
				return nil, tab.CellError(row, c.Name, "%q is not a level of %q (%s)", clip(v), c.Name, strings.Join(c.Levels, ", "))
			}
			if rs.Attrs == nil {
				rs.Attrs = map[string]string{}
			}
			rs.Attrs[c.Name] = v
		}
		w.Respondents[i] = rs
	}
	return w, nil
}

// Value reads one answer: (point, true) for a point of the scale, (0,
// false) for an empty cell or a missing code, an error otherwise.
func (s Scale) Value(cell string) (int, bool, error) {
	if cell == "" {
		return 0, false, nil
	}
	v, err := strconv.Atoi(cell)
	if err != nil {
		return 0, false, fmt.Errorf("%q is not a whole number on the scale %d..%d", clip(cell), s.Min, s.Max)
	}
	for _, m := range s.Missing {
		if v == m {
			return 0, false, nil
		}
	}
	if v < s.Min || v > s.Max {
		return 0, false, fmt.Errorf("%d is outside the scale %d..%d", v, s.Min, s.Max)
	}
	return v, true, nil
}

// Region checks an ISO 3166-1 alpha-2 country code (upper case) and returns
// it. UK, which ISO 3166 keeps "exceptionally reserved" for the United
// Kingdom and which the platform's own research uses, is read as GB: waves
// and queries name the same country either way.
func Region(code string) (string, error) {
	if len(code) != 2 || strings.ToUpper(code) != code {
		return "", fmt.Errorf("%q is not an ISO 3166-1 alpha-2 code (two capital letters, like JP)", clip(code))
	}
	if code == "UK" {
		return "GB", nil
	}
	r, err := language.ParseRegion(code)
	if err != nil || !r.IsCountry() || r.String() != code {
		return "", fmt.Errorf("%q is not an ISO 3166-1 country code", code)
	}
	return code, nil
}

// HashID is the pseudonym of a platform account id: the hex HMAC-SHA256 of
// the id under salt. The platform's account ids hashed with the same salt
// join with the survey.
func HashID(salt []byte, id string) string {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))
}

// EnsureSalt returns the survey salt kept in the file at path, first
// making one (SaltSize random bytes, mode 0600) when there is none.
func EnsureSalt(path string) ([]byte, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		s := make([]byte, SaltSize)
		if _, err := rand.Read(s); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = f.Write(s)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("the survey salt %s: %w", path, err)
		}
	}
	s, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the survey salt: %w", err)
	}
	if len(s) < SaltSize {
		return nil, fmt.Errorf("the survey salt %s is %d bytes; it must be at least %d", path, len(s), SaltSize)
	}
	return s, nil
}
