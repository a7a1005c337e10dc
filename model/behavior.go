package model

import (
	"math"
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wardenhq/warden"
)

// Action is the part of an event the behaviour features need. Offline
// evaluation and the live detector both reduce events to Actions and feed them
// to the same Behavior, so a model is trained on exactly what it is served.
type Action struct {
	Time    int64 // event time, Unix seconds
	Share   bool  // a repost of someone else's content
	HasText bool
	Link    bool   // the text carries a link
	Mention bool   // the text mentions an account
	Hash    uint64 // SimHash of the text, 0 when too short to compare
}

// ActionOf reduces ev to an Action.
func ActionOf(ev *warden.Event) Action { return ActionOfText(ev, nil) }

// ActionOfText is ActionOf that also hands each text feature to each (if
// not nil), so a caller hashing the text another way tokenises it once.
func ActionOfText(ev *warden.Event, each func(uint64)) Action {
	a := Action{Time: ev.Time.Unix(), Share: ev.Type == warden.EventShare}
	if ev.Text != "" {
		a.HasText = true
		a.Link = hasLink(ev.Text)
		a.Mention = hasMention(ev.Text)
		a.Hash = simHash(ev.Text, each)
	}
	return a
}

func hasLink(s string) bool {
	return strings.Contains(s, "http://") || strings.Contains(s, "https://") || strings.Contains(s, "www.")
}

