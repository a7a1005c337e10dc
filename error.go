package warden

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the API.
const (
	EINVALID       = "invalid"       // the request is malformed; the message says what to fix
	ETOOLARGE      = "too_large"     // the body or batch is over a limit
	EUNAUTHORIZED  = "unauthorized"  // no valid credentials
	EFORBIDDEN     = "forbidden"     // valid credentials, wrong role
	ENOTFOUND      = "not_found"     // no such resource
	ECONFLICT      = "conflict"      // the resource's state forbids the change
	EUNPROCESSABLE = "unprocessable" // well-formed but refused on its merits: a wrong or already used code
	EUNVERIFIED    = "unverified"    // well-formed, but its signature does not verify (a partner feed)
	ERATELIMIT     = "rate_limited"  // too many requests; retry later
	EUNAVAILABLE   = "unavailable"   // the server is shutting down or overloaded
	EINTERNAL      = "internal"      // a bug or an infrastructure failure; details are logged, not shown
)

// Error is an error a person can act on. Message is shown to the caller as is;
// Field, when set, names the offending input (for example "events[3].time").
// Internal failures are never Errors: they are logged and reported as EINTERNAL.
type Error struct {
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("warden: %s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("warden: %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EINVALID *Error about one field.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err when it is (or wraps) an *Error, and
// EINTERNAL otherwise.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err when it is (or wraps) an *Error, and
// a generic message otherwise, so that internal details never reach a caller.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error; the server log has the details"
}
