package clientperm_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/clientperm"
)

func TestDecodeManifestRefuses(t *testing.T) {
	for body, field := range map[string]string{
		`{"features":[]}`:                         "app_version",
		`{"app_version":"1"}`:                     "features",
		`{"app_version":"1","features":[],"x":1}`: "x",
		`{"app_version":"1","features":[{"feature":"f","permissions":[{"permission":"sms","trigger":"any"}]}]}`:                                                                            "features[0].permissions[0].permission",
		`{"app_version":"1","features":[{"feature":"f","permissions":[{"permission":"camera","trigger":"always"}]}]}`:                                                                      "features[0].permissions[0].trigger",
		`{"app_version":"1","features":[{"feature":"f","permissions":[{"permission":"camera","trigger":"programmatic"}]}]}`:                                                                "features[0].permissions[0].trigger",
		`{"app_version":"1","features":[{"feature":"f","permissions":[{"permission":"camera","trigger":"any","why":"x"}]}]}`:                                                               "features[0].permissions[0].why",
		`{"app_version":"1","features":[{"feature":"f","permissions":[]}]}`:                                                                                                                "features[0].permissions",
		`{"app_version":"1","features":[{"feature":"","permissions":[{"permission":"camera","trigger":"any"}]}]}`:                                                                          "features[0].feature",
		`{"app_version":"1","features":[{"feature":"f","permissions":[{"permission":"camera","trigger":"any"},{"permission":"camera","trigger":"user_gesture"}]}]}`:                        "features[0].permissions[1].permission",
		`{"app_version":"1","features":[{"feature":"f","permissions":[{"permission":"camera","trigger":"any"}]},{"feature":"f","permissions":[{"permission":"photos","trigger":"any"}]}]}`: "features[1].feature",
		`{"app_version":" 1","features":[]}`:  "app_version",
		`{"app_version":"1\n","features":[]}`: "app_version",
		`{"app_version":1,"features":[]}`:     "app_version",
	} {
		_, err := clientperm.DecodeManifest([]byte(body))
		var we *warden.Error
		if err == nil {
			t.Errorf("%s: accepted", body)
			continue
		}
		if e, ok := err.(*warden.Error); ok {
			we = e
		}
		if we == nil || we.Code != warden.EINVALID || we.Field != field {
			t.Errorf("%s: %#v, want invalid naming %s", body, err, field)
		}
	}
	for _, body := range []string{``, `[]`, `{"app_version":"1","features":[]} {}`, `{"app_version":"1","app_version":"2","features":[]}`} {
		if _, err := clientperm.DecodeManifest([]byte(body)); warden.ErrorCode(err) != warden.EINVALID {
			t.Errorf("%q: %v", body, err)
		}
	}
	m, err := clientperm.DecodeManifest([]byte(demoManifest))
	if err != nil || m.AppVersion != "5.2.0" || len(m.Features) != 3 || m.Features[2].Permissions[0].Trigger != "any" {
		t.Errorf("%+v %v", m, err)
	}
}

const goodRecord = `{"user":"u1","app_version":"5.2.0","permission":"clipboard.read","feature":"paste_link","trigger":"user_gesture","foreground":true,"count":2,"time":"2026-12-06T10:00:00Z"}`

func TestDecodeRecords(t *testing.T) {
	recs, err := clientperm.DecodeRecords([]byte(`{"records":[`+goodRecord+`]}`), now)
	if err != nil || len(recs) != 1 || recs[0].Count != 2 || !recs[0].Foreground || recs[0].Time.Hour() != 10 {
		t.Fatalf("%+v %v", recs, err)
	}
	bad := func(old, new string) string {
		return `{"records":[` + goodRecord + `,` + strings.Replace(goodRecord, old, new, 1) + `]}`
	}
	for body, field := range map[string]string{
		`{}`:                            "records",
		`{"records":[],"extra":1}`:      "extra",
		bad(`"user":"u1"`, `"user":""`): "records[1].user",
		bad(`"app_version":"5.2.0"`, `"app_version":""`):    "records[1].app_version",
		bad(`"clipboard.read"`, `"clipboard.write"`):        "records[1].permission",
		bad(`"paste_link"`, `""`):                           "records[1].feature",
		bad(`"user_gesture"`, `"any"`):                      "records[1].trigger",
		bad(`"foreground":true,`, ``):                       "records[1].foreground",
		bad(`"count":2,`, ``):                               "records[1].count",
		bad(`"count":2`, `"count":0`):                       "records[1].count",
		bad(`"count":2`, `"count":-3`):                      "records[1].count",
		bad(`"count":2`, `"count":1000001`):                 "records[1].count",
		bad(`"count":2`, `"count":"2"`):                     "records[1].count",
		bad(`,"time":"2026-12-06T10:00:00Z"`, ``):           "records[1].time",
		bad(`2026-12-06T10:00:00Z`, `2026-12-06T15:00:00Z`): "records[1].time",
		bad(`2026-12-06T10:00:00Z`, `yesterday`):            "records[1].time",
		bad(`"count":2`, `"count":2,"content":"secret"`):    "records[1].content",
		bad(`"foreground":true`, `"foreground":"yes"`):      "records[1].foreground",
	} {
		_, err := clientperm.DecodeRecords([]byte(body), now)
		e, ok := err.(*warden.Error)
		if !ok || e.Code != warden.EINVALID || e.Field != field {
			t.Errorf("%s: %#v, want invalid naming %s", body, err, field)
		}
	}
}

