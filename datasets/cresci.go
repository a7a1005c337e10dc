package datasets

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wardenhq/warden"
)

// cresciGroups maps the BAS subset's dataset tag to the label. The tag is
// read only to check the label; it is never written, because a column that
// names the collection a row came from is the label in disguise.
var cresciGroups = map[string]string{"E13": "human", "TFP": "human", "FSF": "bot", "INT": "bot", "TWT": "bot"}

// ParseCresciUsers reads cresci-2015's bas_users.csv (Cresci's users.csv
// columns plus a dataset tag) and returns the accounts in file order.
func ParseCresciUsers(r io.Reader, name string) ([]Account, error) {
	t, err := openTable(r, name, "id", "dataset", "created_at", "screen_name", "name",
		"followers_count", "friends_count", "statuses_count")
	if err != nil {
		return nil, err
	}
	return t.accounts(func() (Account, error) {
		id := strings.TrimSpace(t.get("id"))
		if id == "" || strings.Trim(id, "0123456789") != "" || len(id) > 20 {
			return nil, t.errorf("id %q is not a numeric Twitter user id", clip(id))
		}
		label, ok := cresciGroups[t.get("dataset")]
		if !ok {
			return nil, t.errorf("dataset %q is not one of E13, TFP, FSF, INT, TWT", clip(t.get("dataset")))
		}
		a := Account{"account": id, "label": label}
		var err error
		if a["created_at"], err = parseTwitterTime(t.get("created_at")); err != nil {
			return nil, t.errorf("%v", err)
		}
		for _, c := range []string{"followers_count", "friends_count", "statuses_count", "favourites_count", "listed_count"} {
			if a[c], err = t.count(c); err != nil {
				return nil, err
			}
		}
		// Cresci's export writes a true flag as 1 or 1.0 and leaves false empty
		// (protected and verified are empty for all 3,900 rows).
		for _, c := range []string{"verified", "default_profile", "default_profile_image", "geo_enabled", "protected"} {
			if a[c], err = boolCell(t, c, true); err != nil {
				return nil, err
			}
		}
		for _, c := range []string{"screen_name", "name", "description", "lang", "location", "url"} {
			a[c] = t.get(c)
		}
		return a, nil
	})
}

