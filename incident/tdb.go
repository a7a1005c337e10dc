package incident

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// TDB is the EU DSA Transparency Database API (anchors §5.1).
type TDB struct {
	// URL is the API base, such as https://transparency.dsa.ec.europa.eu/api/v1
	// (or the sandbox's).
	URL   string
	Token string
	// Client sends the requests; http.DefaultClient if nil.
	Client *http.Client
}

// tdbBatch is the database's limit on statements per call.
const tdbBatch = 100

// SubmitStatements sends every statement of reasons not yet in the ledger to
// the Transparency Database, at most 100 per call, and records each
// accepted puid. A batch is all-or-nothing there. When it is refused only
// because some puids are already in the database (a resend after a lost
// answer), those are recorded as submitted and the rest is sent again. Any
// other refusal stops the submission with the database's message; what was
// sent before stays recorded. It returns how many statements were accepted.
func (s *Service) SubmitStatements(ctx context.Context, tdb TDB) (int, error) {
	client := tdb.Client
	if client == nil {
		client = http.DefaultClient
	}
	sent := 0
	for {
		puids, sors, err := s.db.Unsubmitted(ctx, tdbBatch)
		if err != nil || len(puids) == 0 {
			return sent, err
		}
		dup, err := postStatements(ctx, client, tdb, sors)
		if err != nil {
			return sent, err
		}
		if len(dup) > 0 {
			var known []string
			for i := range dup {
				known = append(known, puids[i])
			}
			if err := s.db.MarkSubmitted(ctx, known, true, s.clock()); err != nil {
				return sent, err
			}
			continue // the rest goes again without them
		}
		if err := s.db.MarkSubmitted(ctx, puids, false, s.clock()); err != nil {
			return sent, err
		}
		sent += len(puids)
	}
}

// postStatements sends one batch. It returns the indexes of statements
// refused only for a duplicate puid (nothing was stored), or an error.
func postStatements(ctx context.Context, client *http.Client, tdb TDB, sors []json.RawMessage) (map[int]bool, error) {
	body, err := json.Marshal(map[string]any{"statements": sors})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(tdb.URL, "/")+"/statements", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tdb.Token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("transparency database: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode/100 == 2:
		return nil, nil
	case resp.StatusCode != http.StatusUnprocessableEntity:
		return nil, fmt.Errorf("transparency database answered %s: %s", resp.Status, clip(answer))
	}
	// 422: {"errors": {"statement_<i>": {"field": ["message", …]}}}
	var v struct {
		Errors map[string]map[string][]string `json:"errors"`
	}
	if json.Unmarshal(answer, &v) != nil || len(v.Errors) == 0 {
		return nil, fmt.Errorf("transparency database refused the batch: %s", clip(answer))
	}
	dup := map[int]bool{}
	for key, fields := range v.Errors {
		i, err := strconv.Atoi(strings.TrimPrefix(key, "statement_"))
		if err != nil || i < 0 || i >= len(sors) {
			return nil, fmt.Errorf("transparency database refused the batch: %s", clip(answer))
		}
		for field, msgs := range fields {
			if field != "puid" || len(msgs) == 0 || !strings.Contains(strings.Join(msgs, " "), "not unique") {
				return nil, fmt.Errorf("transparency database refused statement %d: %s: %s", i, field, strings.Join(msgs, "; "))
			}
		}
		dup[i] = true
	}
	return dup, nil
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