func TestDecodeRecordsRefusesOversizeBatch(t *testing.T) {
	for _, n := range []int{clientperm.MaxRecords, clientperm.MaxRecords + 1} {
		body := `{"records":[` + strings.TrimSuffix(strings.Repeat(goodRecord+",", n), ",") + `]}`
		recs, err := clientperm.DecodeRecords([]byte(body), now)
		switch {
		case n <= clientperm.MaxRecords && (err != nil || len(recs) != n):
			t.Errorf("%d records: %d, %v", n, len(recs), err)
		case n > clientperm.MaxRecords:
			e, ok := err.(*warden.Error)
			if !ok || e.Code != warden.ETOOLARGE || e.Field != "records" || !strings.Contains(e.Message, fmt.Sprint(clientperm.MaxRecords)) {
				t.Errorf("%d records: %#v, want too large naming the limit", n, err)
			}
		}
	}
}

// FuzzDecodeManifest: the decoder never panics, and what it accepts is a
// manifest of known permissions and triggers, each feature once.
func FuzzDecodeManifest(f *testing.F) {
	for _, s := range []string{demoManifest, `{"app_version":"1","features":[]}`, `{}`, `{"app_version":"1","features":[{"feature":"f","permissions":[{"permission":"camera","trigger":"any"}]}]}`,
		`{"app_version":"1","features":[{"feature":"f","permissions":[{"permission":"sms","trigger":"any"}]}]}`, `{"app_version":"\u0000"}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := clientperm.DecodeManifest(b)
		if err != nil {
			if warden.ErrorCode(err) == warden.EINTERNAL {
				t.Errorf("not a client error: %v", err)
			}
			return
		}
		if m.AppVersion == "" || m.Features == nil {
			t.Errorf("accepted %+v", m)
		}
		seen := map[string]bool{}
		for _, ft := range m.Features {
			if seen[ft.Feature] || len(ft.Permissions) == 0 {
				t.Errorf("accepted %+v", m)
			}
			seen[ft.Feature] = true
			for _, u := range ft.Permissions {
				if !slices.Contains(clientperm.Permissions, u.Permission) || (u.Trigger != "any" && u.Trigger != "user_gesture") {
					t.Errorf("accepted use %+v", u)
				}
			}
		}
	})
}

// FuzzDecodeRecords: the decoder never panics, and what it accepts has
// every field in range.
func FuzzDecodeRecords(f *testing.F) {
	for _, s := range []string{`{"records":[` + goodRecord + `]}`, `{"records":[]}`, `{}`, `{"records":[{}]}`, `{"records":null}`,
		`{"records":[` + strings.Replace(goodRecord, `"count":2`, `"count":1e9`, 1) + `]}`, `{"records":[` + strings.Replace(goodRecord, `"foreground":true`, `"foreground":null`, 1) + `]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := clientperm.DecodeRecords(b, now)
		if err != nil {
			if warden.ErrorCode(err) == warden.EINTERNAL {
				t.Errorf("not a client error: %v", err)
			}
			if recs != nil {
				t.Errorf("refused batch returned records")
			}
			return
		}
		if len(recs) > clientperm.MaxRecords {
			t.Errorf("%d records", len(recs))
		}
		for _, r := range recs {
			if r.User == "" || r.AppVersion == "" || r.Feature == "" || r.Count < 1 || r.Count > clientperm.MaxCount || r.Time.After(now.Add(time.Hour)) ||
				!slices.Contains(clientperm.Permissions, r.Permission) || (r.Trigger != "programmatic" && r.Trigger != "user_gesture") {
				t.Errorf("accepted %+v", r)
			}
		}
	})
}
