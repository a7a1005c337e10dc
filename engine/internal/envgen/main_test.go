package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedFieldsAreCurrent fails when engine/fields_gen.go is not what
// envgen makes of env.go and detect.Features today.
func TestGeneratedFieldsAreCurrent(t *testing.T) {
	want, err := generate("../../env.go", "../../../detect/detect.go")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../fields_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("engine/fields_gen.go is out of date: run go generate ./engine")
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{
		"BotScore":                 "bot_score",
		"BotKnown":                 "bot_known",
		"DupTextClusterAgeSeconds": "dup_text_cluster_age_seconds",
		"IPCount":                  "ip_count",
		"Top10Share":               "top10_share",
		"IP":                       "ip",
	} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}
