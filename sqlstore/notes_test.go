package sqlstore_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/messaging"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
	"github.com/wardenhq/warden/survey"
)

// TestNotesStore, on both databases: notes of a wave are stored all or
// none; the same import again adds nothing; a different note under a
// stored ref is a conflict and stores nothing; notes of a wave not
// imported are refused; a note and then a wave's notes are erased.
func TestNotesStore(t *testing.T) {
	cb, err := survey.ParseCodebook([]byte(storeCodebook))
	if err != nil {
		t.Fatal(err)
	}
	w, err := survey.ParseWave("2026-Q3", cb, strings.NewReader("region,pid,w,trust,privacy,age\nJP,a,1,2,3,young\nID,b,1,5,4,old\n"), []byte("a salt of at least thirty-two bytes"))
	if err != nil {
		t.Fatal(err)
	}
	notes, err := survey.ParseNotes(w, survey.DefaultThemes(), strings.NewReader("ref,region,segment,themes,quote,experience\n"+
		"JP-1,JP,low,privacy;control,I do not know who reads my messages.,exposed_to_actioned=yes\n"+
		"ID-1,ID,high,scams,The fake shop was gone in a day.,\n"))
	if err != nil {
		t.Fatal(err)
	}
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		if _, err := db.SaveNotes(ctx, w.Name, notes); warden.ErrorCode(err) != warden.ENOTFOUND {
			t.Fatalf("no wave: %v", err)
		}
		if err := db.SaveWave(ctx, w); err != nil {
			t.Fatal(err)
		}
		if res, err := db.SaveNotes(ctx, w.Name, notes); err != nil || res.Added != 2 {
			t.Fatalf("%+v %v", res, err)
		}
		got, err := db.Notes(ctx, w.Name)
		if err != nil {
			t.Fatal(err)
		}
		if want := []survey.Note{notes[1], notes[0]}; !reflect.DeepEqual(got, want) {
			t.Fatalf("stored %+v\nwant %+v", got, want)
		}
		if res, err := db.SaveNotes(ctx, w.Name, notes); err != nil || res.Added != 0 || res.Unchanged != 2 {
			t.Fatalf("again: %+v %v", res, err)
		}
		fresh := survey.Note{Wave: w.Name, Ref: "ID-2", Region: "ID", Segment: "medium", Themes: []string{"bots"}, Quote: "Fewer bots."}
		changed := notes[0]
		changed.Quote = "Another text."
		if _, err := db.SaveNotes(ctx, w.Name, []survey.Note{fresh, changed}); warden.ErrorCode(err) != warden.ECONFLICT {
			t.Fatalf("changed: %v", err)
		}
		if got, _ := db.Notes(ctx, ""); len(got) != 2 {
			t.Fatalf("a refused import stored %d notes", len(got)-2)
		}
		if n, err := db.DeleteNotes(ctx, w.Name, "JP-1"); err != nil || n != 1 {
			t.Fatalf("delete: %d %v", n, err)
		}
		if _, err := db.DeleteNotes(ctx, w.Name, "JP-1"); warden.ErrorCode(err) != warden.ENOTFOUND {
			t.Fatalf("delete again: %v", err)
		}
		if n, err := db.DeleteNotes(ctx, w.Name, ""); err != nil || n != 1 {
			t.Fatalf("delete wave's: %d %v", n, err)
		}
		if got, _ := db.Notes(ctx, ""); len(got) != 0 {
			t.Fatalf("left %+v", got)
		}
	})
}

// TestMessageExperimentStore, on both databases: an experiment comes back
// as it was put; a second put replaces it and is not new.
func TestMessageExperimentStore(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := messaging.Defaults()[0]
		if created, err := db.SaveMessageExperiment(ctx, e, "ada"); err != nil || !created {
			t.Fatalf("%v %v", created, err)
		}
		e.Seed, e.Stopped = 42, true
		if created, err := db.SaveMessageExperiment(ctx, e, "ada"); err != nil || created {
			t.Fatalf("replace: %v %v", created, err)
		}
		got, err := db.MessageExperiments(ctx)
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], e) {
			t.Fatalf("%+v %v", got, err)
		}
	})
}
