package sqlstore

import (
	"context"
	"fmt"

	"github.com/wardenhq/warden"
)

// PolicyDocument is one stored version of a policy document. Declares,
// MaterialReasons and WhatChanged are JSON; Diff is the line diff against
// the previous version of the same kind and region.
type PolicyDocument struct {
	Seq             int64  `db:"seq"`
	ID              string `db:"id"`
	Kind            string `db:"kind"`
	Region          string `db:"region"`
	Version         string `db:"version"`
	Body            string `db:"body"`
	BodySHA256      string `db:"body_sha256"`
	Declares        string `db:"declares"`
	Material        bool   `db:"material"`
	MaterialReasons string `db:"material_reasons"`
	WhatChanged     string `db:"what_changed"`
	Diff            string `db:"diff"`
	CreatedBy       string `db:"created_by"`
	CreatedUS       int64  `db:"created_us"`
}

const documentMetaCols = "seq, id, kind, region, version, body_sha256, declares, material, material_reasons, what_changed, created_by, created_us"

// AddDocument stores a new version of the kind and region series. build
// gets the series' latest version (nil for the first) and returns the row to
// insert; the series is locked meanwhile, so two versions posted at once are
// each compared with the one before them. A version name already used in the
// series is ECONFLICT, and nothing is stored.
func (db *DB) AddDocument(ctx context.Context, kind, region string, build func(prev *PolicyDocument) (*PolicyDocument, error)) (*PolicyDocument, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if db.Dialect == Postgres {
		// SQLite has one writer, and this transaction began IMMEDIATE.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", "policy_documents:"+kind+":"+region); err != nil {
			return nil, fmt.Errorf("lock series: %w", err)
		}
	}
	prev, err := getOne[PolicyDocument](ctx, tx, "SELECT seq, id, kind, region, version, body, body_sha256, declares, material, material_reasons, what_changed, diff, created_by, created_us FROM policy_documents WHERE kind = $1 AND region = $2 ORDER BY seq DESC LIMIT 1", kind, region)
	if err != nil {
		return nil, err
	}
	d, err := build(prev)
	if err != nil {
		return nil, err
	}
	var n int
	if err := tx.GetContext(ctx, &n, "SELECT COUNT(*) FROM policy_documents WHERE kind = $1 AND region = $2 AND version = $3", kind, region, d.Version); err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, &warden.Error{Code: warden.ECONFLICT, Field: "version", Message: fmt.Sprintf("the %s for %s already has a version %q: name the new version differently", kind, region, d.Version)}
	}
	err = tx.GetContext(ctx, &d.Seq, `INSERT INTO policy_documents (id, kind, region, version, body, body_sha256, declares, material, material_reasons, what_changed, diff, created_by, created_us)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq`,
		d.ID, kind, region, d.Version, d.Body, d.BodySHA256, d.Declares, d.Material, d.MaterialReasons, d.WhatChanged, d.Diff, d.CreatedBy, d.CreatedUS)
	if err != nil {
		return nil, fmt.Errorf("insert document: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	d.Kind, d.Region = kind, region
	return d, nil
}

// DocumentByID returns one document with its text and diff, or nil.
func (db *DB) DocumentByID(ctx context.Context, id string) (*PolicyDocument, error) {
	return getOne[PolicyDocument](ctx, db.Reader, "SELECT "+documentMetaCols+", body, diff FROM policy_documents WHERE id = $1", id)
}

// DocumentsMeta returns every document version without its text and diff,
// oldest first.
func (db *DB) DocumentsMeta(ctx context.Context) ([]PolicyDocument, error) {
	var out []PolicyDocument
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+documentMetaCols+" FROM policy_documents ORDER BY seq")
	return out, err
}

// LastDocumentSeq returns the seq of the newest document version, 0 when
// there is none: a cheap way to tell that a cached list is current.
func (db *DB) LastDocumentSeq(ctx context.Context) (int64, error) {
	var n int64
	err := db.Reader.GetContext(ctx, &n, "SELECT COALESCE(MAX(seq), 0) FROM policy_documents")
	return n, err
}

// ConsentDecision is one user's accept or decline of one document version,
// with its signed receipt.
type ConsentDecision struct {
	Seq              int64  `db:"seq"`
	ReceiptID        string `db:"receipt_id"`
	UserID           string `db:"user_id"`
	DocumentID       string `db:"document_id"`
	DocumentSeq      int64  `db:"document_seq"`
	Kind             string `db:"kind"`
	Region           string `db:"region"`
	Version          string `db:"version"`
	BodySHA256       string `db:"body_sha256"`
	Decision         string `db:"decision"`
	CollectionMethod string `db:"collection_method"`
	KeyID            string `db:"key_id"`
	Receipt          string `db:"receipt"`
	AtUS             int64  `db:"at_us"`
}

const consentCols = "seq, receipt_id, user_id, document_id, document_seq, kind, region, version, body_sha256, decision, collection_method, key_id, at_us"

// AddConsentDecision stores a decision and its receipt.
func (db *DB) AddConsentDecision(ctx context.Context, d *ConsentDecision) error {
	err := db.GetContext(ctx, &d.Seq, `INSERT INTO consent_decisions (receipt_id, user_id, document_id, document_seq, kind, region, version, body_sha256, decision, collection_method, key_id, receipt, at_us)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq`,
		d.ReceiptID, d.UserID, d.DocumentID, d.DocumentSeq, d.Kind, d.Region, d.Version, d.BodySHA256, d.Decision, d.CollectionMethod, d.KeyID, d.Receipt, d.AtUS)
	if err != nil {
		return fmt.Errorf("insert consent decision: %w", err)
	}
	return nil
}

// UserConsentDecisions returns a user's decisions, oldest first, without
// their receipts.
func (db *DB) UserConsentDecisions(ctx context.Context, user string) ([]ConsentDecision, error) {
	var out []ConsentDecision
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+consentCols+" FROM consent_decisions WHERE user_id = $1 ORDER BY seq", user)
	return out, err
}

// ConsentReceipt returns one decision with its receipt, or nil.
func (db *DB) ConsentReceipt(ctx context.Context, receiptID string) (*ConsentDecision, error) {
	return getOne[ConsentDecision](ctx, db.Reader, "SELECT "+consentCols+", receipt FROM consent_decisions WHERE receipt_id = $1", receiptID)
}
