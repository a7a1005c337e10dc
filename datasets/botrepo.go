package datasets

import (
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ParseBotRepo reads one Bot Repository CSV (the Twitter v1.1 user object
// flattened, label in knownBot) and returns its accounts in file order.
// name is used in error messages.
func ParseBotRepo(r io.Reader, name string) ([]Account, error) {
	t, err := openTable(r, name, "id", "knownBot")
	if err != nil {
		return nil, err
	}
	return t.accounts(func() (Account, error) { return botRepoRow(t) })
}

func botRepoRow(t *table) (Account, error) {
	id := strings.TrimSpace(t.get("id"))
	if id == "" || strings.Trim(id, "0123456789") != "" || len(id) > 20 {
		return nil, t.errorf("id %q is not a numeric Twitter user id", clip(id))
	}
	a := Account{"account": id}
	switch strings.TrimSpace(t.get("knownBot")) {
	case "1", "1.0", "True", "true":
		a["label"] = "bot"
	case "0", "0.0", "False", "false":
		a["label"] = "human"
	default:
		return nil, t.errorf("knownBot %q is not 1 (bot) or 0 (human)", clip(t.get("knownBot")))
	}
	ca, err := parseTwitterTime(t.get("created_at"))
	if err != nil {
		return nil, t.errorf("%v", err)
	}
	a["created_at"] = ca
	for _, c := range []string{"followers_count", "friends_count", "statuses_count", "favourites_count", "listed_count"} {
		v, err := t.count(c)
		if err != nil {
			return nil, err
		}
		a[c] = v
	}
	for _, c := range []string{"verified", "default_profile", "default_profile_image", "geo_enabled", "protected"} {
		v, err := boolCell(t, c, false)
		if err != nil {
			return nil, err
		}
		a[c] = v
	}
	for _, c := range []string{"screen_name", "name", "description", "lang", "location", "url"} {
		a[c] = t.get(c)
	}
	return a, nil
}

// boolCell normalises a boolean cell to "true", "false" or "" (unknown).
// Sources disagree on the spelling (True/False, 1/1.0, empty); writing one
// spelling matters because the spelling itself differs between the groups of
// some datasets (in cresci-2015 only the FSF fakes write "1" instead of "1.0"),
// which a learner would otherwise pick up as a label. emptyFalse says that the
// source leaves false cells empty.
func boolCell(t *table, c string, emptyFalse bool) (string, error) {
	switch strings.TrimSpace(t.get(c)) {
	case "True", "true", "TRUE", "1", "1.0":
		return "true", nil
	case "False", "false", "FALSE", "0", "0.0":
		return "false", nil
	case "":
		if emptyFalse && t.has(c) {
			return "false", nil
		}
		return "", nil
	}
	return "", t.errorf("%s %q is not a boolean (True/False or 1/0)", c, clip(t.get(c)))
}

// ImportBotRepo converts one Bot Repository CSV file to an evaluation dataset
// directory. These files are profiles only, so no events file is written.
func ImportBotRepo(in, out string) (Summary, error) {
	f, err := os.Open(in)
	if err != nil {
		return Summary{}, err
	}
	defer f.Close()
	accts, err := ParseBotRepo(f, in)
	if err != nil {
		return Summary{}, err
	}
	var s Summary
	for _, a := range accts {
		s.add(a)
	}
	return s, writeAccountsFile(out, accts)
}

func writeAccountsFile(dir string, accts []Account) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	p := filepath.Join(dir, "accounts.csv")
	tmp := p + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := writeAccounts(f, accts); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}
