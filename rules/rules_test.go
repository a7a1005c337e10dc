package rules_test

import (
	"testing"

	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/rules"
)

// TestPackFixtures runs every fixture test of the built-in pack, as
// `warden rules test` does.
func TestPackFixtures(t *testing.T) {
	rs, err := engine.Compile(rules.FS, engine.CompileOptions{})
	if err != nil {
		t.Fatalf("the built-in pack does not compile:\n%v", err)
	}
	results := rs.RunFixtures()
	if len(results) == 0 {
		t.Fatal("the built-in pack has no fixture tests")
	}
	for _, r := range results {
		t.Run(r.File+"/"+r.Test, func(t *testing.T) {
			for _, f := range r.Failures {
				t.Error(f)
			}
		})
	}
}

// TestPackShape holds the pack to its promises: at least 40 rules and 15
// counters, and a fixture expecting a hit from every rule.
func TestPackShape(t *testing.T) {
	rs, err := engine.Compile(rules.FS, engine.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rs.Rules() < 40 || rs.Counters() < 15 {
		t.Errorf("the pack has %d rules and %d counters; it promises at least 40 and 15", rs.Rules(), rs.Counters())
	}
	if u := rs.Uncovered(); len(u) > 0 {
		t.Errorf("no fixture expects a hit from %v", u)
	}
}
