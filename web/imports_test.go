package web

import (
	"go/build"
	"testing"
)

// TestConsoleDoesNotImportTheAPI keeps the console beside the API rather
// than on top of it: what both need lives in internal/httpx.
func TestConsoleDoesNotImportTheAPI(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if imp == "github.com/wardenhq/warden/httpapi" {
			t.Fatalf("web imports %s; shared HTTP helpers belong in internal/httpx", imp)
		}
	}
}
