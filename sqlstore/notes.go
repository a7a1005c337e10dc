package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/survey"
)

type noteRow struct {
	Wave       string `db:"wave"`
	Ref        string `db:"ref"`
	Region     string `db:"region"`
	Segment    string `db:"segment"`
	Themes     string `db:"themes"`
	Experience string `db:"experience"`
	Quote      string `db:"quote"`
}

func (r noteRow) note() survey.Note {
	return survey.Note{Wave: r.Wave, Ref: r.Ref, Region: r.Region, Segment: r.Segment, Themes: strings.Split(r.Themes, ";"),
		Experience: r.Experience, Quote: r.Quote}
}

// NotesSaved says what SaveNotes did.
type NotesSaved struct {
	// Added notes are new; Unchanged ones were stored already, the same.
	Added     int `json:"added"`
	Unchanged int `json:"unchanged"`
}

// SaveNotes stores validated notes of wave in one transaction: all of them
// or, on any error, none. A note whose ref the wave has already is left
// as it is when it is the same (an import run twice adds nothing) and an
// ECONFLICT naming the ref when it differs. A wave not imported is an
// ENOTFOUND.
func (db *DB) SaveNotes(ctx context.Context, wave string, notes []survey.Note) (NotesSaved, error) {
	var res NotesSaved
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return res, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM survey_waves WHERE name = $1`, wave); err != nil {
		return res, err
	}
	if n == 0 {
		return res, warden.Errorf(warden.ENOTFOUND, "no wave %q is imported; import the wave before its notes", wave)
	}
	var stored []noteRow
	if err := tx.SelectContext(ctx, &stored, `SELECT wave, ref, region, segment, themes, experience, quote FROM survey_notes WHERE wave = $1`, wave); err != nil {
		return res, err
	}
	byRef := make(map[string]survey.Note, len(stored))
	for _, r := range stored {
		byRef[r.Ref] = r.note()
	}
	now := Now()
	for i, note := range notes {
		if note.Wave != wave {
			return res, warden.FieldErrorf(fmt.Sprintf("notes[%d].wave", i), "note %q is of wave %q, not %q", note.Ref, note.Wave, wave)
		}
		if old, ok := byRef[note.Ref]; ok {
			if old.Region == note.Region && old.Segment == note.Segment && slices.Equal(old.Themes, note.Themes) &&
				old.Experience == note.Experience && old.Quote == note.Quote {
				res.Unchanged++
				continue
			}
			return NotesSaved{}, &warden.Error{Code: warden.ECONFLICT, Field: fmt.Sprintf("notes[%d].ref", i),
				Message: fmt.Sprintf("wave %s has a different note %q already; delete it first or give the new note another ref (nothing was imported)", wave, note.Ref)}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO survey_notes (wave, ref, region, segment, themes, experience, quote, imported_us)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			wave, note.Ref, note.Region, note.Segment, strings.Join(note.Themes, ";"), note.Experience, note.Quote, now); err != nil {
			return NotesSaved{}, err
		}
		byRef[note.Ref] = note
		res.Added++
	}
	return res, tx.Commit()
}

// Notes lists the notes of wave (every wave's when wave is ""), by wave,
// region and ref.
func (db *DB) Notes(ctx context.Context, wave string) ([]survey.Note, error) {
	var rows []noteRow
	err := db.Reader.SelectContext(ctx, &rows, `SELECT wave, ref, region, segment, themes, experience, quote FROM survey_notes
		WHERE wave = $1 OR $1 = '' ORDER BY wave, region, ref`, wave)
	if err != nil {
		return nil, err
	}
	out := make([]survey.Note, len(rows))
	for i, r := range rows {
		out[i] = r.note()
	}
	return out, nil
}

// DeleteNotes erases the note ref of wave, or with ref "" all of the
// wave's notes, and returns how many it erased; none is an ENOTFOUND.
func (db *DB) DeleteNotes(ctx context.Context, wave, ref string) (int, error) {
	res, err := db.ExecContext(ctx, `DELETE FROM survey_notes WHERE wave = $1 AND (ref = $2 OR $2 = '')`, wave, ref)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if n == 0 {
		if ref != "" {
			return 0, warden.Errorf(warden.ENOTFOUND, "wave %q has no note %q", wave, ref)
		}
		return 0, warden.Errorf(warden.ENOTFOUND, "wave %q has no notes", wave)
	}
	return int(n), nil
}
