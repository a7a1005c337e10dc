package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runStderr runs the warden binary and returns its stdout, stderr and exit
// status.
func runStderr(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	bin, err := buildWarden()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.String(), stderr.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), 0
}

// TestInsightsDriversSwiss: `warden insights drivers --json` on the swiss
// reference reproduces relaimpo's R², lmg, shares, first and Johnson's
// weights to the printed precision (12 significant places).
func TestInsightsDriversSwiss(t *testing.T) {
	dir := "../../../shared/datasets/relaimpo-swiss"
	raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Skip("relaimpo-swiss reference absent:", err)
	}
	var want struct {
		Predictors []string
		R2         float64
		LMG        []float64 `json:"lmg"`
		LMGRela    []float64 `json:"lmg_rela"`
		First      []float64 `json:"first"`
		Johnson    []float64 `json:"johnson_rw"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runStderr(t, "insights", "drivers", "--in", filepath.Join(dir, "swiss.csv"), "--outcome", "Fertility",
		"--predictors", strings.Join(want.Predictors, ","), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, k := range []string{"n", "r2", "lmg", "lmg_rela", "johnson", "first", "last", "betasq", "pratt"} {
		if got[k] == nil {
			t.Errorf("no key %q in %s", k, out)
		}
	}
	var n int
	var r2 float64
	json.Unmarshal(got["n"], &n)
	json.Unmarshal(got["r2"], &r2)
	if n != 47 || math.Abs(r2-want.R2) > 5e-13 {
		t.Errorf("n %d r2 %.13g, want 47 %.13g", n, r2, want.R2)
	}
	for key, vals := range map[string][]float64{"lmg": want.LMG, "lmg_rela": want.LMGRela, "first": want.First, "johnson": want.Johnson} {
		var m map[string]float64
		if err := json.Unmarshal(got[key], &m); err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for j, name := range want.Predictors {
			sum += m[name]
			if math.Abs(m[name]-vals[j]) > 5e-13 {
				t.Errorf("%s[%s] = %.13g, want %.13g", key, name, m[name], vals[j])
			}
		}
		if key == "lmg" && math.Abs(sum-r2) > 1e-12 {
			t.Errorf("lmg sums to %g, r2 %g", sum, r2)
		}
	}
	// The predictors keep their order in the objects.
	if i, j := strings.Index(string(got["lmg"]), "Agriculture"), strings.Index(string(got["lmg"]), "Infant.Mortality"); i < 0 || j < i {
		t.Errorf("lmg object out of predictor order: %s", got["lmg"])
	}
	human, _, code := runStderr(t, "insights", "drivers", "--in", filepath.Join(dir, "swiss.csv"), "--outcome", "Fertility",
		"--predictors", strings.Join(want.Predictors, ","))
	if code != 0 || !strings.Contains(human, "Education  0.2601    0.3681   0.2720") {
		t.Errorf("human output (exit %d):\n%s", code, human)
	}
}

func TestInsightsDriversBadInput(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "in.csv")
	os.WriteFile(csv, []byte("y,a,b,c\n1,2,3,5\n2,1,x,3\n3,5,1,6\n4,2,2,4\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--outcome", "y", "--predictors", "a"}, 2, "needs --in"},
		{[]string{"--in", csv, "--outcome", "y", "--predictors", "a,b"}, 1, `row 2 (line 3), column "b": "x" is not a finite number`},
		{[]string{"--in", csv, "--outcome", "y", "--predictors", "a,zz"}, 1, `no column "zz"`},
		{[]string{"--in", csv, "--outcome", "y", "--predictors", "a,c", "--weight", "b"}, 1, `column "b"`},
		{[]string{"--in", filepath.Join(dir, "none.csv"), "--outcome", "y", "--predictors", "a"}, 1, "none.csv"},
	} {
		out, stderr, code := runStderr(t, append([]string{"insights", "drivers", "--json"}, c.args...)...)
		if code != c.code || out != "" || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d stdout %q stderr %q, want exit %d and %q", c.args, code, out, stderr, c.code, c.want)
		}
	}
}

// raking input: 600 respondents, age and sex correlated and skewed against
// the population, with a trust item that differs by age.
func rakeFiles(t *testing.T) (csv, margins string) {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	b.WriteString("id,age,sex,w,trust\n")
	for i := range 600 {
		age := []string{"18-34", "35-54", "55+"}[min(rng.IntN(4), 2)]
		sex := "f"
		if rng.Float64() < 0.35+0.15*float64(strings.Count("18-34 35-54 55+", age)) && age != "18-34" {
			sex = "m"
		}
		trust := 3 + rng.IntN(3)
		if age == "55+" {
			trust -= rng.IntN(3)
		}
		fmt.Fprintf(&b, "r%d,%s,%s,%.3f,%d\n", i, age, sex, 0.5+rng.Float64(), trust)
	}
	csv, margins = filepath.Join(dir, "in.csv"), filepath.Join(dir, "margins.json")
	os.WriteFile(csv, []byte(b.String()), 0o644)
	os.WriteFile(margins, []byte(`{"age": {"18-34": 2800, "35-54": 3400, "55+": 3800}, "sex": {"f": 5100, "m": 4900}}`), 0o644)
	return csv, margins
}

// TestInsightsRake: both modes print one weight per row, the cycles, the
// means and Kish's deff; converged weights meet every margin, r-survey's
// meet the last exactly and stop earlier, differing slightly.
func TestInsightsRake(t *testing.T) {
	csv, margins := rakeFiles(t)
	type result struct {
		Weights   []float64
		Cycles    int
		Mean      map[string]float64
		Deff      float64
		ESS       float64
		Converged bool
	}
	get := func(mode string) (result, []string) {
		out, stderr, code := runStderr(t, "insights", "rake", "--in", csv, "--margins", margins, "--weight", "w", "--mode", mode, "--mean", "trust", "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d %s", mode, code, stderr)
		}
		var r result
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		var keys map[string]any
		json.Unmarshal([]byte(out), &keys)
		var missing []string
		for _, k := range []string{"weights", "cycles", "mean", "deff"} {
			if _, ok := keys[k]; !ok {
				missing = append(missing, k)
			}
		}
		return r, missing
	}
	rs, missing := get("r-survey")
	cv, _ := get("converged")
	if len(missing) > 0 {
		t.Fatalf("keys %v missing", missing)
	}
	if len(rs.Weights) != 600 || len(cv.Weights) != 600 || !rs.Converged || !cv.Converged || rs.Cycles >= cv.Cycles || rs.Cycles > 10 {
		t.Fatalf("r-survey %d weights %d cycles; converged %d weights %d cycles", len(rs.Weights), rs.Cycles, len(cv.Weights), cv.Cycles)
	}
	tab := readTableT(t, csv)
	ages, sexes, trust := tab["age"], tab["sex"], tab["trust"]
	totals := func(w []float64) map[string]float64 {
		m := map[string]float64{}
		for i := range w {
			m["age="+ages[i]] += w[i]
			m["sex="+sexes[i]] += w[i]
		}
		return m
	}
	pop := map[string]float64{"age=18-34": 2800, "age=35-54": 3400, "age=55+": 3800, "sex=f": 5100, "sex=m": 4900}
	for k, v := range totals(cv.Weights) {
		if math.Abs(v-pop[k]) > 1e-6 {
			t.Errorf("converged %s = %g, want %g", k, v, pop[k])
		}
	}
	for k, v := range totals(rs.Weights) {
		if strings.HasPrefix(k, "sex=") && math.Abs(v-pop[k]) > 1e-6 {
			t.Errorf("r-survey %s = %g, want %g (the last margin is met exactly)", k, v, pop[k])
		}
	}
	var mean, sw, s2 float64
	for i, w := range rs.Weights {
		var x float64
		fmt.Sscan(trust[i], &x)
		mean += w * x
		sw += w
		s2 += w * w
	}
	if d := 600 * s2 / (sw * sw); math.Abs(rs.Mean["trust"]-mean/sw) > 1e-12 || math.Abs(rs.Deff-d) > 1e-12 || rs.Deff <= 1 || math.Abs(rs.ESS-600/d) > 1e-9 {
		t.Errorf("mean %g deff %g ess %g, want %g %g", rs.Mean["trust"], rs.Deff, rs.ESS, mean/sw, d)
	}
	human, _, code := runStderr(t, "insights", "rake", "--in", csv, "--margins", margins, "--weight", "w")
	if code != 0 || !strings.Contains(human, "design effect") || !strings.Contains(human, "55+") {
		t.Errorf("human output (exit %d):\n%s", code, human)
	}
}

func TestInsightsRakeBadInput(t *testing.T) {
	csv, margins := rakeFiles(t)
	dir := filepath.Dir(margins)
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	noLevel := write("m1.json", `{"age": {"18-34": 2800, "35-54": 3400, "55+": 3700, "75+": 100}, "sex": {"f": 5100, "m": 4900}}`)
	sums := write("m2.json", `{"age": {"18-34": 2800, "35-54": 3400, "55+": 3800}, "sex": {"f": 5100, "m": 4800}}`)
	missing := write("m3.json", `{"age": {"18-34": 2800, "35-54": 7200}, "sex": {"f": 5100, "m": 4900}}`)
	badRow := write("in2.csv", "age,sex,w\n18-34,f,1\n35-54,x,1\n")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--in", csv, "--margins", margins}, 2, "--weight"},
		{[]string{"--in", csv, "--margins", margins, "--weight", "w", "--mode", "fast"}, 2, "--mode"},
		{[]string{"--in", csv, "--margins", noLevel, "--weight", "w"}, 1, `level "75+" of "age" has a population total of 100 but no respondents`},
		{[]string{"--in", csv, "--margins", sums, "--weight", "w"}, 1, `margin "sex" sums to 9900`},
		{[]string{"--in", csv, "--margins", missing, "--weight", "w"}, 1, `column "age": level "55+" is not in the margin`},
		{[]string{"--in", badRow, "--margins", write("m4.json", `{"sex": {"f": 1, "m": 1}}`), "--weight", "w"}, 1, `row 2 (line 3), column "sex": level "x"`},
		{[]string{"--in", csv, "--margins", margins, "--weight", "age"}, 1, `row 1 (line 2), column "age"`},
		{[]string{"--in", csv, "--margins", margins, "--weight", "w", "--mean", "nope"}, 1, `no column "nope"`},
	} {
		out, stderr, code := runStderr(t, append([]string{"insights", "rake", "--json"}, c.args...)...)
		if code != c.code || out != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d stdout %q stderr %q, want exit %d and %q", c.args, code, out, stderr, c.code, c.want)
		}
	}
}

// readTableT reads a small CSV file into columns.
func readTableT(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	head := strings.Split(lines[0], ",")
	cols := map[string][]string{}
	for _, l := range lines[1:] {
		for i, v := range strings.Split(l, ",") {
			cols[head[i]] = append(cols[head[i]], v)
		}
	}
	return cols
}
