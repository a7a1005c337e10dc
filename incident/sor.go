package incident

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wardenhq/warden"
)

// Statement is a DSA statement of reasons as the EU Transparency Database
// takes it (../shared/contracts/dsa-sor.schema.json). It holds no personal
// data: the puid is the decision id, never a user id, and free text is
// checked by Check.
type Statement struct {
	DecisionVisibility           []string `json:"decision_visibility,omitempty"`
	DecisionProvision            string   `json:"decision_provision,omitempty"`
	DecisionAccount              string   `json:"decision_account,omitempty"`
	AccountType                  string   `json:"account_type,omitempty"`
	DecisionGround               string   `json:"decision_ground"`
	DecisionGroundReferenceURL   string   `json:"decision_ground_reference_url,omitempty"`
	IncompatibleContentGround    string   `json:"incompatible_content_ground"`
	IncompatibleContentExplain   string   `json:"incompatible_content_explanation"`
	ContentType                  []string `json:"content_type"`
	ContentTypeOther             string   `json:"content_type_other,omitempty"`
	Category                     string   `json:"category"`
	CategorySpecification        []string `json:"category_specification,omitempty"`
	CategorySpecificationOther   string   `json:"category_specification_other,omitempty"`
	TerritorialScope             []string `json:"territorial_scope"`
	ContentDate                  string   `json:"content_date"`
	ApplicationDate              string   `json:"application_date"`
	EndDateAccountRestriction    string   `json:"end_date_account_restriction,omitempty"`
	EndDateServiceRestriction    string   `json:"end_date_service_restriction,omitempty"`
	EndDateVisibilityRestriction string   `json:"end_date_visibility_restriction,omitempty"`
	DecisionFacts                string   `json:"decision_facts"`
	SourceType                   string   `json:"source_type"`
	AutomatedDetection           string   `json:"automated_detection"`
	AutomatedDecision            string   `json:"automated_decision"`
	PUID                         string   `json:"puid"`
}

// EEA is every territorial_scope code: our restrictions apply everywhere.
var EEA = []string{"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK"}

