package engine

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine/state"
)

// FuzzCompile feeds arbitrary rule files to the parser and compiler: they
// must either compile or fail with positioned Errors, never panic, and a
// set that compiles must evaluate events without panicking.
func FuzzCompile(f *testing.F) {
	_ = fs.WalkDir(packFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && isRuleFile(p) {
			b, _ := fs.ReadFile(packFS(), p)
			f.Add(string(b))
		}
		return nil
	})
	f.Add(followRules)
	f.Add("rules:\n  - {name: r, when: 'text matches \"(\"', action: block}\n")
	f.Add("features:\n  - {name: f, expr: 'detect.bot_score * 2'}\nrules:\n  - {name: r, when: f > 1, action: review, reason: '{{f}} {{'}\n")
	evs := []warden.Event{
		{ID: "1", Type: "follow", Time: time.Unix(1767600000, 0), Actor: "a", Target: "b", IP: "192.0.2.1", Text: "hi https://x.y"},
		{ID: "2", Type: "signup", Time: time.Unix(1767600001, 0), Actor: "c", Attrs: map[string]any{"email": "c@d.e", "n": 3.0}},
		{ID: "3", Type: "comment", Time: time.Unix(1767600002, 0), Actor: "a"},
	}
	f.Fuzz(func(t *testing.T, text string) {
		rs, err := Compile(fstest.MapFS{"f.yaml": {Data: []byte(text)}}, CompileOptions{})
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %v is not Errors", err)
			}
			for _, e := range errs {
				if e.File != "f.yaml" || e.Msg == "" {
					t.Fatalf("error %+v does not name the file and the problem", e)
				}
			}
			return
		}
		st := state.New()
		for i := range evs {
			ev := evs[i]
			res := rs.evaluate(context.Background(), &ev, st, nil, 0, true, hooks{})
			if res.Verdict.Score < 0 || res.Verdict.Score > 1 {
				t.Fatalf("score %v", res.Verdict.Score)
			}
		}
	})
}
