package datarequest

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
)

// sectionTitles name the export's sections on the page.
var sectionTitles = map[string]string{
	"events":  "Your activity (events) and what Warden decided about each",
	"reports": "Reports you filed", "notices": "Notices sent to you", "decisions": "Moderation decisions about your account",
	"consent_receipts": "Your consent decisions and their signed receipts", "two_factor": "Two-factor authentication (no secrets)",
	"access_ledger": "Who inside the platform accessed your data, and why", "permissions": "What the app read on your device",
}

// htmlSection is one section prepared for the page: a table when the
// section is a list of objects, else indented JSON.
type htmlSection struct {
	Title   string
	Count   int
	Columns []string
	Rows    [][]string
	Raw     string
}

var page = template.Must(template.New("export").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Your data held by Warden</title>
<style>body{font:15px/1.45 system-ui,sans-serif;margin:2rem;max-width:80rem}table{border-collapse:collapse;width:100%;margin:.5rem 0 2rem}
td,th{border:1px solid #ccc;padding:.25rem .4rem;text-align:left;vertical-align:top;font-size:13px;word-break:break-word}th{background:#f3f3f3}
pre{background:#f7f7f7;padding:.5rem;overflow:auto}</style></head><body>
<h1>Your data held by Warden</h1>
<p>Account <strong>{{.User}}</strong> · request {{.RequestID}} · built from the store at {{.GeneratedAt}}. The same document is available as JSON.</p>
{{range .Sections}}<h2>{{.Title}} <small>({{.Count}})</small></h2>
{{if .Columns}}<table><thead><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody></table>
{{else if .Raw}}<pre>{{.Raw}}</pre>{{else}}<p>Nothing held.</p>{{end}}
{{end}}</body></html>`))

// WriteHTML renders doc as a readable page: one section per source, each
// list as a table.
func WriteHTML(w io.Writer, doc *Document) error {
	var secs []htmlSection
	order := doc.Order
	if len(order) == 0 {
		for k := range doc.Sections {
			order = append(order, k)
		}
		slices.Sort(order)
	}
	for _, name := range order {
		title := sectionTitles[name]
		if title == "" {
			title = name
		}
		secs = append(secs, prepare(title, doc.Sections[name]))
	}
	return page.Execute(w, map[string]any{"User": doc.User, "RequestID": doc.RequestID, "GeneratedAt": doc.GeneratedAt.Format("2006-01-02 15:04 MST"), "Sections": secs})
}

func prepare(title string, v any) htmlSection {
	s := htmlSection{Title: title}
	b, err := json.Marshal(v)
	if err != nil {
		s.Raw = err.Error()
		return s
	}
	var list []map[string]any
	if json.Unmarshal(b, &list) == nil {
		s.Count = len(list)
		seen := map[string]bool{}
		for _, m := range list {
			for k := range m {
				if !seen[k] {
					seen[k] = true
					s.Columns = append(s.Columns, k)
				}
			}
		}
		slices.Sort(s.Columns)
		for _, m := range list {
			row := make([]string, len(s.Columns))
			for i, c := range s.Columns {
				row[i] = cell(m[c])
			}
			s.Rows = append(s.Rows, row)
		}
		return s
	}
	var pretty strings.Builder
	var x any
	json.Unmarshal(b, &x)
	if x != nil {
		s.Count = 1
		out, _ := json.MarshalIndent(x, "", "  ")
		pretty.Write(out)
	}
	s.Raw = pretty.String()
	return s
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64, bool:
		return fmt.Sprint(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