// sorCategory maps a report category to the DSA category, keyword and (for
// KEYWORD_OTHER) its description. The anchors' §5.7 proposes these.
var sorCategory = map[string]struct{ category, keyword, other string }{
	warden.CategoryScam:           {"STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "KEYWORD_OTHER", "Scam soliciting money or credentials"},
	warden.CategoryFakeProfile:    {"STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "KEYWORD_INAUTHENTIC_ACCOUNTS", ""},
	warden.CategoryImpersonation:  {"STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING", ""},
	warden.CategoryMisinformation: {"STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS", "KEYWORD_MISINFORMATION_DISINFORMATION", ""},
	warden.CategoryInappropriate:  {"STATEMENT_CATEGORY_OTHER_VIOLATION_TC", "KEYWORD_OTHER", "Content inappropriate under the terms of service"},
	warden.CategoryHarassment:     {"STATEMENT_CATEGORY_CYBER_VIOLENCE", "KEYWORD_CYBER_HARASSMENT", ""},
	warden.CategoryOther:          {"STATEMENT_CATEGORY_OTHER_VIOLATION_TC", "KEYWORD_OTHER", "Other violation of the terms of service"},
}

// categoryKeywords is the category → keyword hierarchy of Implementing
// Regulation 2024/2835 (anchors §5.6). The TDB does not cross-check it; we do,
// so that statements and transparency tables agree.
var categoryKeywords = map[string][]string{
	"STATEMENT_CATEGORY_ANIMAL_WELFARE":                                   {"ANIMAL_HARM", "UNLAWFUL_SALE_ANIMALS"},
	"STATEMENT_CATEGORY_CONSUMER_INFORMATION":                             {"HIDDEN_ADVERTISEMENT", "INSUFFICIENT_INFORMATION_ON_TRADERS", "MISLEADING_INFO_GOODS_SERVICES", "MISLEADING_INFO_CONSUMER_RIGHTS", "NONCOMPLIANCE_PRICING"},
	"STATEMENT_CATEGORY_CYBER_VIOLENCE":                                   {"CYBER_BULLYING_INTIMIDATION", "CYBER_HARASSMENT", "CYBER_INCITEMENT", "CYBER_STALKING", "NON_CONSENSUAL_IMAGE_SHARING", "NON_CONSENSUAL_MATERIAL_DEEPFAKE"},
	"STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN":                     {"BULLYING_AGAINST_GIRLS", "CYBER_HARASSMENT_AGAINST_WOMEN", "CYBER_STALKING_AGAINST_WOMEN", "FEMALE_GENDERED_DISINFORMATION", "INCITEMENT_AGAINST_WOMEN", "NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN", "NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN"},
	"STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS":           {"BIOMETRIC_DATA_BREACH", "DATA_FALSIFICATION", "MISSING_PROCESSING_GROUND", "RIGHT_TO_BE_FORGOTTEN"},
	"STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH":                        {"DEFAMATION", "DISCRIMINATION", "HATE_SPEECH"},
	"STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS":              {"COPYRIGHT_INFRINGEMENT", "DESIGN_INFRINGEMENT", "GEOGRAPHIC_INDICATIONS_INFRINGEMENT", "PATENT_INFRINGEMENT", "TRADE_SECRET_INFRINGEMENT", "TRADEMARK_INFRINGEMENT"},
	"STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS": {"MISINFORMATION_DISINFORMATION", "VIOLATION_EU_LAW", "VIOLATION_NATIONAL_LAW"},
	"STATEMENT_CATEGORY_PROTECTION_OF_MINORS":                             {"AGE_SPECIFIC_RESTRICTIONS_MINORS", "CHILD_SEXUAL_ABUSE_MATERIAL", "CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE", "GROOMING_SEXUAL_ENTICEMENT_MINORS", "UNSAFE_CHALLENGES"},
	"STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY":                         {"ILLEGAL_ORGANIZATIONS", "RISK_ENVIRONMENTAL_DAMAGE", "RISK_PUBLIC_HEALTH", "TERRORIST_CONTENT"},
	"STATEMENT_CATEGORY_SCAMS_AND_FRAUD":                                  {"IMPERSONATION_ACCOUNT_HIJACKING", "INAUTHENTIC_ACCOUNTS", "INAUTHENTIC_LISTINGS", "INAUTHENTIC_USER_REVIEWS", "PHISHING", "PYRAMID_SCHEMES"},
	"STATEMENT_CATEGORY_SELF_HARM":                                        {"CONTENT_PROMOTING_EATING_DISORDERS", "SELF_MUTILATION", "SUICIDE"},
	"STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS":                   {"PROHIBITED_PRODUCTS", "UNSAFE_PRODUCTS"},
	"STATEMENT_CATEGORY_VIOLENCE":                                         {"COORDINATED_HARM", "INCITEMENT_VIOLENCE_HATRED", "HUMAN_EXPLOITATION", "HUMAN_TRAFFICKING", "TRAFFICKING_WOMEN_GIRLS"},
	"STATEMENT_CATEGORY_OTHER_VIOLATION_TC":                               {"ADULT_SEXUAL_MATERIAL", "AGE_SPECIFIC_RESTRICTIONS", "GEOGRAPHICAL_REQUIREMENTS", "GOODS_SERVICES_NOT_PERMITTED", "LANGUAGE_REQUIREMENTS", "NUDITY"},
	"STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE":                             {},
}

// statementInput is what a statement is built from.
type statementInput struct {
	decision    *warden.Decision
	contentDate time.Time // the account's registration, or the content's first sighting
	reports     int
	trusted     bool
	policyURL   string
}

// buildStatement returns the statement of reasons for a restrictive decision.
func buildStatement(in statementInput) Statement {
	d := in.decision
	cat := sorCategory[d.Category]
	st := Statement{
		DecisionGround:             "DECISION_GROUND_INCOMPATIBLE_CONTENT",
		DecisionGroundReferenceURL: in.policyURL,
		IncompatibleContentGround:  d.Policy,
		IncompatibleContentExplain: d.Explanation,
		Category:                   cat.category,
		CategorySpecification:      []string{cat.keyword},
		CategorySpecificationOther: cat.other,
		TerritorialScope:           EEA,
		ApplicationDate:            d.DecidedAt.Time().Format(time.DateOnly),
		ContentDate:                in.contentDate.UTC().Format(time.DateOnly),
		AutomatedDetection:         yesNo(d.Detected),
		AutomatedDecision:          "AUTOMATED_DECISION_NOT_AUTOMATED",
		PUID:                       d.ID,
	}
	if d.Automated {
		st.AutomatedDecision = "AUTOMATED_DECISION_FULLY"
	}
	if d.SubjectKind == warden.TargetAccount {
		st.ContentType = []string{"CONTENT_TYPE_OTHER"}
		st.ContentTypeOther = "User account and profile"
	} else {
		st.ContentType = []string{"CONTENT_TYPE_TEXT"}
	}
	end := ""
	if d.EndsAt != 0 {
		end = d.EndsAt.Time().Format(time.DateOnly)
	}
	switch d.Action {
	case warden.ActRemoveContent:
		st.DecisionVisibility = []string{"DECISION_VISIBILITY_CONTENT_REMOVED"}
	case warden.ActLabel:
		st.DecisionVisibility = []string{"DECISION_VISIBILITY_CONTENT_LABELLED"}
		st.EndDateVisibilityRestriction = end
	case warden.ActRestrict:
		st.DecisionVisibility = []string{"DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED"}
		st.DecisionProvision = "DECISION_PROVISION_PARTIAL_SUSPENSION"
		st.EndDateVisibilityRestriction = end
		st.EndDateServiceRestriction = end
	case warden.ActSuspendAccount:
		st.DecisionAccount = "DECISION_ACCOUNT_SUSPENDED"
		st.EndDateAccountRestriction = end
	case warden.ActBanAccount:
		st.DecisionAccount = "DECISION_ACCOUNT_TERMINATED"
	}
	switch {
	case d.Source == warden.SourceTrustedFlagger || in.trusted:
		st.SourceType = "SOURCE_TRUSTED_FLAGGER"
	case d.Source == warden.SourceUser:
		st.SourceType = "SOURCE_ARTICLE_16"
	default:
		st.SourceType = "SOURCE_VOLUNTARY"
	}
	st.DecisionFacts = decisionFacts(d, in.reports, in.trusted)
	return st
}

// decisionFacts is the templated account of facts and circumstances (Art.
// 17(3)(b)): counts and roles only, never a name or handle.
func decisionFacts(d *warden.Decision, reports int, trusted bool) string {
	var b strings.Builder
	what := "content"
	if d.SubjectKind == warden.TargetAccount {
		what = "account"
	}
	switch {
	case reports > 0:
		fmt.Fprintf(&b, "Following %d notice%s from users", reports, plural(reports))
		if trusted {
			b.WriteString(", including a trusted flagger")
		}
		b.WriteString(", ")
	default:
		b.WriteString("On the platform's own initiative, ")
	}
	if d.Automated {
		fmt.Fprintf(&b, "an automated system found that the %s breached the policy on %s", what, categoryPhrase[d.Category])
	} else {
		fmt.Fprintf(&b, "a reviewer found that the %s breached the policy on %s", what, categoryPhrase[d.Category])
	}
	if d.Detected {
		b.WriteString("; automated detection had flagged it")
	}
	fmt.Fprintf(&b, ". Measure taken: %s.", actionPhrase[d.Action])
	return b.String()
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Patterns of a statement's own fields.
var (
	reDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	rePUID = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
)

var (
	minContentDate = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	minApplication = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDate        = time.Date(2038, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Check applies the rules the Transparency Database enforces and the
// stricter ones of the anchors note (§5.5): dates in order and in range,
// keywords inside their category, no personal data in free text. identifiers
// are the user ids involved in the decision. The error names the field.
func (st *Statement) Check(identifiers ...string) error {
	if len(st.DecisionVisibility) == 0 && st.DecisionProvision == "" && st.DecisionAccount == "" {
		return warden.FieldErrorf("decision_visibility", "a statement needs at least one restriction")
	}
	if st.DecisionGround != "DECISION_GROUND_INCOMPATIBLE_CONTENT" {
		return warden.FieldErrorf("decision_ground", "only terms-of-service grounds are produced")
	}
	if len(st.ContentType) == 0 || slices.Contains(st.ContentType, "CONTENT_TYPE_OTHER") && st.ContentTypeOther == "" {
		return warden.FieldErrorf("content_type", "content_type is required, with content_type_other for CONTENT_TYPE_OTHER")
	}
	kws, ok := categoryKeywords[st.Category]
	if !ok {
		return warden.FieldErrorf("category", "unknown category %q", st.Category)
	}
	for _, k := range st.CategorySpecification {
		name := strings.TrimPrefix(k, "KEYWORD_")
		if k != "KEYWORD_OTHER" && !slices.Contains(kws, name) {
			return warden.FieldErrorf("category_specification", "%s does not belong to %s", k, st.Category)
		}
	}
	if len(st.TerritorialScope) == 0 {
		return warden.FieldErrorf("territorial_scope", "territorial_scope is always sent")
	}
	for _, c := range st.TerritorialScope {
		if !slices.Contains(EEA, c) {
			return warden.FieldErrorf("territorial_scope", "%q is not an EEA code", c)
		}
	}
	content, err := checkDate("content_date", st.ContentDate, minContentDate)
	if err != nil {
		return err
	}
	applied, err := checkDate("application_date", st.ApplicationDate, minApplication)
	if err != nil {
		return err
	}
	if applied.Before(content) {
		return warden.FieldErrorf("application_date", "application_date %s is before content_date %s", st.ApplicationDate, st.ContentDate)
	}
	for field, v := range map[string]string{"end_date_account_restriction": st.EndDateAccountRestriction,
		"end_date_service_restriction": st.EndDateServiceRestriction, "end_date_visibility_restriction": st.EndDateVisibilityRestriction} {
		if v == "" {
			continue
		}
		end, err := checkDate(field, v, minApplication)
		if err != nil {
			return err
		}
		if end.Before(applied) {
			return warden.FieldErrorf(field, "%s %s is before application_date %s", field, v, st.ApplicationDate)
		}
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{
		{"incompatible_content_ground", st.IncompatibleContentGround, 500},
		{"incompatible_content_explanation", st.IncompatibleContentExplain, 2000},
		{"decision_facts", st.DecisionFacts, 5000},
		{"content_type_other", st.ContentTypeOther, 500},
		{"category_specification_other", st.CategorySpecificationOther, 500},
	} {
		if n := utf8.RuneCountInString(f.value); n > f.max {
			return warden.FieldErrorf(f.name, "%s is %d characters; the limit is %d", f.name, n, f.max)
		}
		if kind := warden.PersonalData(f.value, identifiers...); kind != "" {
			return warden.FieldErrorf(f.name, "%s holds %s; statements of reasons are public and must hold no personal data", f.name, kind)
		}
	}
	if st.IncompatibleContentGround == "" || st.IncompatibleContentExplain == "" || st.DecisionFacts == "" {
		return warden.FieldErrorf("decision_facts", "ground, explanation and facts are required")
	}
	if !rePUID.MatchString(st.PUID) || len(st.PUID) > 500 {
		return warden.FieldErrorf("puid", "puid must match ^[a-zA-Z0-9_-]+$")
	}
	for _, id := range identifiers {
		if len(id) >= 3 && warden.ContainsWord(strings.ToLower(st.PUID), strings.ToLower(id)) {
			return warden.FieldErrorf("puid", "puid must not encode a user id")
		}
	}
	return nil
}

func checkDate(field, v string, lo time.Time) (time.Time, error) {
	if !reDate.MatchString(v) {
		return time.Time{}, warden.FieldErrorf(field, "%s must be YYYY-MM-DD", field)
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil || t.Before(lo) || t.After(maxDate) {
		return time.Time{}, warden.FieldErrorf(field, "%s %s is outside %s..2038-01-01", field, v, lo.Format(time.DateOnly))
	}
	return t, nil
}

// marshalStatement returns st as JSON.
func marshalStatement(st Statement) []byte {
	b, err := json.Marshal(st)
	if err != nil {
		panic(err) // a struct of strings always marshals
	}
	return b
}
