// Package consent keeps versioned policy documents (terms, privacy policy,
// community guidelines) per region, tells a material change (one of the
// ISO/IEC 29184 triggers: purposes, data collected, recipients, retention,
// controller, contact) from a text-only edit, records every user's accept or
// decline, and signs a Kantara Consent Receipt v1.1 for each decision as a
// compact JWS (ES256) with keys kept under the data directory (CONTRACT §7).
package consent

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wardenhq/warden"
)

// Document kinds.
const (
	KindTerms               = "terms"
	KindPrivacyPolicy       = "privacy_policy"
	KindCommunityGuidelines = "community_guidelines"
)

// Kinds lists every document kind.
var Kinds = []string{KindTerms, KindPrivacyPolicy, KindCommunityGuidelines}

// AnyRegion is the region of a document that applies where no regional
// version exists.
const AnyRegion = "*"

// Regions lists the markets a document may be written for, then AnyRegion.
var Regions = append(slices.Clone(warden.Markets), AnyRegion)

// Limits on documents.
const (
	MaxDocumentBody = 1 << 20   // bytes of a POST /v1/documents body
	MaxText         = 512 << 10 // bytes of a document's text
	MaxVersionLen   = 64
	MaxListItems    = 100
	MaxItemLen      = 200
	MaxFieldLen     = 500
)

// Declarations are what a document declares about personal data: the
// fields whose change is material.
type Declarations struct {
	Purposes       []string `json:"purposes"`
	DataCategories []string `json:"data_categories"`
	Recipients     []string `json:"recipients"`
	Retention      string   `json:"retention"`
	Controller     string   `json:"controller"`
	Contact        string   `json:"contact"`
}

// DocumentRequest is the body of POST /v1/documents.
type DocumentRequest struct {
	Kind     string        `json:"kind"`
	Region   string        `json:"region"`
	Version  string        `json:"version"`
	Text     string        `json:"text"`
	Declares *Declarations `json:"declares"`
}

// DecodeDocument decodes and validates a document request strictly
// (unknown fields, wrong types, duplicate keys are refused) and normalises
// it: list items and strings trimmed.
func DecodeDocument(body []byte) (DocumentRequest, error) {
	var r DocumentRequest
	if len(body) > MaxDocumentBody {
		return r, warden.Errorf(warden.ETOOLARGE, "the body is %d bytes; a document may be at most %d", len(body), MaxDocumentBody)
	}
	if err := warden.DecodeStrict(body, &r); err != nil {
		return DocumentRequest{}, err
	}
	if err := r.validate(); err != nil {
		return DocumentRequest{}, err
	}
	return r, nil
}

func (r *DocumentRequest) validate() error {
	if !slices.Contains(Kinds, r.Kind) {
		return warden.FieldErrorf("kind", "kind must be one of %s", strings.Join(Kinds, ", "))
	}
	if !slices.Contains(Regions, r.Region) {
		return warden.FieldErrorf("region", "region must be one of %s (* for every region without its own version)", strings.Join(Regions, ", "))
	}
	r.Version = strings.TrimSpace(r.Version)
	if err := checkLine("version", r.Version, MaxVersionLen, true); err != nil {
		return err
	}
	if strings.TrimSpace(r.Text) == "" {
		return warden.FieldErrorf("text", "text is required: the document as the user reads it")
	}
	if len(r.Text) > MaxText {
		return warden.FieldErrorf("text", "text is %d bytes; the limit is %d", len(r.Text), MaxText)
	}
	if strings.ContainsRune(r.Text, 0) {
		return warden.FieldErrorf("text", "text contains a NUL character")
	}
	if r.Declares == nil {
		return warden.FieldErrorf("declares", "declares is required: {\"purposes\", \"data_categories\", \"recipients\", \"retention\", \"controller\", \"contact\"}")
	}
	return r.Declares.normalise("declares.")
}

func (d *Declarations) normalise(prefix string) error {
	lists := []struct {
		name string
		v    *[]string
	}{{"purposes", &d.Purposes}, {"data_categories", &d.DataCategories}, {"recipients", &d.Recipients}}
	for _, l := range lists {
		if len(*l.v) > MaxListItems {
			return warden.FieldErrorf(prefix+l.name, "%s has %d items; at most %d", l.name, len(*l.v), MaxListItems)
		}
		seen := map[string]int{}
		out := make([]string, 0, len(*l.v))
		for i, s := range *l.v {
			s = strings.TrimSpace(s)
			field := fmt.Sprintf("%s%s[%d]", prefix, l.name, i)
			if err := checkLine(field, s, MaxItemLen, true); err != nil {
				return err
			}
			if j, dup := seen[strings.ToLower(s)]; dup {
				return warden.FieldErrorf(field, "%s repeats %s[%d] (%q)", field, l.name, j, s)
			}
			seen[strings.ToLower(s)] = i
			out = append(out, s)
		}
		*l.v = out
	}
	for _, f := range []struct {
		name     string
		v        *string
		required bool
	}{{"retention", &d.Retention, false}, {"controller", &d.Controller, true}, {"contact", &d.Contact, true}} {
		*f.v = strings.TrimSpace(*f.v)
		if err := checkLine(prefix+f.name, *f.v, MaxFieldLen, f.required); err != nil {
			return err
		}
	}
	return nil
}

