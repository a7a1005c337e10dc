package insights

import (
	"strings"
	"testing"
)

func TestReadCSVNamesRowAndColumn(t *testing.T) {
	tab, err := ReadCSV(strings.NewReader("a,b\n1,2\n3,x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Numbers("b"); err == nil || !strings.Contains(err.Error(), `row 2 (line 3), column "b"`) {
		t.Errorf("bad number: %v", err)
	}
	if _, err := tab.Numbers("c"); err == nil || fieldOf(err) != "c" {
		t.Errorf("unknown column: %v", err)
	}
	for in, want := range map[string]string{
		"":              "row 0",
		"a,a\n1,2\n":    "row 0, column a",
		"a,\n1,2\n":     "row 0, column 2",
		"a,b\n1,2,3\n":  "line 2, column 1",
		"a,b\n\"1,2\n":  "line 2",
		"a\n\xff\n":     "row 1, column a",
		"a,b\n1,\"2\"x": "line 2, column 5",
	} {
		_, err := ReadCSV(strings.NewReader(in))
		if err == nil {
			t.Errorf("%q accepted", in)
			continue
		}
		if f := fieldOf(err); !strings.HasPrefix(f, want) {
			t.Errorf("%q: field %q, want %q (%v)", in, f, want, err)
		}
	}
}

// FuzzReadCSV: any input either is refused with an invalid-input error and
// no table, or gives a table with unique, non-empty column names and every
// row as wide as the header, with a file line for each row.
func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "", "a,a\n", "\ufeffx,y\n\"1\n2\",3\n", "a\n\xff\n", "a,b\n1\n", "a,\"b\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		tab, err := ReadCSV(strings.NewReader(in))
		if err != nil {
			if tab != nil || fieldOf(err) == "" {
				t.Fatalf("error %v with table %v / no field", err, tab)
			}
			return
		}
		seen := map[string]bool{}
		for _, h := range tab.Header {
			if h == "" || seen[h] {
				t.Fatalf("header %q", tab.Header)
			}
			seen[h] = true
		}
		if len(tab.Lines) != len(tab.Rows) {
			t.Fatalf("%d lines for %d rows", len(tab.Lines), len(tab.Rows))
		}
		for r, rec := range tab.Rows {
			if len(rec) != len(tab.Header) || tab.Lines[r] < 2 {
				t.Fatalf("row %d: %q on line %d", r+1, rec, tab.Lines[r])
			}
		}
	})
}
