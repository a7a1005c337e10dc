package httpapi_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// TestBotVerdictSaysWhy posts a bought-follower profile through the API,
// the built-in rule pack and the built-in detectors, as serve wires them,
// and checks that the verdict names the bot-likeness rule and says in words
// which features drove the score. The rule is in shadow, so the action
// stays allow.
func TestBotVerdictSaysWhy(t *testing.T) {
	url, key := serveAPI(t, sqlstoretest.SQLite(t), servedEngine(t))
	body := `{"id":"bot-1","type":"follow","time":"2026-11-22T10:00:00Z","actor":"xk29384756q","target":"u2","target_kind":"account",
		"attrs":{"created_at":"2026-11-20T00:00:00Z","followers_count":3,"friends_count":1900,"statuses_count":2,"favourites_count":0,
		"listed_count":0,"default_profile":true,"default_profile_image":true,"description":"","screen_name":"xk29384756q","name":"xk29384756q"}}`
	status, b := call(t, "POST", url+"/v1/events", key, body)
	var out verdicts
	if err := json.Unmarshal(b, &out); err != nil || status != 200 || len(out.Verdicts) != 1 {
		t.Fatalf("status %d, %v, %s", status, err, b)
	}
	var hit *warden.Hit
	for i, h := range out.Verdicts[0].Hits {
		if h.Rule == "bot_model_high" {
			hit = &out.Verdicts[0].Hits[i]
		}
	}
	if hit == nil {
		t.Fatalf("no bot_model_high hit in %+v", out.Verdicts[0])
	}
	t.Logf("reason: %s", hit.Reason)
	// "bot-likeness 0.99: <feature in words> <value>; …"
	head, why, ok := strings.Cut(hit.Reason, ": ")
	score, err := strconv.ParseFloat(strings.TrimPrefix(head, "bot-likeness "), 64)
	if !ok || err != nil || score < 0.9 || len(why) < 10 || strings.Contains(why, "[]") {
		t.Fatalf("the verdict does not say in words why: %q", hit.Reason)
	}
}
