package clientperm

import (
	"reflect"
	"testing"
	"time"
)

// FuzzDecodeRecordsPaths: whatever the fast path accepts, the slow path
// (warden.DecodeStrict, record by record) accepts too, with the same
// records, so the fast path never lets through what every other decoder
// would refuse.
func FuzzDecodeRecordsPaths(f *testing.F) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	rec := `{"user":"u1","app_version":"5.2.0","permission":"clipboard.read","feature":"paste_link","trigger":"user_gesture","foreground":true,"count":2,"time":"2026-12-06T10:00:00Z"}`
	for _, s := range []string{`{"records":[` + rec + `]}`, `{"records":[` + rec + `,` + rec + `]}`, `{"records":[]}`, `{"Records":[]}`,
		`{"records":[{"User":"u1"}]}`, `{"records":[` + rec[:len(rec)-1] + `,"count":3}]}`, `{"records":[` + rec + `]} `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ferr := DecodeRecords(b, now)
		slow, serr := decodeRecordsEach(b, now)
		if ferr == nil && (serr != nil || !reflect.DeepEqual(fast, slow)) {
			t.Errorf("fast path accepted %q as %+v; slow path: %+v %v", b, fast, slow, serr)
		}
	})
}
