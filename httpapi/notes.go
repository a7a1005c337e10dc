package httpapi

import (
	"bytes"
	"context"
	"mime"
	"net/http"
	"slices"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/survey"
)

// NotesStore keeps interview notes beside the waves they explain.
type NotesStore interface {
	Wave(ctx context.Context, name string) (*survey.Wave, error)
	SaveNotes(ctx context.Context, wave string, notes []survey.Note) (sqlstore.NotesSaved, error)
	Notes(ctx context.Context, wave string) ([]survey.Note, error)
	DeleteNotes(ctx context.Context, wave, ref string) (int, error)
}

// maxNotesBody bounds an import: MaxNotes notes of MaxQuoteRunes
// characters, with room for their tags.
const maxNotesBody = 16 << 20

const noteSchema = `{"type":"object","required":["ref","region","segment","themes","quote"],"properties":{"wave":{"type":"string"},"ref":{"type":"string"},
"region":{"type":"string","description":"ISO 3166-1 alpha-2, a region of the wave"},"segment":{"enum":["low","medium","high"]},
"themes":{"type":"array","items":{"type":"string"},"description":"1 to 5 themes of the controlled vocabulary"},
"experience":{"type":"string","description":"GROUP=LEVEL, a split of by_experience"},"quote":{"type":"string","maxLength":1000}}}`

// RegisterNotes adds the interview-note calls of CONTRACT §9: import
// (checked against the wave and themes, refused whole on any error),
// list and erase.
func RegisterNotes(s *Server, st NotesStore, themes *survey.Vocabulary) {
	h := &notesAPI{st: st, themes: themes}
	s.Schema("Note", noteSchema)
	note := `{"$ref":"#/components/schemas/Note"}`
	admin := []string{warden.RoleAdmin}
	s.Route(RouteSpec{Pattern: "POST /v1/insights/notes", Roles: admin, Status: http.StatusCreated,
		Summary:  "Import interview notes of a wave: paraphrased quotes tagged by themes of the controlled vocabulary, region, trust segment and optionally a platform-experience split. JSON {\"wave\", \"notes\": [...]}, or a CSV file (Content-Type text/csv, ?wave=) with the columns ref, region, segment, themes (separated by ;), quote and optionally experience. Any bad note (the error names notes[i].field, or the row and column) or a quote that appears to carry personal data (e-mail, phone number, link or web address, @handle, a number of six or more digits) refuses the whole import. A ref stored already is skipped when the note is the same and a conflict when it differs.",
		Request:  []byte(`{"type":"object","additionalProperties":false,"required":["wave","notes"],"properties":{"wave":{"type":"string"},"notes":{"type":"array","items":` + note + `}}}`),
		Response: []byte(`{"type":"object","properties":{"wave":{"type":"string"},"added":{"type":"integer"},"unchanged":{"type":"integer"}}}`)}, h.importNotes)
	s.Route(RouteSpec{Pattern: "GET /v1/insights/notes", Roles: admin,
		Summary:  "The interview notes of a wave (?wave=, default every wave), optionally of one region (?region=) or theme (?theme=), by wave, region and ref.",
		Response: []byte(`{"type":"object","properties":{"notes":{"type":"array","items":` + note + `}}}`)}, h.list)
	s.Route(RouteSpec{Pattern: "DELETE /v1/insights/notes/{wave}", Roles: admin,
		Summary:  "Erase every interview note of a wave (404 when it has none).",
		Response: []byte(`{"type":"object","properties":{"deleted":{"type":"integer"}}}`)}, h.erase)
	s.Route(RouteSpec{Pattern: "DELETE /v1/insights/notes/{wave}/{ref}", Roles: admin,
		Summary:  "Erase one interview note (404 when there is none).",
		Response: []byte(`{"type":"object","properties":{"deleted":{"type":"integer"}}}`)}, h.erase)
}

type notesAPI struct {
	st     NotesStore
	themes *survey.Vocabulary
}

func (h *notesAPI) importNotes(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	body, err := ReadBody(r, maxNotesBody)
	if err != nil {
		return err
	}
	var wave *survey.Wave
	var notes []survey.Note
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "text/csv" {
		if wave, err = h.wave(r.Context(), r.URL.Query().Get("wave")); err != nil {
			return err
		}
		if notes, err = survey.ParseNotes(wave, h.themes, bytes.NewReader(body)); err != nil {
			return err
		}
	} else {
		var b survey.NotesBody
		if err := warden.DecodeStrict(body, &b); err != nil {
			return err
		}
		if wave, err = h.wave(r.Context(), b.Wave); err != nil {
			return err
		}
		if notes, err = survey.CheckNotes(wave, h.themes, b.Notes); err != nil {
			return err
		}
	}
	res, err := h.st.SaveNotes(r.Context(), wave.Name, notes)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, map[string]any{"wave": wave.Name, "added": res.Added, "unchanged": res.Unchanged})
}

// wave loads the named wave the notes are for.
func (h *notesAPI) wave(ctx context.Context, name string) (*survey.Wave, error) {
	if name == "" {
		return nil, warden.FieldErrorf("wave", "name the wave the notes explain")
	}
	if err := survey.CheckWaveName(name); err != nil {
		return nil, err
	}
	return h.st.Wave(ctx, name)
}

func (h *notesAPI) list(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	q := r.URL.Query()
	wave, region, theme := q.Get("wave"), q.Get("region"), q.Get("theme")
	if wave != "" {
		if err := survey.CheckWaveName(wave); err != nil {
			return err
		}
	}
	if region != "" {
		var err error
		if region, err = survey.Region(region); err != nil {
			return warden.FieldErrorf("region", "%s", err)
		}
	}
	if theme != "" && !h.themes.Has(theme) {
		return warden.FieldErrorf("theme", "%q is not a theme of the vocabulary", theme)
	}
	notes, err := h.st.Notes(r.Context(), wave)
	if err != nil {
		return err
	}
	notes = slices.DeleteFunc(notes, func(n survey.Note) bool {
		return region != "" && n.Region != region || theme != "" && !slices.Contains(n.Themes, theme)
	})
	return WriteJSON(w, http.StatusOK, map[string]any{"notes": notes})
}

func (h *notesAPI) erase(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	n, err := h.st.DeleteNotes(r.Context(), r.PathValue("wave"), r.PathValue("ref"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"deleted": n})
}
