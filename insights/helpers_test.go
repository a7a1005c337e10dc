package insights

import (
	"errors"

	"github.com/wardenhq/warden"
)

// fieldOf is the field an invalid-input error names ("" for another error).
func fieldOf(err error) string {
	var e *warden.Error
	if errors.As(err, &e) && e.Code == warden.EINVALID {
		return e.Field
	}
	return ""
}
