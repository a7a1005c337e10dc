package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
)

const botRepoHead = "id,created_at,default_profile,default_profile_image,description,favourites_count,followers_count,friends_count,geo_enabled,lang,listed_count,location,name,protected,screen_name,statuses_count,url,verified,knownBot\n"

func TestParseBotRepo(t *testing.T) {
	tests := []struct {
		name    string
		rows    string
		wantErr string // substring; "" means success
		check   func(t *testing.T, a []Account)
	}{
		{name: "bot and human", rows: "1,Thu Mar 01 23:17:53 +0000 2007,True,False,\"hi, there\",3,10,20,False,en,0,Rome,Ann,False,ann,5,,False,0\n" +
			"22,Wed Nov 22 20:28:03 +0000 2017,False,True,,0,1,900,False,en,0,,bot 22,False,bot22,2,http://x,False,1\n",
			check: func(t *testing.T, a []Account) {
				if len(a) != 2 || a[0]["label"] != "human" || a[1]["label"] != "bot" {
					t.Fatalf("labels: %v", a)
				}
				if a[0]["created_at"] != "2007-03-01T23:17:53Z" || a[0]["default_profile"] != "true" || a[0]["description"] != "hi, there" {
					t.Fatalf("mapping: %v", a[0])
				}
				if a[1]["friends_count"] != "900" || a[1]["default_profile_image"] != "true" {
					t.Fatalf("mapping: %v", a[1])
				}
			}},
		{name: "empty count is unknown", rows: "1,,,,,,,,,,,,,,,,,,1\n", check: func(t *testing.T, a []Account) {
			if a[0]["followers_count"] != "" || a[0]["created_at"] != "" || a[0]["verified"] != "" {
				t.Fatalf("unknowns filled in: %v", a[0])
			}
		}},
		{name: "float counts", rows: "1,,,,,,12.0,3.0,,,,,,,,,,,0\n", check: func(t *testing.T, a []Account) {
			if a[0]["followers_count"] != "12" {
				t.Fatalf("followers %q", a[0]["followers_count"])
			}
		}},
		{name: "bad label", rows: "1,,,,,,,,,,,,,,,,,,2\n", wantErr: "test.csv:2: knownBot \"2\""},
		{name: "bad time", rows: "1,yesterday,,,,,,,,,,,,,,,,,1\n", wantErr: "test.csv:2: created_at"},
		{name: "negative count", rows: "1,,,,,,-3,,,,,,,,,,,,1\n", wantErr: "test.csv:2: followers_count"},
		{name: "bad bool", rows: "1,,maybe,,,,,,,,,,,,,,,,1\n", wantErr: "default_profile \"maybe\""},
		{name: "short row", rows: "1,2,3\n", wantErr: "test.csv:2:"},
		{name: "duplicate id", rows: "5,,,,,,,,,,,,,,,,,,1\n5,,,,,,,,,,,,,,,,,,0\n", wantErr: "test.csv:3: account id 5 already appeared on line 2"},
		{name: "non-numeric id", rows: "abc,,,,,,,,,,,,,,,,,,1\n", wantErr: "id \"abc\""},
		{name: "no rows", rows: "", wantErr: "no accounts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseBotRepo(strings.NewReader(botRepoHead+tc.rows), "test.csv")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, a)
		})
	}
}

func TestParseBotRepoMissingColumn(t *testing.T) {
	_, err := ParseBotRepo(strings.NewReader("id,name\n1,a\n"), "x.csv")
	if err == nil || !strings.Contains(err.Error(), `x.csv:1: the header has no column "knownBot"`) {
		t.Fatalf("error %v", err)
	}
}

const cresciHead = "id,name,screen_name,statuses_count,followers_count,friends_count,favourites_count,listed_count,created_at,url,lang,time_zone,location,default_profile,default_profile_image,geo_enabled,protected,verified,description,updated,dataset\n"

func TestParseCresciUsers(t *testing.T) {
	tests := []struct {
		name    string
		rows    string
		wantErr string
		want    Account // checked keys only
	}{
		{name: "human, empty flags are false", rows: "7,Ann,ann,10,5,6,1,0,Fri Apr 06 10:58:22 +0000 2007,,it,Rome,Roma,,,1.0,,,desc,2015-02-14 10:54:49,E13\n",
			want: Account{"account": "7", "label": "human", "default_profile": "false", "geo_enabled": "true", "protected": "false", "lang": "it"}},
		{name: "fake, 1 and 1.0 spell the same", rows: "8,B,b,1,0,600,0,0,Sat Jun 23 15:52:37 +0000 2012,,en,,,1,1.0,,,,,2015-02-14 10:40:01,FSF\n",
			want: Account{"label": "bot", "default_profile": "true", "default_profile_image": "true"}},
		{name: "unknown group", rows: "9,B,b,1,0,600,0,0,,,,,,,,,,,,x,XYZ\n", wantErr: "test.csv:2: dataset \"XYZ\""},
		{name: "bad count", rows: "9,B,b,lots,0,600,0,0,,,,,,,,,,,,x,INT\n", wantErr: "test.csv:2: statuses_count"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseCresciUsers(strings.NewReader(cresciHead+tc.rows), "test.csv")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if a[0][k] != v {
					t.Errorf("%s = %q, want %q", k, a[0][k], v)
				}
			}
			if _, ok := a[0]["dataset"]; ok {
				t.Error("the dataset tag leaked into the account")
			}
		})
	}
}