func hasMention(s string) bool {
	for i := strings.IndexByte(s, '@'); i >= 0 && i+1 < len(s); {
		r, _ := utf8.DecodeRuneInString(s[i+1:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' {
			return true
		}
		j := strings.IndexByte(s[i+1:], '@')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// TextFeatures calls fn with the hash of every word and every pair of
// neighbouring words of s (lower-cased; every link is one token and every
// mention another, so a scam pasted with a fresh short link or a different
// @victim still matches; punctuation at word edges is dropped) and returns
// the number of words.
func TextFeatures(s string, fn func(uint64)) int {
	var prev uint64
	words := 0
	for len(s) > 0 {
		i := 0
		for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
			i++
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\n' && s[j] != '\t' && s[j] != '\r' {
			j++
		}
		w := s[i:j]
		if len(w) > 0 && !(wordByte(w[0]) && wordByte(w[len(w)-1])) {
			w = strings.TrimFunc(w, isEdge)
		}
		s = s[j:]
		if w == "" {
			continue
		}
		h := uint64(fnvOffset)
		switch {
		case strings.HasPrefix(w, "http") || strings.HasPrefix(w, "www."):
			h = 1
		case w[0] == '@':
			h = 2
		default:
			for k := 0; k < len(w); k++ {
				c := w[k]
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				h ^= uint64(c)
				h *= fnvPrime
			}
		}
		words++
		fn(mix(h))
		if words > 1 {
			fn(mix(prev*31 + h + 0x51))
		}
		prev = h
	}
	return words
}

// isEdge reports whether r is trimmed from the edges of a word.
func isEdge(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '@' && r != '#'
}

// wordByte reports whether the ASCII byte c is kept at a word's edge (for
// bytes of multi-byte runes it reports false, and TrimFunc decides).
func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '@' || c == '#'
}

// MinWords is the fewest words a text needs to be compared for duplication:
// shorter texts ("lol", "thanks!") repeat innocently all the time.
const MinWords = 4

// SimHash returns a 64-bit SimHash of s over TextFeatures, or 0 for a text
// of fewer than MinWords words.
func SimHash(s string) uint64 { return simHash(s, nil) }

func simHash(s string, each func(uint64)) uint64 {
	// Bit b of the hash is set when more than half of the features have bit
	// b set. The features are counted per bit position in a bit-sliced
	// counter: planes[i] holds bit i of all 64 counts, so adding a feature
	// is a carry chain across a few words rather than 64 additions.
	var c bitCounter
	n := TextFeatures(s, func(f uint64) {
		c.add(f)
		if each != nil {
			each(f)
		}
	})
	if n < MinWords {
		return 0
	}
	out := c.majority()
	if out == 0 {
		out = 1 // 0 means "no hash"
	}
	return out
}

// bitCounter counts, for each of 64 bit positions, how many added words have
// that bit set.
type bitCounter struct {
	planes [32]uint64 // planes[i] bit b is bit i of position b's count
	n      uint32     // words added
	top    int        // planes in use
}

func (c *bitCounter) add(f uint64) {
	c.n++
	carry := f
	for i := 0; carry != 0; i++ {
		p := c.planes[i]
		c.planes[i], carry = p^carry, p&carry
		if i >= c.top {
			c.top = i + 1
		}
	}
}

// majority returns the word whose bit b is set when more than half of the
// added words have bit b set (the SimHash of their ±1 votes: a tie is 0). It
// compares all 64 counts with n/2 at once, from the top bit plane down.
func (c *bitCounter) majority() uint64 {
	half := c.n / 2 // count > n/2 exactly when count > floor(n/2)
	if c.top < 32 && half>>c.top != 0 {
		return 0 // half needs more bits than any count has
	}
	var gt uint64
	eq := ^uint64(0) // lanes whose count equals half in the planes seen so far
	for i := c.top - 1; i >= 0; i-- {
		if half>>i&1 == 0 {
			gt |= eq & c.planes[i]
			eq &^= c.planes[i]
		} else {
			eq &= c.planes[i]
		}
	}
	return gt
}

// mix is the splitmix64 finaliser: it spreads FNV's weak high bits.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// Near reports whether two SimHashes are near-duplicates (Hamming distance at
// most 3 of 64 bits).
func Near(a, b uint64) bool { return a != 0 && b != 0 && bits.OnesCount64(a^b) <= 3 }

const (
	gapBins   = 25  // log2 bins of seconds between actions: 0, 1, 2-3, … ≥ 2^23
	decayAt   = 256 // counts halve when they reach this, so features follow recent behaviour
	recentTxt = 8   // earlier texts a new text is compared with for self-duplication
)

// Behavior accumulates an account's actions in bounded memory (about 300
// bytes). Counts decay by halving, so the features describe roughly the last
// few hundred actions and texts, whatever the account's age. This also
// equalises training data whose timelines were cut at different lengths.
type Behavior struct {
	Last                         int64 // latest action time seen
	N, Shares                    float32
	Texts, Links, Mentions, Dups float32
	Gaps                         [gapBins]float32
	Hours                        [24]float32
	SumLog, SumLog2, NGaps       float32
	recent                       [recentTxt]uint64
	ri                           uint8
}

// Add folds one action into b. Actions may arrive slightly out of order;
// the gap is taken from the latest action seen.
func (b *Behavior) Add(a Action) {
	if b.N > 0 || b.Last != 0 {
		gap := a.Time - b.Last
		if gap < 0 {
			gap = -gap
		}
		bin := bits.Len64(uint64(gap))
		if bin >= gapBins {
			bin = gapBins - 1
		}
		b.Gaps[bin]++
		l := float32(math.Log2(float64(gap) + 1))
		b.SumLog += l
		b.SumLog2 += l * l
		b.NGaps++
	}
	if a.Time > b.Last {
		b.Last = a.Time
	}
	h := ((a.Time % 86400) + 86400) % 86400 / 3600
	b.Hours[h]++
	b.N++
	if a.Share {
		b.Shares++
	}
	if a.HasText {
		b.Texts++
		if a.Link {
			b.Links++
		}
		if a.Mention {
			b.Mentions++
		}
		if a.Hash != 0 {
			for _, r := range b.recent {
				if Near(r, a.Hash) {
					b.Dups++
					break
				}
			}
			b.recent[b.ri%recentTxt] = a.Hash
			b.ri++
		}
	}
	if b.N >= decayAt {
		b.N /= 2
		b.Shares /= 2
		for i := range b.Gaps {
			b.Gaps[i] /= 2
		}
		for i := range b.Hours {
			b.Hours[i] /= 2
		}
		b.SumLog /= 2
		b.SumLog2 /= 2
		b.NGaps /= 2
	}
	if b.Texts >= decayAt {
		b.Texts /= 2
		b.Links /= 2
		b.Mentions /= 2
		b.Dups /= 2
	}
}

// entropy returns the Shannon entropy of h normalised to 0..1.
func entropy(h []float32) float64 {
	var tot float64
	for _, x := range h {
		tot += float64(x)
	}
	if tot == 0 {
		return math.NaN()
	}
	var e float64
	for _, x := range h {
		if x > 0 {
			p := float64(x) / tot
			e -= p * math.Log(p)
		}
	}
	return e / math.Log(float64(len(h)))
}
