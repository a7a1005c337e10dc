package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/wardenhq/warden/consent"
	"github.com/wardenhq/warden/sqlstore"
)

// hashDomain starts every entry's canonical encoding, so an entry hash can
// never be mistaken for another kind of hash.
const hashDomain = "warden-access-entry-v1"

// Canonical is the encoding an entry's hash covers: the domain, then each
// field as a 4-byte big-endian length and its bytes, in a fixed order. It
// names the chain's subject, never the user id, so erasing the user's link
// to the chain (the salt) keeps every hash valid.
func Canonical(r *sqlstore.AccessRow) []byte {
	fields := [...]string{r.ID, r.Subject, strconv.FormatInt(r.ChainSeq, 10), r.ActorClass, r.ActorID, r.ActorRegion, r.UserRegion,
		r.Purpose, r.Ticket, r.Categories, strconv.FormatInt(r.TimeUS, 10), strconv.FormatInt(r.RecordedUS, 10)}
	n := len(hashDomain)
	for _, f := range fields {
		n += 4 + len(f)
	}
	b := make([]byte, 0, n)
	b = append(b, hashDomain...)
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// EntryHash is hex(SHA-256(prev hash ‖ 0x00 ‖ Canonical(r))).
func EntryHash(r *sqlstore.AccessRow) string {
	h := sha256.New()
	h.Write([]byte(r.PrevHash))
	h.Write([]byte{0})
	h.Write(Canonical(r))
	var sum [32]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// SubjectOf is the chain key of user under salt: hex SHA-256 of both.
func SubjectOf(salt, user string) string {
	sum := sha256.Sum256([]byte("warden-access-subject\x00" + salt + "\x00" + user))
	return hex.EncodeToString(sum[:])
}

func newSalt() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Chainer is what the store seals rows with.
var Chainer = sqlstore.AccessChainer{
	NewSalt: newSalt,
	Subject: SubjectOf,
	Seal:    func(r *sqlstore.AccessRow) { r.Hash = EntryHash(r) },
}

// rootOf is the checkpoint root over chain heads: SHA-256 over
// "subject chain_seq hash\n" lines sorted by subject.
func rootOf(heads map[string]head) string {
	keys := make([]string, 0, len(heads))
	for k := range heads {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s %d %s\n", k, heads[k].seq, heads[k].hash)
	}
	return hex.EncodeToString(h.Sum(nil))
}

type head struct {
	seq  int64
	hash string
}

// CheckpointPayload is the JWS payload of a checkpoint.
type CheckpointPayload struct {
	Type    string `json:"typ"`
	LastSeq int64  `json:"last_seq"`
	Entries int64  `json:"entries"`
	Chains  int64  `json:"chains"`
	Root    string `json:"root"`
	At      int64  `json:"iat"`
}

const checkpointType = "warden-access-checkpoint"

// MakeCheckpoint signs every chain's head as of the last entry recorded
// before now - lag with keys, and stores it. It makes none (nil) when
// nothing was appended since the last checkpoint. The lag keeps a
// checkpoint from passing over an entry whose seq was taken but whose
// transaction (on another replica) has not committed yet.
func MakeCheckpoint(ctx context.Context, db *sqlstore.DB, keys *consent.Keyring, now time.Time, lag time.Duration) (*sqlstore.AccessCheckpoint, error) {
	last, err := db.LastAccessSeqBefore(ctx, now.Add(-lag).UnixMicro())
	if err != nil {
		return nil, err
	}
	if last == 0 {
		return nil, nil
	}
	cps, err := db.AccessCheckpoints(ctx)
	if err != nil {
		return nil, err
	}
	if len(cps) > 0 && cps[len(cps)-1].LastSeq >= last {
		return nil, nil
	}
	rows, err := db.AccessHeads(ctx, last)
	if err != nil {
		return nil, err
	}
	// Count entries up to last only: an append racing this read is in the
	// next checkpoint.
	heads := make(map[string]head, len(rows))
	for s, r := range rows {
		heads[s] = head{r.ChainSeq, r.Hash}
	}
	var entries int64
	for _, h := range heads {
		entries += h.seq
	}
	p := CheckpointPayload{Type: checkpointType, LastSeq: last, Entries: entries, Chains: int64(len(heads)), Root: rootOf(heads), At: now.Unix()}
	b, _ := json.Marshal(p)
	jws, kid, err := keys.Sign(b)
	if err != nil {
		return nil, err
	}
	cp := &sqlstore.AccessCheckpoint{LastSeq: p.LastSeq, Entries: p.Entries, Chains: p.Chains, Root: p.Root, KeyID: kid, JWS: jws, AtUS: now.UnixMicro()}
	return cp, db.AddAccessCheckpoint(ctx, cp)
}

// Problem is the first entry (or checkpoint) that does not verify.
type Problem struct {
	Seq     int64  `json:"seq"`
	EntryID string `json:"entry_id,omitempty"`
	// Checkpoint is the checkpoint's seq when the problem is one.
	Checkpoint int64  `json:"checkpoint,omitempty"`
	Reason     string `json:"reason"`
}

func (p *Problem) String() string {
	if p.EntryID != "" {
		return fmt.Sprintf("entry %s (seq %d): %s", p.EntryID, p.Seq, p.Reason)
	}
	return fmt.Sprintf("checkpoint %d: %s", p.Checkpoint, p.Reason)
}

// Report is what Verify found.
type Report struct {
	OK          bool     `json:"ok"`
	Entries     int64    `json:"entries"`
	Chains      int      `json:"chains"`
	Checkpoints int      `json:"checkpoints"`
	Erased      int64    `json:"erased_entries"`
	Problem     *Problem `json:"problem,omitempty"`
}

// Verify checks every chain of the ledger in seq order: each entry follows
// the one before it in its chain (position, previous hash), its hash is that
// of its fields, and its user id (when not erased) is the one its chain's
// subject was made from. Every checkpoint's signature must verify with set
// (nil: signatures are not checked), and its root and entry count must match
// the chains as of its last seq: an entry removed from the end of a chain
// shows there. progress, when set, is called every 100,000 entries with the
// count so far and the total. It stops at the first problem.
func Verify(ctx context.Context, db *sqlstore.DB, set *jose.JSONWebKeySet, progress func(done, total int64)) (Report, error) {
	var rep Report
	total, err := db.LastAccessSeq(ctx)
	if err != nil {
		return rep, err
	}
	salts, err := db.AccessSalts(ctx)
	if err != nil {
		return rep, err
	}
	cps, err := db.AccessCheckpoints(ctx)
	if err != nil {
		return rep, err
	}
	rep.Checkpoints = len(cps)
	for _, cp := range cps {
		if p := checkSignature(cp, set); p != nil {
			rep.Problem = p
			return rep, nil
		}
	}
	heads := map[string]head{}
	next := 0 // the next checkpoint to compare
	check := func(upTo int64) *Problem {
		for next < len(cps) && cps[next].LastSeq < upTo {
			cp := cps[next]
			next++
			var entries int64
			for _, h := range heads {
				entries += h.seq
			}
			if entries != cp.Entries || int64(len(heads)) != cp.Chains {
				return &Problem{Checkpoint: cp.Seq, Reason: fmt.Sprintf("signed for %d entries in %d chains up to seq %d; the ledger holds %d in %d: entries were removed", cp.Entries, cp.Chains, cp.LastSeq, entries, len(heads))}
			}
			if r := rootOf(heads); r != cp.Root {
				return &Problem{Checkpoint: cp.Seq, Reason: fmt.Sprintf("the chain heads up to seq %d do not hash to the signed root: an entry at the end of a chain was changed or removed", cp.LastSeq)}
			}
		}
		return nil
	}
	verified := map[string]string{} // subject → the user id already checked against its salt
	checkRow := func(r *sqlstore.AccessRow) *Problem {
		if p := check(r.Seq); p != nil {
			return p
		}
		h := heads[r.Subject]
		bad := func(format string, args ...any) *Problem {
			return &Problem{Seq: r.Seq, EntryID: r.ID, Reason: fmt.Sprintf(format, args...)}
		}
		if r.ChainSeq != h.seq+1 {
			return bad("is at position %d of its chain where %d was expected: an entry before it was removed, or entries were reordered", r.ChainSeq, h.seq+1)
		}
		if r.PrevHash != h.hash {
			return bad("does not follow the entry before it in its chain (previous hash differs): entries were reordered or replaced")
		}
		if EntryHash(r) != r.Hash {
			return bad("its fields do not hash to its stored hash: the entry was edited")
		}
		if r.UserID == "" {
			if _, live := salts[r.Subject]; live {
				return bad("its user id was removed outside an erasure")
			}
			rep.Erased++
		} else if verified[r.Subject] != r.UserID {
			if s, ok := salts[r.Subject]; !ok || s[0] != r.UserID || SubjectOf(s[1], r.UserID) != r.Subject {
				return bad("names user %q, whose chain it is not in: the user id was edited", r.UserID)
			}
			verified[r.Subject] = r.UserID
		}
		heads[r.Subject] = head{r.ChainSeq, r.Hash}
		rep.Entries++
		if progress != nil && rep.Entries%100_000 == 0 {
			progress(rep.Entries, total)
		}
		return nil
	}
	// The store is read in one goroutine while this one checks: reading is
	// most of the cost, and the two overlap on two cores.
	scanCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []sqlstore.AccessRow, 4)
	scanErr := make(chan error, 1)
	go func() {
		defer close(batches)
		batch := make([]sqlstore.AccessRow, 0, 2048)
		err := db.ScanAccess(scanCtx, func(r *sqlstore.AccessRow) error {
			batch = append(batch, *r)
			if len(batch) == cap(batch) {
				select {
				case batches <- batch:
				case <-scanCtx.Done():
					return scanCtx.Err()
				}
				batch = make([]sqlstore.AccessRow, 0, 2048)
			}
			return nil
		})
		if err == nil && len(batch) > 0 {
			batches <- batch
		}
		scanErr <- err
	}()
	for batch := range batches {
		for i := range batch {
			if p := checkRow(&batch[i]); p != nil {
				rep.Problem = p
				cancel()
				for range batches {
				}
				return rep, nil
			}
		}
	}
	if err := <-scanErr; err != nil {
		return rep, err
	}
	if p := check(1 << 62); p != nil {
		rep.Problem = p
		return rep, nil
	}
	if progress != nil {
		progress(rep.Entries, total)
	}
	rep.Chains = len(heads)
	rep.OK = true
	return rep, nil
}

func checkSignature(cp sqlstore.AccessCheckpoint, set *jose.JSONWebKeySet) *Problem {
	bad := func(format string, args ...any) *Problem {
		return &Problem{Checkpoint: cp.Seq, Reason: fmt.Sprintf(format, args...)}
	}
	var payload []byte
	if set != nil {
		b, err := consent.VerifyReceipt(cp.JWS, *set)
		if err != nil {
			return bad("its signature does not verify: %v", err)
		}
		payload = b
	} else {
		obj, err := jose.ParseSignedCompact(cp.JWS, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			return bad("not a compact JWS: %v", err)
		}
		payload = obj.UnsafePayloadWithoutVerification()
	}
	var p CheckpointPayload
	if err := json.Unmarshal(payload, &p); err != nil || p.Type != checkpointType {
		return bad("its payload is not a ledger checkpoint")
	}
	if p.LastSeq != cp.LastSeq || p.Entries != cp.Entries || p.Chains != cp.Chains || p.Root != cp.Root {
		return bad("its stored figures differ from the signed ones: the checkpoint row was edited")
	}
	return nil
}
