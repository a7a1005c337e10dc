package messaging

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"strconv"
)

// Arm returns the arm of m a user falls in: control or a variant's id,
// each with an equal share. pseudonym is the user's pseudonymous id (the
// survey's salted hash of their platform id, survey.HashID), so that a
// survey respondent's arm follows from their stored hash; the experiment's
// seed and id salt the hash, so experiments split users independently.
func (e *Experiment) Arm(m Message, pseudonym string) string {
	h := sha256.New()
	h.Write([]byte(strconv.FormatUint(e.Seed, 10)))
	h.Write([]byte{0})
	h.Write([]byte(e.ID))
	h.Write([]byte{0})
	h.Write([]byte(pseudonym))
	var sum [sha256.Size]byte
	arms := m.Arms()
	// The top 64 bits scaled to the arms (Lemire's multiply-shift): no
	// modulo bias worth the name.
	x := binary.BigEndian.Uint64(h.Sum(sum[:0]))
	hi, _ := bits.Mul64(x, uint64(len(arms)))
	return arms[hi]
}

// Assignment is what a user is shown in a region.
type Assignment struct {
	Region     string `json:"region"`
	Experiment string `json:"experiment,omitempty"`
	// Variant is the arm: a variant's id, or "control".
	Variant string `json:"variant,omitempty"`
	Control bool   `json:"control"`
	// Show is false for the control arm and where no experiment runs:
	// the app shows nothing then.
	Show  bool   `json:"show"`
	Text  string `json:"text,omitempty"`
	Theme string `json:"theme,omitempty"`
}

// Assign returns the assignment of the user with pseudonym in region
// among the running experiments es (at most one runs in a region).
func Assign(es []Experiment, pseudonym, region string) Assignment {
	a := Assignment{Region: region}
	for i := range es {
		e := &es[i]
		if e.Stopped {
			continue
		}
		m, ok := e.For(region)
		if !ok {
			continue
		}
		a.Experiment, a.Theme = e.ID, m.Theme
		a.Variant = e.Arm(m, pseudonym)
		a.Control = a.Variant == Control
		for _, v := range m.Variants {
			if v.ID == a.Variant {
				a.Show, a.Text = true, v.Text
			}
		}
		return a
	}
	return a
}