// ParseCresciLabels reads cresci-2015's accounts.csv (uid, counts, Label) and
// returns uid → label.
func ParseCresciLabels(r io.Reader, name string) (map[string]string, error) {
	t, err := openTable(r, name, "uid", "Label")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	err = t.each(func() error {
		id := strings.TrimSpace(t.get("uid"))
		if id == "" || strings.Trim(id, "0123456789") != "" {
			return t.errorf("uid %q is not a numeric Twitter user id", clip(id))
		}
		if _, dup := out[id]; dup {
			return t.errorf("uid %s appears twice", id)
		}
		switch t.get("Label") {
		case "Legitimate User":
			out[id] = "human"
		case "Content Polluter":
			out[id] = "bot"
		default:
			return t.errorf("Label %q is not \"Legitimate User\" or \"Content Polluter\"", clip(t.get("Label")))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CresciTweet is one row of cresci-2015's events_*.csv.gz files.
type CresciTweet struct {
	User, Label, ID, RTOf string
	Time                  time.Time
}

// ParseCresciEvents streams cresci-2015's events_*.csv (user_id, label,
// tweet_id, created_at, rt_of_screen_name) to fn.
func ParseCresciEvents(r io.Reader, name string, fn func(CresciTweet) error) error {
	t, err := openTable(r, name, "user_id", "label", "tweet_id", "created_at", "rt_of_screen_name")
	if err != nil {
		return err
	}
	return t.each(func() error {
		ev := CresciTweet{User: t.get("user_id"), Label: t.get("label"), ID: t.get("tweet_id"), RTOf: t.get("rt_of_screen_name")}
		if ev.User == "" || strings.Trim(ev.User, "0123456789") != "" {
			return t.errorf("user_id %q is not a numeric Twitter user id", clip(ev.User))
		}
		if ev.ID == "" || strings.Trim(ev.ID, "0123456789") != "" || len(ev.ID) > 20 {
			return t.errorf("tweet_id %q is not a numeric tweet id", clip(ev.ID))
		}
		if ev.Label != "human" && ev.Label != "fake" {
			return t.errorf("label %q is not human or fake", clip(ev.Label))
		}
		var err error
		if ev.Time, err = time.Parse(time.RFC3339, t.get("created_at")); err != nil {
			return t.errorf("created_at %q is not RFC 3339", clip(t.get("created_at")))
		}
		if len(ev.RTOf) > 64 || !utf8.ValidString(ev.RTOf) {
			return t.errorf("rt_of_screen_name %q is not a screen name (UTF-8, at most 64 bytes)", clip(ev.RTOf))
		}
		return fn(ev)
	})
}

// ParseCresciTexts streams cresci-2015's tweets_*.csv (user_id, label,
// tweet_id, created_at, text) to fn as (user, tweet id, text).
func ParseCresciTexts(r io.Reader, name string, fn func(user, id, text string) error) error {
	t, err := openTable(r, name, "user_id", "tweet_id", "text")
	if err != nil {
		return err
	}
	return t.each(func() error {
		id := t.get("tweet_id")
		if id == "" || strings.Trim(id, "0123456789") != "" || len(id) > 20 {
			return t.errorf("tweet_id %q is not a numeric tweet id", clip(id))
		}
		return fn(t.get("user_id"), id, t.get("text"))
	})
}

func openMaybeGz(p string) (io.Reader, func() error, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	if !strings.HasSuffix(p, ".gz") {
		return bufio.NewReaderSize(f, 1<<20), f.Close, nil
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %v", p, err)
	}
	return zr, func() error { zr.Close(); return f.Close() }, nil
}

func eachFile(p string, fn func(io.Reader) error) error {
	r, closeFn, err := openMaybeGz(p)
	if err != nil {
		return err
	}
	defer closeFn()
	return fn(r)
}

// ImportCresci2015 converts the cresci-2015 folder to an evaluation dataset:
// the 3,900 BAS accounts (the set the paper reports on, the only one with full
// profiles) and their timelines as events. progress, if not nil, is called
// with the number of events written so far.
func ImportCresci2015(in, out string, progress func(events int)) (Summary, error) {
	var s Summary
	var accts []Account
	err := eachFile(filepath.Join(in, "bas_users.csv"), func(r io.Reader) (err error) {
		accts, err = ParseCresciUsers(r, filepath.Join(in, "bas_users.csv"))
		return err
	})
	if err != nil {
		return s, err
	}
	var labels map[string]string
	err = eachFile(filepath.Join(in, "accounts.csv"), func(r io.Reader) (err error) {
		labels, err = ParseCresciLabels(r, filepath.Join(in, "accounts.csv"))
		return err
	})
	if err != nil {
		return s, err
	}
	inBAS := make(map[string]bool, len(accts))
	for _, a := range accts {
		if l, ok := labels[a["account"]]; !ok || l != a["label"] {
			return s, fmt.Errorf("%s: account %s is %q by its BAS group but %q in accounts.csv", in, a["account"], a["label"], l)
		}
		inBAS[a["account"]] = true
		s.add(a)
	}
	if err := writeAccountsFile(out, accts); err != nil {
		return s, err
	}

	texts := map[string]string{}
	for _, fn := range []string{"tweets_humans_latest200.csv.gz", "tweets_fake_followers.csv.gz"} {
		p := filepath.Join(in, fn)
		err := eachFile(p, func(r io.Reader) error {
			return ParseCresciTexts(r, p, func(user, id, text string) error {
				if inBAS[user] && text != "" {
					texts[id] = text
				}
				return nil
			})
		})
		if err != nil {
			return s, err
		}
	}

	p := filepath.Join(out, "events.jsonl.gz")
	f, err := os.Create(p + ".tmp")
	if err != nil {
		return s, err
	}
	defer f.Close()
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	bw := bufio.NewWriterSize(zw, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, fn := range []string{"events_humans.csv.gz", "events_fake_followers.csv.gz"} {
		src := filepath.Join(in, fn)
		err := eachFile(src, func(r io.Reader) error {
			return ParseCresciEvents(r, src, func(t CresciTweet) error {
				if !inBAS[t.User] {
					return nil
				}
				ev := CresciEvent(t, texts[t.ID])
				if err := ev.Validate(""); err != nil {
					return fmt.Errorf("%s: tweet %s: %v", src, t.ID, err)
				}
				s.Events++
				if progress != nil && s.Events%100000 == 0 {
					progress(s.Events)
				}
				return enc.Encode(&ev)
			})
		})
		if err != nil {
			return s, err
		}
	}
	if err := bw.Flush(); err != nil {
		return s, err
	}
	if err := zw.Close(); err != nil {
		return s, err
	}
	if err := f.Close(); err != nil {
		return s, err
	}
	return s, os.Rename(p+".tmp", p)
}

// CresciEvent maps one cresci-2015 tweet to a Warden event: a tweet is a
// "post"; a tweet whose text starts with "RT @name" (the only retweets the
// source can see) is a "share" whose target is the account it repeats.
func CresciEvent(t CresciTweet, text string) warden.Event {
	ev := warden.Event{ID: "tw" + t.ID, Type: warden.EventPost, Time: t.Time.UTC(), Actor: t.User, Text: text}
	if t.RTOf != "" {
		ev.Type = warden.EventShare
		ev.Target = "@" + t.RTOf
		ev.TargetKind = warden.TargetAccount
	}
	if len(ev.Text) > warden.MaxTextBytes {
		ev.Text = ev.Text[:warden.MaxTextBytes]
	}
	ev.Text = strings.ToValidUTF8(ev.Text, "\uFFFD")
	return ev
}
