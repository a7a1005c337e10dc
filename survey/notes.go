package survey

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/insights"
)

// Limits of interview notes.
const (
	MaxNotes      = 10_000
	MaxQuoteRunes = 1000
	MaxNoteThemes = 5
	// ThemesFile is the file of the data directory whose themes add to
	// the built-in vocabulary.
	ThemesFile = "note-themes.yaml"
)

// Trust segments of a note: where the interviewee's answer to the trust
// item lies on its scale (Segment).
const (
	SegmentLow    = "low"
	SegmentMedium = "medium"
	SegmentHigh   = "high"
)

// Segments lists the trust segments, low first.
var Segments = []string{SegmentLow, SegmentMedium, SegmentHigh}

// Note is one interview note: a paraphrased quote with no personal data,
// tagged by themes of the controlled vocabulary, the interviewee's region
// and trust segment, and the wave whose numbers it explains.
type Note struct {
	Wave    string   `json:"wave"`
	Ref     string   `json:"ref"`
	Region  string   `json:"region"`
	Segment string   `json:"segment"`
	Themes  []string `json:"themes"`
	// Experience optionally ties the note to a platform-experience split
	// of the trust call: "GROUP=LEVEL", like exposed_to_actioned=yes.
	Experience string `json:"experience,omitempty"`
	Quote      string `json:"quote"`
}

// Segment is the trust segment of answer v on scale s: high for the top
// box (the scale's top TopBox points), low for the bottom box (as many
// points at the bottom), medium between them.
func Segment(s Scale, v int) string {
	switch {
	case v >= s.Max-s.TopBox+1:
		return SegmentHigh
	case v <= s.Min+s.TopBox-1:
		return SegmentLow
	}
	return SegmentMedium
}

// SegmentShares returns the weighted share of region's respondents in w
// who answered the trust item that fall in each trust segment (nil when
// none answered).
func SegmentShares(w *Wave, region string) map[string]float64 {
	_, s, _ := w.Codebook.Item(w.Codebook.Trust)
	out := map[string]float64{}
	var total float64
	for _, r := range w.Respondents {
		if v, ok := r.Answers[w.Codebook.Trust]; ok && r.Region == region {
			out[Segment(s, int(v))] += r.Weight
			total += r.Weight
		}
	}
	if total == 0 {
		return nil
	}
	for k := range out {
		out[k] /= total
	}
	return out
}

// Theme is one theme of the controlled vocabulary.
type Theme struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description" json:"description"`
}

// Vocabulary is the controlled vocabulary of note themes.
type Vocabulary struct {
	Themes []Theme `yaml:"themes" json:"themes"`
}

//go:embed themes.yaml
var builtinThemes []byte

var themeName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// ParseThemes reads a vocabulary file: unknown keys, a name that is not
// lower case letters, digits and _, a missing description and a name
// listed twice are errors naming themes[i].
func ParseThemes(data []byte) (*Vocabulary, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var v Vocabulary
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, warden.FieldErrorf("themes", "the themes file is empty")
		}
		return nil, warden.FieldErrorf("themes", "themes YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(v.Themes) == 0 {
		return nil, warden.FieldErrorf("themes", "list at least one theme (name, description)")
	}
	return &v, v.add(nil)
}

// add checks v's themes after base's: valid names, each once.
func (v *Vocabulary) add(base *Vocabulary) error {
	for i, t := range v.Themes {
		field := fmt.Sprintf("themes[%d]", i)
		if !themeName.MatchString(t.Name) {
			return warden.FieldErrorf(field+".name", "theme name %q must be 1 to 32 lower case letters, digits and _, starting with a letter", clip(t.Name))
		}
		if strings.TrimSpace(t.Description) == "" {
			return warden.FieldErrorf(field+".description", "theme %q needs a description", t.Name)
		}
		if base.Has(t.Name) || slices.ContainsFunc(v.Themes[:i], func(o Theme) bool { return o.Name == t.Name }) {
			return warden.FieldErrorf(field+".name", "theme %q is listed twice", t.Name)
		}
	}
	return nil
}

// Has reports whether name is a theme of v.
func (v *Vocabulary) Has(name string) bool {
	return v != nil && slices.ContainsFunc(v.Themes, func(t Theme) bool { return t.Name == name })
}

// Names lists v's theme names in order.
func (v *Vocabulary) Names() []string {
	out := make([]string, len(v.Themes))
	for i, t := range v.Themes {
		out[i] = t.Name
	}
	return out
}

// DefaultThemes returns the built-in vocabulary (survey/themes.yaml).
func DefaultThemes() *Vocabulary {
	v, err := ParseThemes(builtinThemes)
	if err != nil {
		panic("survey/themes.yaml: " + err.Error())
	}
	return v
}

