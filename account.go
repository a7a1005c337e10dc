package warden

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Markets are the regions the platform's policies and funnels are kept
// for: the seven markets (UK as the platform names it, not ISO's GB).
var Markets = []string{"US", "UK", "MX", "JP", "FR", "DE", "ID"}

// MaxUserIDLen bounds a platform account id in a path such as
// /v1/users/{user}/consent.
const MaxUserIDLen = 256

// CheckUserID refuses an account id that is empty, too long, not UTF-8 or
// has control characters, naming field.
func CheckUserID(field, id string) error {
	switch {
	case id == "":
		return FieldErrorf(field, "%s is required: the platform's account id, as in an event's actor", field)
	case len(id) > MaxUserIDLen:
		return FieldErrorf(field, "%s is %d bytes; at most %d", field, len(id), MaxUserIDLen)
	case !utf8.ValidString(id):
		return FieldErrorf(field, "%s is not valid UTF-8", field)
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		return FieldErrorf(field, "%s contains a control character", field)
	}
	return nil
}
