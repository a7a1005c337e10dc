package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/insights"
	"github.com/wardenhq/warden/messaging"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/survey"
)

// NotesStore is what the notes page reads: the survey waves and their
// interview notes.
type NotesStore interface {
	Waves(ctx context.Context) ([]sqlstore.WaveInfo, error)
	Wave(ctx context.Context, name string) (*survey.Wave, error)
	Notes(ctx context.Context, wave string) ([]survey.Note, error)
}

// NotesOptions are what the notes page needs.
type NotesOptions struct {
	Store    NotesStore
	Messages *messaging.Service
}

// MountNotes adds the admins' page of a survey wave's interview notes
// (GET /insights/notes?wave=), grouped by region and theme beside the
// region's trust index and interval, and the wave's results of the
// regional messaging experiments; linked as "Trust notes".
func (c *Console) MountNotes(opt NotesOptions) {
	c.Page("GET /insights/notes", []string{warden.RoleAdmin}, func(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
		return c.notes(w, r, opt)
	})
	c.Nav("Trust notes", "/insights/notes", warden.RoleAdmin)
}

type notesData struct {
	Waves   []string
	Wave    string
	Regions []notesRegion
	Results []messaging.Results
	Notes   int
	Error   string
}

// notesRegion is one region's trust figures and notes by theme.
type notesRegion struct {
	Region string
	Top2   string // "41.2 % (34.0–48.5 %)"
	Mean   string
	N      int
	// Segments is the share of the region's respondents in each trust
	// segment, low first ("low 35 %").
	Segments []string
	Themes   []themeNotes
}

type themeNotes struct {
	Theme string
	Notes []survey.Note
}

func (c *Console) notes(w http.ResponseWriter, r *http.Request, opt NotesOptions) error {
	ctx := r.Context()
	infos, err := opt.Store.Waves(ctx)
	if err != nil {
		return err
	}
	d := notesData{Wave: r.URL.Query().Get("wave")}
	for _, wi := range infos {
		d.Waves = append(d.Waves, wi.Name)
	}
	if len(d.Waves) == 0 {
		return c.Render(w, r, "insights_notes.html", d)
	}
	if d.Wave == "" {
		d.Wave = d.Waves[len(d.Waves)-1]
	}
	if !slices.Contains(d.Waves, d.Wave) {
		d.Error = fmt.Sprintf("No wave %q is imported; pick one of the list.", d.Wave)
		d.Wave = ""
		return c.RenderStatus(w, r, http.StatusNotFound, "insights_notes.html", d)
	}
	wave, err := opt.Store.Wave(ctx, d.Wave)
	if err != nil {
		return err
	}
	notes, err := opt.Store.Notes(ctx, d.Wave)
	if err != nil {
		return err
	}
	d.Notes = len(notes)
	idx := survey.RegionTrustIndexes(wave)
	regions := make([]string, 0, len(idx))
	for reg := range idx {
		regions = append(regions, reg)
	}
	slices.Sort(regions)
	for _, reg := range regions {
		ti := idx[reg]
		nr := notesRegion{Region: reg, N: ti.N, Top2: percentWithInterval(ti.TopBox), Mean: fmt.Sprintf("%.2f (%.2f–%.2f)", ti.Mean.Value, ti.Mean.Low, ti.Mean.High)}
		shares := survey.SegmentShares(wave, reg)
		for _, seg := range survey.Segments {
			nr.Segments = append(nr.Segments, fmt.Sprintf("%s %.0f %%", seg, 100*shares[seg]))
		}
		byTheme := map[string][]survey.Note{}
		for _, n := range notes {
			if n.Region != reg {
				continue
			}
			for _, t := range n.Themes {
				byTheme[t] = append(byTheme[t], n)
			}
		}
		themes := make([]string, 0, len(byTheme))
		for t := range byTheme {
			themes = append(themes, t)
		}
		slices.Sort(themes)
		for _, t := range themes {
			nr.Themes = append(nr.Themes, themeNotes{Theme: t, Notes: byTheme[t]})
		}
		d.Regions = append(d.Regions, nr)
	}
	if d.Results, err = opt.Messages.Results(ctx, wave, ""); err != nil {
		return err
	}
	return c.Render(w, r, "insights_notes.html", d)
}

func percentWithInterval(e insights.Estimate) string {
	return fmt.Sprintf("%.1f %% (%.1f–%.1f %%)", 100*e.Value, 100*e.Low, 100*e.High)
}
