// Package warden holds the vocabulary every part of Warden shares: events that
// happen on the platform, the verdicts Warden answers with, and the errors a
// caller can act on. Each dependency (the SQL store, the rule engine, the HTTP
// API, the console) lives in its own package below this one and imports it;
// cmd/warden wires them together.
package warden

// Version is the Warden release, reported by the CLI and /healthz.
const Version = "0.1.0"
