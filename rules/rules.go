// Package rules is Warden's built-in rule pack: rule files (YAML with
// expr-lang expressions), the lists they read, and fixture tests, embedded
// in the binary so that `warden serve` with no flags runs them. The engine
// (package engine) compiles them; `warden rules check` and `warden rules
// test` accept this directory like any other rule set.
package rules

import "embed"

// FS holds the pack: *.yaml rule files, lists/, tests/*.test.yaml and
// ladders/ (enforcement ladders) and valves/ (safety valves), both read
// by package enforce.
//
//go:embed *.yaml lists tests ladders valves
var FS embed.FS
