package warden

import "testing"

// FuzzPersonalData: the lint never panics, and text it accepts contains no
// '@' followed by a word (the cheapest sign of an address or handle).
func FuzzPersonalData(f *testing.F) {
	f.Add("Messaged @victim for money", "victim")
	f.Add("Between 2026-05-01 and 2026-05-09", "ann")
	f.Add("call +1 (555) 010-9999", "")
	f.Fuzz(func(t *testing.T, text, id string) {
		if PersonalData(text, id) == "" && reHandle.MatchString(text) {
			t.Fatalf("%q passed with a handle", text)
		}
	})
}