// checkLine refuses an empty required value, one over max bytes, and one
// with control characters (a declaration is one line a person reads).
func checkLine(field, s string, max int, required bool) error {
	switch {
	case s == "" && required:
		return warden.FieldErrorf(field, "%s is required", field)
	case len(s) > max:
		return warden.FieldErrorf(field, "%s is %d bytes; at most %d", field, len(s), max)
	case !utf8.ValidString(s):
		return warden.FieldErrorf(field, "%s is not valid UTF-8", field)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return warden.FieldErrorf(field, "%s contains a control character (a line break, a tab …): keep it to one line", field)
	}
	return nil
}

// Material-change reasons: the machine words of material_reasons.
const (
	ReasonFirstVersion        = "first_version"
	ReasonPurposeAdded        = "purpose_added"
	ReasonPurposeRemoved      = "purpose_removed"
	ReasonDataCategoryAdded   = "data_category_added"
	ReasonDataCategoryRemoved = "data_category_removed"
	ReasonRecipientAdded      = "recipient_added"
	ReasonRecipientRemoved    = "recipient_removed"
	ReasonRetentionChanged    = "retention_changed"
	ReasonControllerChanged   = "controller_changed"
	ReasonContactChanged      = "contact_changed"
)

// Change is the comparison of a new version with the one before it.
type Change struct {
	Material    bool
	Reasons     []string // machine words, in a fixed order; empty when not material
	WhatChanged []string // the same in words a user reads, then the text edit
	Phrases     []Phrase // WhatChanged as data, for other languages
	Diff        []Edit   // line diff of the text
}

// Compare compares next with prev, the previous version of the same kind
// and region (nil for the first). A change of any declaration is material; a
// change of the text alone is not. List items compare without regard to
// case or order.
func Compare(kind, region string, prev *Declarations, prevText string, next Declarations, nextText string) Change {
	var c Change
	if prev == nil {
		c.Material = true
		c.Reasons = []string{ReasonFirstVersion}
		c.Phrases = []Phrase{{ID: PhraseFirstVersion, Kind: kind, Region: region}}
		c.WhatChanged = English(c.Phrases)
		c.Diff = LineDiff(nil, splitLines(nextText))
		return c
	}
	c.Reasons, c.Phrases = compareDeclarations(*prev, next)
	c.Material = len(c.Reasons) > 0
	c.Diff = LineDiff(splitLines(prevText), splitLines(nextText))
	c.Phrases = append(c.Phrases, textPhrase(c.Material, changedLines(c.Diff))...)
	c.WhatChanged = English(c.Phrases)
	if c.Reasons == nil {
		c.Reasons = []string{}
	}
	return c
}

// textPhrase is what a text edit of n lines adds to what changed.
func textPhrase(material bool, n int) []Phrase {
	switch {
	case n > 0 && material:
		return []Phrase{{ID: PhraseTextEdited, Count: n}}
	case n > 0:
		return []Phrase{{ID: PhraseTextOnly, Count: n}}
	case !material:
		return []Phrase{{ID: PhraseNoChange}}
	}
	return nil
}

// compareDeclarations returns the material reasons and the phrases of the
// changes from prev to next.
func compareDeclarations(prev, next Declarations) (reasons []string, phrases []Phrase) {
	add := func(reason string, p Phrase) {
		if !slices.Contains(reasons, reason) {
			reasons = append(reasons, reason)
		}
		phrases = append(phrases, p)
	}
	lists := []struct {
		id             string
		added, removed string
		a, b           []string
	}{
		{"purpose", ReasonPurposeAdded, ReasonPurposeRemoved, prev.Purposes, next.Purposes},
		{"data_category", ReasonDataCategoryAdded, ReasonDataCategoryRemoved, prev.DataCategories, next.DataCategories},
		{"recipient", ReasonRecipientAdded, ReasonRecipientRemoved, prev.Recipients, next.Recipients},
	}
	for _, l := range lists {
		for _, s := range l.b {
			if !containsFold(l.a, s) {
				add(l.added, Phrase{ID: l.id + "_added", Value: s})
			}
		}
		for _, s := range l.a {
			if !containsFold(l.b, s) {
				add(l.removed, Phrase{ID: l.id + "_removed", Value: s})
			}
		}
	}
	fields := []struct {
		id, reason string
		a, b       string
	}{
		{"retention", ReasonRetentionChanged, prev.Retention, next.Retention},
		{"controller", ReasonControllerChanged, prev.Controller, next.Controller},
		{"contact", ReasonContactChanged, prev.Contact, next.Contact},
	}
	for _, f := range fields {
		switch {
		case strings.EqualFold(f.a, f.b):
		case f.a == "":
			add(f.reason, Phrase{ID: f.id + "_stated", Value: f.b})
		case f.b == "":
			add(f.reason, Phrase{ID: f.id + "_unstated", From: f.a})
		default:
			add(f.reason, Phrase{ID: f.id + "_changed", From: f.a, To: f.b})
		}
	}
	return reasons, phrases
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func kindWords(kind string) string {
	switch kind {
	case KindPrivacyPolicy:
		return "privacy policy"
	case KindCommunityGuidelines:
		return "community guidelines"
	}
	return kind
}

func regionWords(region string) string {
	if region == AnyRegion {
		return "every region"
	}
	return region
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(strings.ReplaceAll(s, "\r\n", "\n"), "\n"), "\n")
}