// LoadThemes returns the built-in vocabulary plus the themes of the file
// at path, when there is one.
func LoadThemes(path string) (*Vocabulary, error) {
	v := DefaultThemes()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return v, nil
	}
	if err != nil {
		return nil, err
	}
	extra, err := ParseThemes(data)
	if err == nil {
		err = extra.add(v)
	}
	if err != nil {
		var we *warden.Error
		if errors.As(err, &we) {
			return nil, &warden.Error{Code: we.Code, Field: we.Field, Message: path + ": " + we.Message}
		}
		return nil, err
	}
	v.Themes = append(v.Themes, extra.Themes...)
	return v, nil
}

// noteColumns are the columns of a notes CSV file; experience is optional.
var noteColumns = []string{"ref", "region", "segment", "themes", "quote", "experience"}

var (
	noteRef = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)
	// A run of six or more digits: an account, order or card number.
	digitRun = regexp.MustCompile(`\d{6,}`)
	// A bare domain name with a common top-level domain ("scam.shop/x").
	bareDomain = regexp.MustCompile(`(?i)\b[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)*\.(com|net|org|info|biz|io|co|me|app|shop|xyz|online|site|ly|gg|tv|uk|de|fr|jp|mx|id|us)\b`)
)

// notePersonalData returns the kind of personal data quote appears to
// carry, or "": what warden.PersonalData finds, a long digit run, or a
// bare domain name.
func notePersonalData(quote string) string {
	if kind := warden.PersonalData(quote); kind != "" {
		return kind
	}
	switch {
	case digitRun.MatchString(quote):
		return "a long number (six or more digits)"
	case bareDomain.MatchString(quote):
		return "a web address"
	}
	return ""
}

// noteChecker validates notes for one wave.
type noteChecker struct {
	wave    *Wave
	regions []string
	themes  *Vocabulary
	refs    map[string]int
}

func newNoteChecker(w *Wave, themes *Vocabulary) *noteChecker {
	return &noteChecker{wave: w, regions: regionsOf(w), themes: themes, refs: map[string]int{}}
}

// check validates n in place (the region as ISO 3166-1, themes trimmed);
// on a fault it returns the column and what is wrong.
func (c *noteChecker) check(n *Note, at int) (col, msg string) {
	n.Wave = c.wave.Name
	if !noteRef.MatchString(n.Ref) {
		return "ref", fmt.Sprintf("a ref is 1 to 64 letters, digits and _ . : - (like JP-07), got %q", clip(n.Ref))
	}
	if prev, dup := c.refs[n.Ref]; dup {
		return "ref", fmt.Sprintf("ref %q is used twice (also at %d)", n.Ref, prev)
	}
	c.refs[n.Ref] = at
	reg, err := Region(n.Region)
	if err != nil {
		return "region", err.Error()
	}
	if !slices.Contains(c.regions, reg) {
		return "region", fmt.Sprintf("wave %s has no respondents in %s (it has %s): a note explains a region's numbers", c.wave.Name, reg, strings.Join(c.regions, ", "))
	}
	n.Region = reg
	if !slices.Contains(Segments, n.Segment) {
		return "segment", fmt.Sprintf("the trust segment is low, medium or high, got %q", clip(n.Segment))
	}
	if len(n.Themes) == 0 || len(n.Themes) > MaxNoteThemes {
		return "themes", fmt.Sprintf("a note has 1 to %d themes, got %d", MaxNoteThemes, len(n.Themes))
	}
	for i, t := range n.Themes {
		t = strings.TrimSpace(t)
		if !c.themes.Has(t) {
			return "themes", fmt.Sprintf("%q is not a theme of the vocabulary (%s)", clip(t), strings.Join(c.themes.Names(), ", "))
		}
		if slices.Contains(n.Themes[:i], t) {
			return "themes", fmt.Sprintf("theme %q is listed twice", t)
		}
		n.Themes[i] = t
	}
	if n.Experience != "" {
		if msg := c.checkExperience(n.Experience); msg != "" {
			return "experience", msg
		}
	}
	n.Quote = strings.TrimSpace(n.Quote)
	q := n.Quote
	switch {
	case q == "":
		return "quote", "the quote is empty"
	case !utf8.ValidString(q):
		return "quote", "the quote is not valid UTF-8"
	case utf8.RuneCountInString(q) > MaxQuoteRunes:
		return "quote", fmt.Sprintf("the quote is over %d characters; paraphrase it shorter", MaxQuoteRunes)
	case strings.ContainsFunc(q, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }):
		return "quote", "the quote holds control characters"
	}
	if kind := notePersonalData(q); kind != "" {
		return "quote", fmt.Sprintf("the quote appears to carry personal data (%s): paraphrase it without names, contacts, handles, links or numbers", kind)
	}
	return "", ""
}

