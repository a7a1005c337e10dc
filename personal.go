package warden

import (
	"regexp"
	"strings"
)

// Personal-data patterns: text that is published or kept as non-personal
// (statements of reasons, interview notes) must not carry e-mail addresses,
// phone numbers, @handles or links.
var (
	reEmail  = regexp.MustCompile(`[^\s@]+@[^\s@]+\.[^\s@]+`)
	rePhone  = regexp.MustCompile(`\+?\d[\d\s().-]{6,}\d`)
	reISO    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	reHandle = regexp.MustCompile(`(^|[^\w])@\w{2,}`)
	reURL    = regexp.MustCompile(`(?i)\b(https?://|www\.)\S+`)
)

// PersonalData returns what kind of personal data s appears to hold, or ""
// when none: an e-mail address, a phone number (a run of at least eight
// digits with the usual separators that is not an ISO date), an @handle, a
// link, or one of identifiers (user ids, at least three bytes, matched as
// a whole word).
func PersonalData(s string, identifiers ...string) string {
	// Addresses and handles need an @: most text skips their patterns.
	at := strings.IndexByte(s, '@') >= 0
	switch {
	case at && reEmail.MatchString(s):
		return "an e-mail address"
	case hasPhone(s):
		return "a phone number"
	case at && reHandle.MatchString(s):
		return "an @handle"
	case reURL.MatchString(s):
		return "a link"
	}
	lower := strings.ToLower(s)
	for _, id := range identifiers {
		if len(id) >= 3 && ContainsWord(lower, strings.ToLower(id)) {
			return "a user's identifier"
		}
	}
	return ""
}

// hasPhone reports a run of at least eight digits (with the usual
// separators) that is not an ISO date.
func hasPhone(s string) bool {
	for _, m := range rePhone.FindAllString(s, -1) {
		digits := 0
		for _, c := range m {
			if c >= '0' && c <= '9' {
				digits++
			}
		}
		if digits >= 8 && !reISO.MatchString(strings.TrimSpace(m)) {
			return true
		}
	}
	return false
}

// ContainsWord reports whether w occurs in s not glued to other letters or
// digits, so that a user id "ann" does not match "announcement". Both are
// expected in lower case.
func ContainsWord(s, w string) bool {
	if w == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		if (start == 0 || !isWordByte(s[start-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		i = start + 1
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 0x80
}
