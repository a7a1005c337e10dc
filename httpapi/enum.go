package httpapi

import (
	"encoding/json"

	"github.com/wardenhq/warden"
)

// The JSON Schema enums of the route schemas, made from the Go lists the
// server checks requests against, so the OpenAPI document cannot drift from
// them.
var (
	roleEnum     = enum(warden.Roles)
	categoryEnum = enum(warden.Categories)
	decisionEnum = enum(warden.DecisionActions)
	actionEnum   = enum(warden.Actions)
)

// enum is the schema {"enum":[values…]}.
func enum[T any](values []T) string {
	b, err := json.Marshal(values)
	if err != nil {
		panic(err) // the lists are of strings and warden.Action, which marshals as text
	}
	return `{"enum":` + string(b) + `}`
}
