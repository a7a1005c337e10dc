// Package e2e holds Warden's browser tests: node:test files (*.test.mjs)
// that start a real `warden serve`, drive Debian's Chromium through
// playwright-core and check what a person sees in the console. lib.mjs has
// the shared helpers (startWarden, newBrowser, signIn, event, watchPage).
//
// `go test ./e2e` builds warden and runs them (see e2e_test.go), skipping
// when Chromium, node or npm is missing unless WARDEN_E2E=1; e2e/run.sh
// installs what is missing and runs them directly.
package e2e
