package demo

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// A simulated moderator takes the campaign at the head of the queue and
// bans every member in one decision.
func TestModeratorBansACampaignInOneDecision(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	ctx := context.Background()
	svc, err := incident.New(ctx, incident.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var caseID string
	for i := range 12 {
		ev := warden.Event{ID: fmt.Sprint(i), Type: "like", Actor: fmt.Sprintf("c%d", i), Target: "post1", Time: now}
		c, _, err := svc.Detect(ctx, incident.Detection{Subject: incident.SubjectRef{Kind: warden.TargetAccount, ID: ev.Actor},
			Category: warden.CategoryFakeProfile, Rule: "lockstep_detector", Reason: "acting in lockstep with 12 accounts", Case: warden.CaseLockstep, Event: &ev})
		if err != nil {
			t.Fatal(err)
		}
		caseID = c.ID
	}
	mods := []*warden.Principal{{ID: "u1", Name: "ada", Role: warden.RoleModerator, Kind: "user"}, {ID: "u2", Name: "ben", Role: warden.RoleModerator, Kind: "user"}}
	if err := step(ctx, svc, mods[0], mods[1], mrand.New(mrand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	view, err := svc.Case(ctx, caseID)
	if err != nil || view.Case.ClosedAt == 0 {
		t.Fatalf("campaign not decided: %v", err)
	}
	for i := range 12 {
		if r, ok := svc.Labels().Restriction(fmt.Sprintf("c%d", i)); !ok || r.Measure != "banned" {
			if st, _ := svc.Standing(ctx, fmt.Sprintf("c%d", i)); st.Restriction == nil || st.History[0].ReversedAt == 0 {
				t.Fatalf("member c%d is not banned (and no appeal reversed it): %+v", i, r)
			}
		}
	}
}
