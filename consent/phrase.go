package consent

import (
	"fmt"
	"regexp"
	"strconv"
)

// Phrase is one item of what changed, as data: ID names the sentence and
// the fields fill it in. The API's what_changed is its English rendering
// (English); the center page renders the same phrases in the user's
// language from its own message files.
type Phrase struct {
	ID      string // one of the Phrase* constants
	Kind    string // a document kind (PhraseFirstVersion, PhraseNotAccepted)
	Region  string // a region or AnyRegion (PhraseFirstVersion)
	Value   string // the added or removed item, the newly stated value
	From    string // the value before (…Changed, …Unstated)
	To      string // the value after (…Changed)
	Version string // PhraseDeclined
	Date    string // PhraseDeclined, YYYY-MM-DD
	Count   int    // lines changed (PhraseTextEdited, PhraseTextOnly)
}

// Phrase IDs. The declaration phrases are "<declaration>_added",
// "_removed" for lists and "_changed", "_stated", "_unstated" for single
// values.
const (
	PhraseFirstVersion = "first_version"
	PhraseTextEdited   = "text_edited"      // the wording changed too
	PhraseTextOnly     = "text_edited_only" // only the wording changed
	PhraseNoChange     = "no_change"
	PhraseDeclined     = "declined"
	PhraseNotAccepted  = "not_accepted"
)

// PhraseIDs lists every phrase ID, for message files to cover.
var PhraseIDs = []string{
	PhraseFirstVersion, PhraseTextEdited, PhraseTextOnly, PhraseNoChange, PhraseDeclined, PhraseNotAccepted,
	"purpose_added", "purpose_removed", "data_category_added", "data_category_removed", "recipient_added", "recipient_removed",
	"retention_changed", "retention_stated", "retention_unstated",
	"controller_changed", "controller_stated", "controller_unstated",
	"contact_changed", "contact_stated", "contact_unstated",
}

// English renders p the way the API's what_changed says it.
func (p Phrase) English() string {
	switch p.ID {
	case PhraseFirstVersion:
		return fmt.Sprintf("first version of the %s for %s", kindWords(p.Kind), regionWords(p.Region))
	case PhraseTextEdited:
		return fmt.Sprintf("wording edited (%d %s changed)", p.Count, plural(p.Count, "line", "lines"))
	case PhraseTextOnly:
		return fmt.Sprintf("wording edited (%d %s changed); nothing you agreed to changed", p.Count, plural(p.Count, "line", "lines"))
	case PhraseNoChange:
		return "no change to the text or to what you agreed to"
	case PhraseDeclined:
		return fmt.Sprintf("you declined version %s on %s", p.Version, p.Date)
	case PhraseNotAccepted:
		return fmt.Sprintf("you have not accepted the %s yet", kindWords(p.Kind))
	}
	for _, d := range phraseNouns {
		switch p.ID {
		case d.id + "_added":
			return fmt.Sprintf("added %s %q", d.noun, p.Value)
		case d.id + "_removed":
			return fmt.Sprintf("removed %s %q", d.noun, p.Value)
		case d.id + "_stated":
			return fmt.Sprintf("%s now stated: %s", d.noun, p.Value)
		case d.id + "_unstated":
			return fmt.Sprintf("%s no longer stated (was %s)", d.noun, p.From)
		case d.id + "_changed":
			return fmt.Sprintf("%s %s → %s", d.noun, p.From, p.To)
		}
	}
	return p.ID
}

var phraseNouns = []struct{ id, noun string }{
	{"purpose", "purpose"}, {"data_category", "data category"}, {"recipient", "recipient"},
	{"retention", "retention"}, {"controller", "controller"}, {"contact", "contact"},
}

// English renders phrases in English.
func English(ps []Phrase) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.English()
	}
	return out
}

// editedLines finds the count of lines in a stored English text-edit
// phrase (versions store what_changed in English, not the phrases).
var editedLines = regexp.MustCompile(`^wording edited \((\d+) lines? changed\)`)

func storedLineCount(words []string) int {
	for _, w := range words {
		if m := editedLines.FindStringSubmatch(w); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	return 0
}
