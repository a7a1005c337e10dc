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
