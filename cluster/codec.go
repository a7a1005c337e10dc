package cluster

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
)

// snapMagic starts a partition snapshot; the stream sequence follows it.
const snapMagic = "warden-partition-snapshot-1\n"

func snapshotHeader(seq uint64) []byte {
	b := make([]byte, len(snapMagic)+8)
	copy(b, snapMagic)
	binary.LittleEndian.PutUint64(b[len(snapMagic):], seq)
	return b
}

// decodeSnapshot splits a snapshot object into the stream sequence it
// reflects and the engine state.
func decodeSnapshot(b []byte) (uint64, []byte, error) {
	if len(b) < len(snapMagic)+8 || string(b[:len(snapMagic)]) != snapMagic {
		return 0, nil, errors.New("not a warden partition snapshot")
	}
	return binary.LittleEndian.Uint64(b[len(snapMagic):]), b[len(snapMagic)+8:], nil
}

func encodeConfig(c clusterConfig) []byte { b, _ := json.Marshal(c); return b }

// decodeConfig reads the cluster's configuration record strictly.
func decodeConfig(b []byte) (clusterConfig, error) {
	var c clusterConfig
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return c, err
	}
	if d.More() {
		return c, errors.New("trailing data after the configuration")
	}
	if c.Partitions < 1 || c.Partitions > 4096 {
		return c, fmt.Errorf("partitions %d is out of range", c.Partitions)
	}
	return c, nil
}

func encodeMember(m Member) []byte { b, _ := json.Marshal(m); return b }

func decodeMember(b []byte) (Member, error) {
	var m Member
	if err := json.Unmarshal(b, &m); err != nil {
		return m, err
	}
	if m.ID == "" {
		return m, errors.New("member without an id")
	}
	return m, nil
}

// RulesDigest identifies a rule set: the SHA-256 of every file's path and
// contents, in path order, as "sha256:HEX".
func RulesDigest(fsys fs.FS) (string, error) {
	var paths []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("rules digest: %w", err)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return "", fmt.Errorf("rules digest: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
