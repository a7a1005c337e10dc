package web

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

// templates holds one parsed set per page: the layout, every partial and the
// page itself, so that pages can reuse block names without clashing.
type templates struct {
	pages map[string]*template.Template
}

const (
	layoutFile    = "layout.html"
	partialSuffix = ".partial.html"
)

func loadTemplates(asset func(string) (string, error)) (*templates, error) {
	return parseTemplates(templateFS, "templates", asset)
}

func parseTemplates(fsys fs.FS, dir string, asset func(string) (string, error)) (*templates, error) {
	names, err := fs.Glob(fsys, dir+"/*.html")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"asset":  asset,
		"timeUS": formatUS,
		"mul100": func(f float64) float64 { return 100 * f },
		"clock":  func(t time.Time) string { return t.UTC().Format("15:04:05") },
		"span":   span,
		"pct":    pct,
		"fixed":  func(f float64, digits int) string { return strconv.FormatFloat(f, 'f', digits, 64) },
		// points writes a change of a share in percentage points, signed.
		"points": func(f float64) string { return fmt.Sprintf("%+.1f", 100*f) },
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
	}
	base := template.New(layoutFile).Funcs(funcs)
	if base, err = base.ParseFS(fsys, path.Join(dir, layoutFile)); err != nil {
		return nil, err
	}
	var pages []string
	for _, n := range names {
		file := path.Base(n)
		switch {
		case file == layoutFile:
		case strings.HasSuffix(file, partialSuffix):
			if _, err := base.ParseFS(fsys, n); err != nil {
				return nil, err
			}
		default:
			pages = append(pages, n)
		}
	}
	t := &templates{pages: make(map[string]*template.Template, len(pages))}
	for _, n := range pages {
		set, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := set.ParseFS(fsys, n); err != nil {
			return nil, err
		}
		if set.Lookup("content") == nil {
			return nil, fmt.Errorf("template %s: a page must define \"content\"", n)
		}
		t.pages[path.Base(n)] = set
	}
	return t, nil
}

func (t *templates) page(name string) (*template.Template, error) {
	p, ok := t.pages[name]
	if !ok {
		return nil, fmt.Errorf("no console page template %q in web/templates", name)
	}
	return p, nil
}

// span writes a length of time the way a queue reads it: "2d 4h", "3h 12m",
// "45m", "under a minute"; negative lengths as their size.
func span(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd %dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}