func TestCresciEventMapping(t *testing.T) {
	tm := time.Date(2013, 1, 8, 20, 46, 2, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		in       CresciTweet
		text     string
		wantType string
		target   string
	}{
		{"tweet", CresciTweet{User: "1", ID: "10", Time: tm}, "hello", warden.EventPost, ""},
		{"manual retweet", CresciTweet{User: "1", ID: "11", Time: tm, RTOf: "someone"}, "RT @someone: hi", warden.EventShare, "@someone"},
		{"invalid utf-8 is repaired", CresciTweet{User: "1", ID: "12", Time: tm}, "bad \xff byte", warden.EventPost, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := CresciEvent(tc.in, tc.text)
			if ev.Type != tc.wantType || ev.Target != tc.target || ev.ID != "tw"+tc.in.ID || ev.Actor != "1" {
				t.Fatalf("got %+v", ev)
			}
			if err := ev.Validate(""); err != nil {
				t.Fatalf("invalid event: %v", err)
			}
		})
	}
}

func TestParseCresciEventsErrors(t *testing.T) {
	head := "user_id,label,tweet_id,created_at,rt_of_screen_name\n"
	for _, tc := range []struct{ rows, want string }{
		{"1,human,5,2013-01-08T20:46:02Z,\n1,robot,6,2013-01-08T20:46:02Z,\n", "ev.csv:3: label \"robot\""},
		{"1,human,5,Tue Jan 08 2013,\n", "ev.csv:2: created_at"},
		{"1,human,x5,2013-01-08T20:46:02Z,\n", "ev.csv:2: tweet_id"},
		{"1,human,\"5,2013\n", "ev.csv:"},
	} {
		n := 0
		err := ParseCresciEvents(strings.NewReader(head+tc.rows), "ev.csv", func(CresciTweet) error { n++; return nil })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("rows %q: error %v, want %q", tc.rows, err, tc.want)
		}
	}
}

