package engine

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wardenhq/warden/detect"
)

// featureValue gives field i of detect.Features a value of its own, and
// returns it with the expression literal a rule compares it to.
func featureValue(v reflect.Value, i int) string {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
		return "true"
	case reflect.Int:
		v.SetInt(int64(i + 2))
		return fmt.Sprint(i + 2)
	case reflect.Float64:
		v.SetFloat(float64(i) + 0.5)
		return fmt.Sprint(float64(i) + 0.5)
	case reflect.Slice:
		v.Set(reflect.ValueOf([]string{fmt.Sprintf("reason %d", i)}))
		return fmt.Sprintf("%q", fmt.Sprintf("reason %d", i))
	}
	panic("featureValue: no value for a " + v.Type().String())
}

// TestEveryDetectorFeatureIsReadable sets each field of detect.Features to
// a value of its own and requires a rule to read it back as detect.NAME,
// both through the closure compiler and through expr's virtual machine (an
// array literal, which the closures do not handle).
func TestEveryDetectorFeatureIsReadable(t *testing.T) {
	var feats detect.Features
	fv := reflect.ValueOf(&feats).Elem()
	denv := reflect.TypeFor[DetectEnv]()
	var rules strings.Builder
	rules.WriteString("rules:\n")
	var names []string
	for i := range fv.NumField() {
		f := fv.Type().Field(i)
		df, ok := denv.FieldByName(f.Name)
		if !ok {
			t.Errorf("detect.Features.%s has no DetectEnv field: run go generate ./engine", f.Name)
			continue
		}
		name := df.Tag.Get("expr")
		lit := featureValue(fv.Field(i), i)
		fmt.Fprintf(&rules, "  - {name: closure_%s, when: 'detect.%s == %s', action: review}\n", name, name, strings.ReplaceAll(lit, "'", "''"))
		fmt.Fprintf(&rules, "  - {name: vm_%s, when: '[detect.%s][0] == %s', action: review}\n", name, name, strings.ReplaceAll(lit, "'", "''"))
		names = append(names, name)
	}
	rs, err := Compile(fstest.MapFS{"r.yaml": {Data: []byte(rules.String())}}, CompileOptions{})
	if err != nil {
		t.Fatalf("%v\n%s", err, rules.String())
	}
	res := rs.evaluate(context.Background(), follow("e", "a", t0), newStore(), &feats, 0, false, hooks{})
	hit := map[string]bool{}
	for _, h := range res.Verdict.Hits {
		hit[h.Rule] = true
	}
	for _, n := range names {
		for _, way := range []string{"closure_", "vm_"} {
			if !hit[way+n] {
				t.Errorf("rule %s%s did not read detect.%s", way, n, n)
			}
		}
	}
}

var (
	backticked     = regexp.MustCompile("`([^`]+)`")
	exprName       = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$`)
	goFeatureNames = regexp.MustCompile("`([A-Z][A-Za-z]+)`")
)

// documentedNames returns the names docs/engine.md says expressions see:
// those in its "What expressions see" paragraph and every `detect.NAME`;
// and the detect.Features fields docs/detection.md's table lists, as rules
// name them.
func documentedNames(t *testing.T) []string {
	t.Helper()
	eng, err := os.ReadFile("../docs/engine.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(eng)
	_, para, ok := strings.Cut(doc, "**What expressions see**")
	if !ok {
		t.Fatal(`docs/engine.md has no "**What expressions see**" paragraph listing the fields rules read`)
	}
	para, _, _ = strings.Cut(para, "Functions:")
	var names []string
	for _, m := range backticked.FindAllStringSubmatch(para, -1) {
		for _, w := range strings.Fields(m[1]) {
			if exprName.MatchString(w) {
				names = append(names, w)
			}
		}
	}
	for _, m := range backticked.FindAllStringSubmatch(doc, -1) {
		if strings.HasPrefix(m[1], "detect.") && exprName.MatchString(m[1]) {
			names = append(names, m[1])
		}
	}
	det, err := os.ReadFile("../docs/detection.md")
	if err != nil {
		t.Fatal(err)
	}
	denv := reflect.TypeFor[DetectEnv]()
	for _, line := range strings.Split(string(det), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "|"), "|")
		for _, m := range goFeatureNames.FindAllStringSubmatch(first, -1) {
			f, ok := denv.FieldByName(m[1])
			if !ok {
				t.Errorf("docs/detection.md lists the feature %s, which rules cannot read (no DetectEnv field)", m[1])
				continue
			}
			names = append(names, "detect."+f.Tag.Get("expr"))
		}
	}
	return names
}

// TestDocumentedFieldsAreReadable compiles a rule reading each field the
// docs name, so the docs cannot promise a field rules do not have.
func TestDocumentedFieldsAreReadable(t *testing.T) {
	names := documentedNames(t)
	if len(names) < 20 {
		t.Fatalf("found only %d documented names (%v): has the docs' list moved?", len(names), names)
	}
	for _, n := range names {
		src := fmt.Sprintf("rules:\n  - {name: reads, when: 'let v = %s; true', action: review}\n", n)
		if _, err := Compile(fstest.MapFS{"r.yaml": {Data: []byte(src)}}, CompileOptions{}); err != nil {
			t.Errorf("the docs list %s, but a rule cannot read it: %v", n, err)
		}
	}
}

// TestEnvNamesAreReserved checks that a counter cannot take the name of a
// field or function rules read.
func TestEnvNamesAreReserved(t *testing.T) {
	for _, n := range append(append([]string{}, envFieldNames...), builtinFuncs...) {
		src := fmt.Sprintf("counters:\n  - {name: %s, kind: count, key: [actor], window: 1m, on: [follow]}\nrules:\n  - {name: r, when: 'true', action: review}\n", n)
		_, err := Compile(fstest.MapFS{"r.yaml": {Data: []byte(src)}}, CompileOptions{})
		if err == nil || !strings.Contains(err.Error(), "taken by a built-in") {
			t.Errorf("a counter named %s: %v, want it refused", n, err)
		}
	}
}
