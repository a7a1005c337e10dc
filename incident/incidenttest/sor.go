// Package incidenttest checks statements of reasons in tests against the EU
// Transparency Database's JSON Schema (a copy of
// ../shared/contracts/dsa-sor.schema.json, embedded so tests are hermetic).
package incidenttest

import (
	"bytes"
	_ "embed"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed dsa-sor.schema.json
var schemaJSON []byte

// Example is the EC's documented example statement, which must validate.
//
//go:embed dsa-sor.example.json
var Example []byte

var (
	once   sync.Once
	schema *jsonschema.Schema
	err    error
)

// Schema returns the compiled statement-of-reasons schema.
func Schema() (*jsonschema.Schema, error) {
	once.Do(func() {
		var v any
		if v, err = jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON)); err != nil {
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err = c.AddResource("dsa-sor.schema.json", v); err != nil {
			return
		}
		schema, err = c.Compile("dsa-sor.schema.json")
	})
	return schema, err
}

// Validate returns why doc is not a valid statement, or nil.
func Validate(doc []byte) error {
	s, err := Schema()
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// Check fails t unless doc is a valid statement.
func Check(t testing.TB, doc []byte) {
	t.Helper()
	if err := Validate(doc); err != nil {
		t.Fatalf("statement fails the DSA schema: %v\n%s", err, doc)
	}
}