func TestImportCresci2015Small(t *testing.T) {
	// A miniature cresci-2015 folder with the real file names and layouts.
	in, out := t.TempDir(), t.TempDir()
	write := func(name, body string) {
		var buf bytes.Buffer
		if strings.HasSuffix(name, ".gz") {
			zw := gzip.NewWriter(&buf)
			zw.Write([]byte(body))
			zw.Close()
		} else {
			buf.WriteString(body)
		}
		if err := os.WriteFile(filepath.Join(in, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("bas_users.csv", cresciHead+
		"1,Ann,ann,2,5,6,1,0,Fri Apr 06 10:58:22 +0000 2007,,it,,,,,,,,,x,E13\n"+
		"2,Bob,bob99,1,0,600,0,0,Sat Jun 23 15:52:37 +0000 2012,,en,,,1,,,,,,x,INT\n")
	write("accounts.csv", "uid,NumberOfFollowers,NumberOfFollowing,NumberOfTweets,Label,Screen Name,Name\n"+
		"1,5,6,2,Legitimate User,ann,Ann\n2,0,600,1,Content Polluter,bob99,Bob\n3,0,1,0,Content Polluter,c,C\n")
	write("events_humans.csv.gz", "user_id,label,tweet_id,created_at,rt_of_screen_name\n1,human,100,2013-01-08T20:46:02Z,\n1,human,101,2013-01-09T20:46:02Z,bob99\n")
	write("events_fake_followers.csv.gz", "user_id,label,tweet_id,created_at,rt_of_screen_name\n2,fake,200,2012-07-01T00:00:00Z,\n3,fake,300,2012-07-01T00:00:00Z,\n")
	write("tweets_humans_latest200.csv.gz", "user_id,label,tweet_id,created_at,text\n1,human,100,2013-01-08T20:46:02Z,hello world\n")
	write("tweets_fake_followers.csv.gz", "user_id,label,tweet_id,created_at,text\n2,fake,200,2012-07-01T00:00:00Z,buy followers http://x\n")
	s, err := ImportCresci2015(in, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Accounts != 2 || s.Bots != 1 || s.Humans != 1 || s.Events != 3 {
		t.Fatalf("summary %+v: want 2 BAS accounts and the 3 events of BAS accounts only", s)
	}
	f, _ := os.Open(filepath.Join(out, "accounts.csv"))
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 3 || strings.Join(rows[0], ",") != strings.Join(Columns, ",") {
		t.Fatalf("accounts.csv: %v %v", rows, err)
	}
	zf, _ := os.Open(filepath.Join(out, "events.jsonl.gz"))
	defer zf.Close()
	zr, err := gzip.NewReader(zf)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(zr)
	lines := strings.Split(strings.TrimSpace(body.String()), "\n")
	types := map[string]string{}
	for _, l := range lines {
		ev, err := warden.DecodeEvent([]byte(l))
		if err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		types[ev.ID] = ev.Type + "|" + ev.Text
	}
	want := map[string]string{"tw100": "post|hello world", "tw101": "share|", "tw200": "post|buy followers http://x"}
	for k, v := range want {
		if types[k] != v {
			t.Errorf("event %s = %q, want %q", k, types[k], v)
		}
	}
}

func TestImportCresciLabelMismatch(t *testing.T) {
	in := t.TempDir()
	os.WriteFile(filepath.Join(in, "bas_users.csv"), []byte(cresciHead+"1,A,a,1,1,1,1,1,,,,,,,,,,,,x,E13\n"), 0o644)
	os.WriteFile(filepath.Join(in, "accounts.csv"), []byte("uid,Label\n1,Content Polluter\n"), 0o644)
	_, err := ImportCresci2015(in, t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "account 1") {
		t.Fatalf("error %v, want a label disagreement", err)
	}
}

// sharedDir returns the shared datasets folder or skips the test.
func sharedDir(t *testing.T) string {
	d := filepath.Join("..", "..", "shared", "datasets")
	if _, err := os.Stat(d); err != nil {
		t.Skip("../shared/datasets is absent")
	}
	return d
}

func TestSharedBotRepoCounts(t *testing.T) {
	d := sharedDir(t)
	// Row counts and labels as the dataset README gives them (Go's csv).
	for _, tc := range []struct {
		file         string
		humans, bots int
	}{
		{"botometer-feedback-2019.csv", 379, 138},
		{"cresci-rtbust-2019.csv", 339, 353},
		{"political-bots-2019.csv", 0, 62},
		{"vendor-purchased-2019.csv", 0, 1088},
	} {
		t.Run(tc.file, func(t *testing.T) {
			s, err := ImportBotRepo(filepath.Join(d, "botrepo-yang2020", tc.file), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if s.Humans != tc.humans || s.Bots != tc.bots {
				t.Fatalf("%+v, want %d humans and %d bots", s, tc.humans, tc.bots)
			}
		})
	}
}

func TestSharedCresciUsers(t *testing.T) {
	d := sharedDir(t)
	f, err := os.Open(filepath.Join(d, "cresci-2015", "bas_users.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := ParseCresciUsers(f, "bas_users.csv")
	if err != nil {
		t.Fatal(err)
	}
	bots := 0
	for _, x := range a {
		if x["label"] == "bot" {
			bots++
		}
	}
	if len(a) != 3900 || bots != 1950 {
		t.Fatalf("%d accounts, %d bots; the README says 3,900 with 1,950 fakes", len(a), bots)
	}
}

func FuzzParseBotRepo(f *testing.F) {
	f.Add(botRepoHead + "1,Thu Mar 01 23:17:53 +0000 2007,True,False,\"a\nb\",3,10,20,False,en,0,Rome,Ann,False,ann,5,,False,0\n")
	f.Add("id,knownBot\n1,1\n")
	f.Add("id,knownBot\n\"1\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseBotRepo(strings.NewReader(s), "f.csv")
		if err == nil {
			for _, x := range a {
				if x["label"] != "bot" && x["label"] != "human" {
					t.Fatalf("label %q accepted", x["label"])
				}
			}
			var buf bytes.Buffer
			if err := writeAccounts(&buf, a); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzParseCresciUsers(f *testing.F) {
	f.Add(cresciHead + "7,Ann,ann,10,5,6,1,0,Fri Apr 06 10:58:22 +0000 2007,,it,Rome,Roma,,,1.0,,,desc,2015-02-14 10:54:49,E13\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseCresciUsers(strings.NewReader(s), "f.csv")
	})
}

func FuzzParseCresciEvents(f *testing.F) {
	f.Add("user_id,label,tweet_id,created_at,rt_of_screen_name\n1,human,5,2013-01-08T20:46:02Z,bob\n")
	f.Fuzz(func(t *testing.T, s string) {
		_ = ParseCresciEvents(strings.NewReader(s), "f.csv", func(c CresciTweet) error {
			if err := (func() error { ev := CresciEvent(c, ""); return ev.Validate("") })(); err != nil {
				t.Fatalf("accepted row gives an invalid event: %v", err)
			}
			return nil
		})
	})
}

func FuzzParseCresciLabels(f *testing.F) {
	f.Add("uid,Label\n1,Legitimate User\n2,Content Polluter\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseCresciLabels(strings.NewReader(s), "f.csv")
	})
}

func FuzzParseCresciTexts(f *testing.F) {
	f.Add("user_id,label,tweet_id,created_at,text\n1,human,5,2013-01-08T20:46:02Z,\"hi, there\"\n")
	f.Fuzz(func(t *testing.T, s string) {
		_ = ParseCresciTexts(strings.NewReader(s), "f.csv", func(u, id, text string) error { return nil })
	})
}
