package web

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sync"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/consent"
)

// The safety and privacy center speaks the languages of Warden's seven
// markets: English (US, UK), Spanish (MX), Japanese (JP), French (FR),
// German (DE) and Indonesian (ID). Its messages are in web/locales, one
// YAML file per language (active.<lang>.yaml, go-i18n's format: an id and
// its text, or its plural forms), embedded in the binary. English is the
// source: every id in active.en.yaml must be in every other file (a test
// checks it).

//go:embed locales/active.*.yaml
var localeFS embed.FS

// CenterLanguages are the center's languages, English first.
var CenterLanguages = []language.Tag{language.English, language.Spanish, language.Japanese, language.French, language.German, language.Indonesian}

// centerLangNames are the languages' own names, for the language menu.
var centerLangNames = map[string]string{"en": "English", "es": "Español", "ja": "日本語", "fr": "Français", "de": "Deutsch", "id": "Bahasa Indonesia"}

// marketLanguage is each market's language.
var marketLanguage = map[string]language.Tag{"US": language.English, "UK": language.English, "MX": language.Spanish,
	"JP": language.Japanese, "FR": language.French, "DE": language.German, "ID": language.Indonesian}

var (
	bundleOnce sync.Once
	bundle     *i18n.Bundle
	bundleErr  error
)

// loadBundle parses the embedded message files once.
func loadBundle() (*i18n.Bundle, error) {
	bundleOnce.Do(func() {
		bundle, bundleErr = newBundle(localeFS, "locales")
	})
	return bundle, bundleErr
}

func newBundle(fsys fs.FS, dir string) (*i18n.Bundle, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	for _, tag := range CenterLanguages {
		name := path.Join(dir, "active."+tag.String()+".yaml")
		buf, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("center messages: %w", err)
		}
		if _, err := b.ParseMessageFileBytes(buf, name); err != nil {
			return nil, fmt.Errorf("center messages %s: %w", name, err)
		}
	}
	return b, nil
}

// pickLanguage chooses the center's language for r: an explicit ?lang=
// (which must name one of the languages), else the browser's
// Accept-Language when it asks for one of them, else the language of the
// user's market, else English.
func pickLanguage(r *http.Request, region string) (language.Tag, error) {
	if q := r.URL.Query().Get("lang"); q != "" {
		if t, err := language.Parse(q); err == nil {
			if l, ok := centerLanguage(t); ok {
				return l, nil
			}
		}
		return language.Und, warden.FieldErrorf("lang", "lang must be one of en, es, ja, fr, de, id")
	}
	if h := r.Header.Get("Accept-Language"); h != "" {
		// The browser's languages, most wanted first: the first of ours.
		if tags, _, err := language.ParseAcceptLanguage(h); err == nil {
			for _, t := range tags {
				if l, ok := centerLanguage(t); ok {
					return l, nil
				}
			}
		}
	}
	if t, ok := marketLanguage[region]; ok {
		return t, nil
	}
	return language.English, nil
}

// centerLanguage is the center's language of t's base language ("es-MX" →
// "es"), if it has one.
func centerLanguage(t language.Tag) (language.Tag, bool) {
	b, conf := t.Base()
	if conf == language.No {
		return language.Und, false
	}
	for _, l := range CenterLanguages {
		if lb, _ := l.Base(); lb == b {
			return l, true
		}
	}
	return language.Und, false
}

// translator renders the center's messages in one language, and notes every
// id it had to take from English (none, when the files are complete).
type translator struct {
	tag     language.Tag
	loc     *i18n.Localizer
	printer *message.Printer
	missing []string
}

func newTranslator(b *i18n.Bundle, tag language.Tag) *translator {
	return &translator{tag: tag, loc: i18n.NewLocalizer(b, tag.String()), printer: message.NewPrinter(tag)}
}

// T renders message id with the fields given as name, value pairs; an int
// field named Count picks the plural form and is written with the
// language's digit grouping.
func (t *translator) T(id string, kv ...any) string {
	data := map[string]any{}
	var count any
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		v := kv[i+1]
		if k == "Count" {
			count = v
			if n, ok := v.(int); ok {
				v = t.printer.Sprintf("%d", n)
			}
		}
		data[k] = v
	}
	s, err := t.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
	if err != nil {
		t.missing = append(t.missing, id)
		var nf *i18n.MessageNotFoundErr
		if s == "" || !errors.As(err, &nf) {
			return id
		}
	}
	return s
}

// Lang is the page's language, for the lang attribute.
func (t *translator) Lang() string { return t.tag.String() }

// Date writes a time in the page's language (layout from the messages), in
// UTC.
func (t *translator) Date(at time.Time) string {
	if at.IsZero() {
		return ""
	}
	return at.UTC().Format(t.T("layout_datetime"))
}

// KindName is a document kind in words.
func (t *translator) KindName(kind string) string {
	switch kind {
	case consent.KindTerms, consent.KindPrivacyPolicy, consent.KindCommunityGuidelines:
		return t.T("kind_" + kind)
	}
	return kind
}

// RegionName is a region's name in the page's language ("*": every region).
func (t *translator) RegionName(region string) string {
	if region == consent.AnyRegion || region == "" {
		return t.T("region_any")
	}
	code := region
	if code == "UK" {
		code = "GB"
	}
	if r, err := language.ParseRegion(code); err == nil {
		if n := display.Regions(t.tag).Name(r); n != "" {
			return n
		}
	}
	return region
}

// Phrase is one item of what changed, in words of the page's language.
func (t *translator) Phrase(p consent.Phrase) string {
	date := p.Date
	if d, err := time.Parse("2006-01-02", p.Date); err == nil {
		date = d.Format(t.T("layout_date"))
	}
	return t.T("phrase_"+p.ID, "Kind", t.KindName(p.Kind), "Region", t.RegionName(p.Region), "Value", p.Value, "From", p.From,
		"To", p.To, "Version", p.Version, "Date", date, "Count", p.Count)
}

// Languages lists the other languages for the page's language menu.
func (t *translator) Languages() []langLink {
	out := make([]langLink, 0, len(CenterLanguages))
	for _, l := range CenterLanguages {
		out = append(out, langLink{Code: l.String(), Name: centerLangNames[l.String()], Current: l == t.tag})
	}
	return out
}

type langLink struct {
	Code, Name string
	Current    bool
}

// messageIDs lists the ids of a message file's messages.
func messageIDs(buf []byte) ([]string, error) {
	var m map[string]any
	if err := yaml.Unmarshal(buf, &m); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(m))
	for k := range m {
		ids = append(ids, k)
	}
	return ids, nil
}
