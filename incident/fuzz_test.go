package incident

import (
	"strings"
	"testing"

	"github.com/wardenhq/warden"
)

// The decoders take untrusted bodies: whatever the input, they return a
// value that passes validation or an *warden.Error a person can act on,
// and never panic.

func checkDecodeErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	code := warden.ErrorCode(err)
	if code != warden.EINVALID && code != warden.ETOOLARGE || warden.ErrorMessage(err) == "" {
		t.Fatalf("error %v (code %s) is not a person-facing *warden.Error", err, code)
	}
}

func FuzzDecodeReport(f *testing.F) {
	f.Add([]byte(`{"reporter":"u1","subject":{"kind":"account","id":"s1"},"category":"scam","description":"d","evidence":["e"]}`))
	f.Add([]byte(`{"id":"k","reporter":"u1","subject":{"kind":"content","id":"p1","owner":"o"},"category":"other","email":"a@b.co"}`))
	f.Add([]byte(`{"reporter":"u1","subject":{"kind":"account","id":"u1"},"category":"scam"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeReport(body)
		checkDecodeErr(t, err)
		if err == nil {
			if r.Validate() != nil || !strings.Contains(strings.Join(warden.Categories, ","), r.Category) || r.Reporter == "" {
				t.Fatalf("accepted an invalid report %+v", r)
			}
		}
	})
}

func FuzzDecodeDecision(f *testing.F) {
	f.Add([]byte(`{"action":"ban_account","policy":"p","explanation":"e"}`))
	f.Add([]byte(`{"action":"suspend_account","policy":"p","explanation":"e","duration":"720h","note":"n"}`))
	f.Add([]byte(`{"action":"label","policy":"p","explanation":"e","duration":"-1h"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, dur, err := DecodeDecision(body)
		checkDecodeErr(t, err)
		if err == nil && (dur < 0 || d.Action == warden.ActSuspendAccount && dur == 0 || d.Policy == "" || d.Explanation == "") {
			t.Fatalf("accepted an invalid decision %+v (%v)", d, dur)
		}
	})
}

func FuzzDecodeAppeal(f *testing.F) {
	f.Add([]byte(`{"appellant":"u1","decision_id":"D-1","reason":"r"}`))
	f.Add([]byte(`{"appellant":"u1","report_id":"R-1","reason":"r"}`))
	f.Add([]byte(`{"appellant":"u1","decision_id":"D-1","report_id":"R-1","reason":"r"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := DecodeAppeal(body)
		checkDecodeErr(t, err)
		if err == nil && ((a.DecisionID == "") == (a.ReportID == "") || a.Appellant == "" || strings.TrimSpace(a.Reason) == "") {
			t.Fatalf("accepted an invalid appeal %+v", a)
		}
	})
}

func FuzzDecodeAppealDecision(f *testing.F) {
	f.Add([]byte(`{"outcome":"upheld","explanation":"e"}`))
	f.Add([]byte(`{"outcome":"reversed","explanation":""}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := DecodeAppealDecision(body)
		checkDecodeErr(t, err)
		if err == nil && a.Outcome != warden.AppealUpheld && a.Outcome != warden.AppealReversed {
			t.Fatalf("accepted outcome %q", a.Outcome)
		}
	})
}
