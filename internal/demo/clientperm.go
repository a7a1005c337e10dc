package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/wardenhq/warden/clientperm"
)

// ClientAppVersion is the demo app version whose sensitive reads the demo
// reports.
const ClientAppVersion = "demo-app 4.1.0"

// ClientManifest declares the demo app version's uses: paste_link reads
// the clipboard and scan_qr the camera, each only after a gesture, and
// share_location may read the location, a capability the demo client never
// uses (the report lists it as inactive).
var ClientManifest = clientperm.Manifest{AppVersion: ClientAppVersion, Features: []clientperm.Feature{
	{Feature: "paste_link", Permissions: []clientperm.Use{{Permission: clientperm.Clipboard, Trigger: clientperm.TriggerUserGesture}}},
	{Feature: "scan_qr", Permissions: []clientperm.Use{{Permission: clientperm.Camera, Trigger: clientperm.TriggerUserGesture}}},
	{Feature: "share_location", Permissions: []clientperm.Use{{Permission: clientperm.Location, Trigger: clientperm.TriggerAny}}},
}}

// ClientUndeclaredFeature is the demo client's feature that reads the
// clipboard without a gesture, on every few keystrokes of a search, and
// that the manifest does not declare.
const ClientUndeclaredFeature = "search_suggest"

// ClientPermissions puts the demo manifest and, once per store, a day of
// the demo client's sensitive reads for user and nine other users: pastes
// and QR scans after a tap, and search_suggest's clipboard reads with no
// gesture, 40 in a minute while user types. The report flags them
// (undeclared, rate) and lists share_location as inactive; user's safety
// and privacy center shows them.
func ClientPermissions(ctx context.Context, svc *clientperm.Service, user string, now time.Time) error {
	if _, err := svc.PutManifest(ctx, nil, ClientManifest); err != nil {
		return err
	}
	rep, err := svc.Report(ctx, ClientAppVersion, clientperm.MaxDays)
	if err != nil {
		return err
	}
	if rep.Reads > 0 {
		return nil // reported on an earlier start
	}
	at := now.UTC().Add(-3 * time.Hour).Truncate(time.Minute)
	var recs []clientperm.Record
	add := func(u, perm, feature, trigger string, n int, t time.Time) {
		recs = append(recs, clientperm.Record{User: u, AppVersion: ClientAppVersion, Permission: perm, Feature: feature,
			Trigger: trigger, Foreground: true, Count: n, Time: t})
	}
	for i := range 10 {
		u := user
		if i > 0 {
			u = fmt.Sprintf("demo-app-user-%d", i)
		}
		for k := range 3 {
			add(u, clientperm.Clipboard, "paste_link", clientperm.TriggerUserGesture, 1, at.Add(-time.Duration(i*40+k*7)*time.Minute))
		}
		add(u, clientperm.Camera, "scan_qr", clientperm.TriggerUserGesture, 1, at.Add(-time.Duration(i*30)*time.Minute))
	}
	// The clipboard read on every fifth keystroke of a search: one
	// record every 1.5 s for a minute.
	for k := range 40 {
		add(user, clientperm.Clipboard, ClientUndeclaredFeature, clientperm.TriggerProgrammatic, 1, at.Add(time.Duration(k)*1500*time.Millisecond))
	}
	_, err = svc.Record(ctx, recs)
	return err
}
