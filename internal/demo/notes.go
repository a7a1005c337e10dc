package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/wardenhq/warden/messaging"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/survey"
)

// surveyNotes are the demo's interview notes of its latest wave: a few
// paraphrased quotes per region, checked as an import checks them.
const surveyNotes = `ref,region,segment,themes,quote,experience
US-01,US,medium,privacy;transparency,"I'd trust it more if I could see what they keep about me, not just read a policy.",
US-02,US,low,scams,"Someone messaged me about a prize and asked for a fee; I reported it but never heard back at first.",exposed_to_actioned=yes
US-03,US,high,control,"Turning off ad personalisation took two taps, which surprised me in a good way.",
GB-01,GB,medium,compliance;privacy,"Knowing they answer to the regulator makes me a bit calmer about my data.",
GB-02,GB,low,moderation,"Reports seem to vanish into a black box.",reported=yes
MX-01,MX,high,scams;moderation,"The fake seller was gone the day after I reported it, and they told me so.",report_outcome=actioned
MX-02,MX,medium,bots,"There are fewer fake followers than last year, but still some.",
JP-01,JP,low,privacy,"I don't know who can read my messages, so I keep them short.",
JP-02,JP,low,scams;safety,"After the prize scam message I stopped answering people I don't know.",exposed_to_actioned=yes
JP-03,JP,medium,transparency,"The rules are long and written for lawyers; a short summary would help.",
FR-01,FR,medium,compliance,"Because of the GDPR I assume they cannot sell my data, but I'm not sure.",
FR-02,FR,low,transparency;moderation,"My post was removed and the reason was one vague sentence.",
DE-01,DE,medium,privacy;control,"I want to decide myself what is stored and for how long.",
DE-02,DE,high,security,"Since I turned on two-factor sign-in I feel safer here.",twofa=yes
ID-01,ID,high,safety,"I feel safe here; my friends and family are all on it.",
ID-02,ID,high,moderation,"When I reported a scam account someone looked at it within a day.",reported=yes
ID-03,ID,medium,bots,"Some accounts that comment within seconds look automated.",
`

// demoLift is how much the demo's latest wave raises a respondent's
// latent sense that their data is safe (and, through it, trust by 0.55 of
// it) for their arm of the built-in messaging experiment: the US
// transparency message and the EU compliance one work, the US data
// control message does nothing, the JP one helps a little.
var demoLift = map[string]float64{"us-data-transparency": 1.0, "eu-regulatory-compliance": 0.7, "jp-action-on-scams": 0.5}

// demoExperiment is the built-in experiment the demo runs.
func demoExperiment() messaging.Experiment { return messaging.Defaults()[0] }

// messageLift returns, for the platform id pid in region, the lift of the
// arm the demo experiment assigns them (by the survey's hash of pid).
func messageLift(salt []byte) func(region, pid string) float64 {
	e := demoExperiment()
	return func(region, pid string) float64 {
		m, ok := e.For(region)
		if !ok || pid == "" {
			return 0
		}
		return demoLift[e.Arm(m, survey.HashID(salt, pid))]
	}
}

// surveyExtras stores the demo's messaging experiment and the interview
// notes of wave.
func surveyExtras(ctx context.Context, db *sqlstore.DB, wave string) error {
	if _, err := db.SaveMessageExperiment(ctx, demoExperiment(), "demo"); err != nil {
		return err
	}
	w, err := db.Wave(ctx, wave)
	if err != nil {
		return err
	}
	notes, err := survey.ParseNotes(w, survey.DefaultThemes(), strings.NewReader(surveyNotes))
	if err != nil {
		return fmt.Errorf("demo notes: %w", err)
	}
	_, err = db.SaveNotes(ctx, wave, notes)
	return err
}