// checkExperience checks GROUP=LEVEL against the splits the trust call
// makes: the platform-experience groups and the codebook's columns.
func (c *noteChecker) checkExperience(e string) string {
	splits := map[string][]string{
		GroupExposed:      {"yes", "no"},
		GroupReported:     {"yes", "no"},
		GroupReportResult: {"actioned", "not_actioned", "pending"},
	}
	for _, col := range c.wave.Codebook.Columns {
		splits[col.Name] = col.Levels
	}
	group, level, ok := strings.Cut(e, "=")
	if !ok || splits[group] == nil {
		return fmt.Sprintf("experience is GROUP=LEVEL with GROUP one of %s, got %q", strings.Join(sortedKeys(splits), ", "), clip(e))
	}
	if !slices.Contains(splits[group], level) {
		return fmt.Sprintf("%q is not a level of %s (%s)", clip(level), group, strings.Join(splits[group], ", "))
	}
	return ""
}

// ParseNotes reads a notes CSV file for wave w: a header of ref, region,
// segment, themes (separated by ;), quote and optionally experience, then
// one note per row. An unknown or missing column, a bad ref or one used
// twice, a region that is not ISO 3166-1 or not in the wave, a segment
// other than low, medium and high, a theme not in themes, and a quote that
// is empty, too long or appears to carry personal data: each is an error
// naming the row, the file line and the column, and no note is returned.
func ParseNotes(w *Wave, themes *Vocabulary, r io.Reader) ([]Note, error) {
	tab, err := insights.ReadCSV(r)
	if err != nil {
		return nil, err
	}
	for i, h := range tab.Header {
		if !slices.Contains(noteColumns, h) {
			return nil, warden.FieldErrorf("row 0, column "+h, "column %d, %q, is not a notes column (%s)", i+1, clip(h), strings.Join(noteColumns, ", "))
		}
	}
	cols := make(map[string][]string, len(noteColumns))
	for _, h := range noteColumns {
		c, err := tab.Strings(h)
		if err != nil && h != "experience" {
			return nil, warden.FieldErrorf("row 0, column "+h, "the notes file needs a column %q (columns: %s)", h, strings.Join(noteColumns, ", "))
		}
		cols[h] = c
	}
	if len(tab.Rows) == 0 {
		return nil, warden.FieldErrorf("in", "the file has a header but no notes")
	}
	if len(tab.Rows) > MaxNotes {
		return nil, warden.FieldErrorf("in", "more than %d notes in one import", MaxNotes)
	}
	ck := newNoteChecker(w, themes)
	out := make([]Note, len(tab.Rows))
	for i := range tab.Rows {
		n := Note{Ref: cols["ref"][i], Region: cols["region"][i], Segment: cols["segment"][i], Quote: cols["quote"][i]}
		if t := cols["themes"][i]; t != "" {
			n.Themes = strings.Split(t, ";")
		}
		if cols["experience"] != nil {
			n.Experience = cols["experience"][i]
		}
		if col, msg := ck.check(&n, i+1); col != "" {
			return nil, tab.CellError(i+1, col, "%s", msg)
		}
		out[i] = n
	}
	return out, nil
}

// NotesBody is the body of POST /v1/insights/notes.
type NotesBody struct {
	Wave  string `json:"wave"`
	Notes []Note `json:"notes"`
}

// CheckNotes validates notes sent as JSON for wave w, as ParseNotes
// validates rows: the error names notes[i].FIELD, and no note is returned.
// A note's wave, when given, must be w's.
func CheckNotes(w *Wave, themes *Vocabulary, notes []Note) ([]Note, error) {
	if len(notes) == 0 || len(notes) > MaxNotes {
		return nil, warden.FieldErrorf("notes", "send 1 to %d notes", MaxNotes)
	}
	ck := newNoteChecker(w, themes)
	out := make([]Note, len(notes))
	for i, n := range notes {
		n.Themes = slices.Clone(n.Themes)
		if n.Wave != "" && n.Wave != w.Name {
			return nil, warden.FieldErrorf(fmt.Sprintf("notes[%d].wave", i), "note %d names wave %q, the body wave %q", i, clip(n.Wave), w.Name)
		}
		if col, msg := ck.check(&n, i); col != "" {
			return nil, warden.FieldErrorf(fmt.Sprintf("notes[%d].%s", i, col), "note %d: %s", i, msg)
		}
		out[i] = n
	}
	return out, nil
}

// AttachNotes sets each region's notes in rep from notes (those of rep's
// wave and the region, in the order given); a region without notes gets
// an empty list.
func AttachNotes(rep *TrustReport, notes []Note) {
	for i := range rep.Regions {
		rt := &rep.Regions[i]
		rt.Notes = []Note{}
		for _, n := range notes {
			if n.Wave == rep.Wave && n.Region == rt.Region {
				rt.Notes = append(rt.Notes, n)
			}
		}
	}
}

// RegionTrustIndexes returns the trust index of each region of w that has
// one.
func RegionTrustIndexes(w *Wave) map[string]insights.TrustIndex { return regionIndexes(w, "") }

// GroupTrust is the trust index of respondents rs on cb's trust item.
func GroupTrust(cb *Codebook, rs []Respondent) (insights.TrustIndex, error) { return trustOf(cb, rs) }
