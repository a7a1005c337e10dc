package web

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// WCAG 2.2 contrast of the console's palette (web/static/console.css), as
// the safety and privacy center and the console use it: text at least
// 4.5:1 against its background (success criterion 1.4.3), the focus ring
// at least 3:1 against what it surrounds (1.4.11).

// luminance is the relative luminance of #rrggbb (WCAG 2.2 definition).
func luminance(hex string) (float64, error) {
	hex = strings.TrimPrefix(hex, "#")
	if len(hex) != 6 {
		return 0, fmt.Errorf("colour %q is not #rrggbb", hex)
	}
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, err := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		if err != nil {
			return 0, err
		}
		c := float64(v) / 255
		if c <= 0.04045 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += w * c
	}
	return l, nil
}

// contrast is the WCAG contrast ratio of two colours, 1 to 21.
func contrast(a, b string) (float64, error) {
	la, err := luminance(a)
	if err != nil {
		return 0, err
	}
	lb, err := luminance(b)
	if err != nil {
		return 0, err
	}
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05), nil
}

func TestContrastFormula(t *testing.T) {
	// Known ratios: black on white 21:1, white on white 1:1, #767676 on
	// white the classic 4.54:1.
	for _, c := range []struct {
		a, b string
		want float64
	}{{"#000000", "#ffffff", 21}, {"#ffffff", "#ffffff", 1}, {"#767676", "#ffffff", 4.54}} {
		got, err := contrast(c.a, c.b)
		if err != nil || math.Abs(got-c.want) > 0.01 {
			t.Errorf("contrast(%s, %s) = %.3f, want %.2f", c.a, c.b, got, c.want)
		}
	}
}

func TestPaletteContrast(t *testing.T) {
	css, err := staticFS.ReadFile("static/console.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z_]+):\s*(#[0-9a-fA-F]{6})\s*;`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = m[2]
	}
	col := func(s string) string {
		if strings.HasPrefix(s, "--") {
			v, ok := vars[s[2:]]
			if !ok {
				t.Fatalf("console.css has no colour %s", s)
			}
			return v
		}
		return s
	}
	text := []struct{ fg, bg, where string }{
		{"--text", "--bg", "body text"},
		{"--text", "--panel", "text in panels"},
		{"--dim", "--panel", "hints in panels"},
		{"--dim", "--bg", "hints on the page"},
		{"--accent", "--panel", "links in panels"},
		{"--accent", "--bg", "links on the page (language menu)"},
		{"#ffffff", "--accent", "primary buttons"},
		{"#7a1c14", "#fdecea", "alerts"},
		{"--text", "#eef1f5", "tags"},
		{"#ffffff", "#14213d", "top bar"},
		{"#ffffff", "--allow", "allow badge"},
		{"#ffffff", "--challenge", "challenge badge"},
		{"#ffffff", "--rate_limit", "rate_limit badge"},
		{"#ffffff", "--review", "review badge"},
		{"#ffffff", "--block", "block badge"},
	}
	for _, p := range text {
		r, err := contrast(col(p.fg), col(p.bg))
		if err != nil {
			t.Fatal(err)
		}
		if r < 4.5 {
			t.Errorf("%s: %s on %s is %.2f:1, under 4.5:1", p.where, col(p.fg), col(p.bg), r)
		}
	}
	// The center's focus ring is --text with a --focus halo: the ring
	// stands out from white panels and from the blue of primary buttons.
	for _, bg := range []string{"--panel", "--bg", "--accent"} {
		r1, _ := contrast(col("--text"), col(bg))
		r2, _ := contrast(col("--focus"), col(bg))
		if max(r1, r2) < 3 {
			t.Errorf("focus ring on %s: %.2f:1 and %.2f:1, under 3:1", bg, r1, r2)
		}
	}
}
