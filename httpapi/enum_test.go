package httpapi_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// TestOpenAPIEnumsAreTheGoLists walks the OpenAPI document and requires
// every enum of a role, report category or action to be one of the Go
// lists the server checks requests against, and each list to appear.
func TestOpenAPIEnumsAreTheGoLists(t *testing.T) {
	f := newIncidentFixture(t, sqlstoretest.SQLite(t))
	var doc any
	f.call(t, "GET", "/openapi.json", "", "", 200, &doc)
	strs := func(vs []warden.Action) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.String())
		}
		return out
	}
	lists := map[string][][]string{
		"role":     {warden.Roles},
		"category": {warden.Categories},
		"action":   {strs(warden.Actions), warden.DecisionActions},
	}
	seen := map[string]int{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if want, ok := lists[k]; ok {
					if e, ok := c.(map[string]any)["enum"]; ok {
						got := fmt.Sprint(e)
						i := slices.IndexFunc(want, func(l []string) bool { return fmt.Sprint(l) == got })
						if i < 0 {
							t.Errorf("%s.%s: enum %s is none of the Go lists %v", path, k, got, want)
						}
						seen[fmt.Sprint(want[max(i, 0)])]++
					}
				}
				walk(path+"."+k, c)
			}
		case []any:
			for i, c := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), c)
			}
		}
	}
	walk("", doc)
	for _, ls := range lists {
		for _, l := range ls {
			if seen[fmt.Sprint(l)] == 0 {
				t.Errorf("no enum in the document is %v", l)
			}
		}
	}
}
