package consent

import (
	"net/mail"
	"strings"

	"github.com/wardenhq/warden/sqlstore"
)

// ReceiptVersion is the Kantara Consent Receipt specification a receipt
// follows.
const ReceiptVersion = "KI-CR-v1.1.0"

// Receipt is the JWS payload of a consent receipt: the fields of the Kantara
// Initiative Consent Receipt Specification v1.1, the JWT claims that name
// its issuer, subject and time, and Warden's two additions: the decision
// (a receipt is made for a decline too) and the exact document version
// served.
type Receipt struct {
	Version          string           `json:"version"`
	Jurisdiction     string           `json:"jurisdiction"`
	ConsentTimestamp int64            `json:"consentTimestamp"`
	CollectionMethod string           `json:"collectionMethod"`
	ConsentReceiptID string           `json:"consentReceiptID"`
	Language         string           `json:"language,omitempty"`
	PIIPrincipalID   string           `json:"piiPrincipalId"`
	PIIControllers   []PIIController  `json:"piiControllers"`
	PolicyURL        string           `json:"policyUrl"`
	Services         []ReceiptService `json:"services"`
	Sensitive        bool             `json:"sensitive"`
	SPICat           []string         `json:"spiCat"`

	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	IssuedAt int64  `json:"iat"`
	JWTID    string `json:"jti"`

	Decision string          `json:"decision"`
	Document ReceiptDocument `json:"document"`
}

// PIIController is a Kantara piiControllers entry.
type PIIController struct {
	PIIController string `json:"piiController"`
	OnBehalf      bool   `json:"onBehalf"`
	Contact       string `json:"contact"`
	Address       string `json:"address"`
	Email         string `json:"email"`
	Phone         string `json:"phone"`
}

// ReceiptService is a Kantara services entry.
type ReceiptService struct {
	Service  string           `json:"service"`
	Purposes []ReceiptPurpose `json:"purposes"`
}

// ReceiptPurpose is a Kantara purposes entry.
type ReceiptPurpose struct {
	Purpose              string   `json:"purpose"`
	PurposeCategory      []string `json:"purposeCategory"`
	ConsentType          string   `json:"consentType"`
	PIICategory          []string `json:"piiCategory"`
	PrimaryPurpose       bool     `json:"primaryPurpose"`
	Termination          string   `json:"termination"`
	ThirdPartyDisclosure bool     `json:"thirdPartyDisclosure"`
	ThirdPartyName       string   `json:"thirdPartyName,omitempty"`
}

// ReceiptDocument names the version the user was shown and decided on.
type ReceiptDocument struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"`
	Region     string `json:"region"`
	Version    string `json:"version"`
	TextSHA256 string `json:"text_sha256"`
}

// Issuer is the iss of every receipt.
const Issuer = "warden"

func buildReceipt(d *sqlstore.ConsentDecision, decl Declarations, policyURL string) Receipt {
	ts := d.AtUS / 1e6
	jur := d.Region
	if jur == AnyRegion {
		jur = "global"
	}
	ctrl := PIIController{PIIController: decl.Controller, Contact: decl.Contact}
	if a, err := mail.ParseAddress(decl.Contact); err == nil {
		ctrl.Email = a.Address
	}
	termination := decl.Retention
	if termination == "" {
		termination = "until the user withdraws consent"
	}
	purposes := decl.Purposes
	if len(purposes) == 0 {
		purposes = []string{"agreement to the " + kindWords(d.Kind)}
	}
	svc := ReceiptService{Service: kindWords(d.Kind) + " " + d.Version}
	for i, p := range purposes {
		svc.Purposes = append(svc.Purposes, ReceiptPurpose{
			Purpose: p, PurposeCategory: []string{p}, ConsentType: "EXPLICIT",
			PIICategory: nonNil(decl.DataCategories), PrimaryPurpose: i == 0, Termination: termination,
			ThirdPartyDisclosure: len(decl.Recipients) > 0, ThirdPartyName: strings.Join(decl.Recipients, ", "),
		})
	}
	if policyURL == "" {
		policyURL = "urn:warden:document:" + d.DocumentID
	}
	return Receipt{
		Version: ReceiptVersion, Jurisdiction: jur, ConsentTimestamp: ts, CollectionMethod: d.CollectionMethod,
		ConsentReceiptID: d.ReceiptID, PIIPrincipalID: d.UserID, PIIControllers: []PIIController{ctrl},
		PolicyURL: policyURL, Services: []ReceiptService{svc}, SPICat: []string{},
		Issuer: Issuer, Subject: d.UserID, IssuedAt: ts, JWTID: d.ReceiptID,
		Decision: d.Decision,
		Document: ReceiptDocument{ID: d.DocumentID, Kind: d.Kind, Region: d.Region, Version: d.Version, TextSHA256: d.BodySHA256},
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
