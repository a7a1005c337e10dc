// Package detect holds Warden's built-in detectors: the bot-likeness model,
// timing, near-duplicate text, coordinated (lockstep) behaviour and linked
// accounts. The engine calls Observe once per event and exposes the result to
// rules as features.
package detect

import "github.com/wardenhq/warden"

// Features are what the built-in detectors know about an event's actor at the
// event's time. Rules read them (for example detect.bot_score).
type Features struct {
	BotScore          float64  // bot-likeness of the actor, 0..1
	BotReasons        []string // the model features that drove BotScore, in words
	DupTextAccounts   int      // distinct accounts that recently posted near-duplicate text, this one included
	LockstepGroup     int      // accounts acting on the same targets in lockstep with the actor; 0 if none
	LinkedAccounts    int      // accounts linked to the actor by device, IP, email or phone, the actor included
	LinkedNewShare    float64  // share of the linked accounts first seen in the last 7 days
	ClusterAgeSeconds float64  // event-time age of the actor's linked cluster
}

// Set runs the built-in detectors. A nil *Set observes nothing.
type Set struct{}

// Observe updates the detectors with ev and returns what they know of its
// actor. It is safe for concurrent use.
func (s *Set) Observe(ev *warden.Event) Features {
	return Features{}
}
