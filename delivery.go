package warden

// Delivery is one outbound message in the outbox: a user notification or a
// machine event for the platform, sent by webhook or e-mail and kept until
// it is delivered or given up on. It is written in the same transaction as
// what it reports, so a committed change is always delivered or
// dead-lettered (package notify sends it).
type Delivery struct {
	Seq int64 `db:"seq" json:"seq"`
	// Kind is what the payload carries: DeliveryNotification or a machine
	// event type (EventDecisionCreated, EventRestrictionLifted).
	Kind string `db:"kind" json:"kind"`
	// Ref is the notification or decision the delivery belongs to.
	Ref       string `db:"notification" json:"ref"`
	Channel   string `db:"channel" json:"channel"` // ChannelWebhook or ChannelEmail
	Target    string `db:"target" json:"target"`   // the URL or the address
	Payload   string `db:"payload" json:"-"`
	Status    string `db:"status" json:"status"`
	Attempts  int    `db:"attempts" json:"attempts"`
	NextAt    Micros `db:"next_us" json:"next_at"`
	LastError string `db:"last_error" json:"last_error,omitempty"`
	CreatedAt Micros `db:"created_us" json:"created_at"`
	DoneAt    Micros `db:"done_us" json:"done_at,omitempty"`
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDead      = "dead"
)

// Delivery channels.
const (
	ChannelWebhook = "webhook"
	ChannelEmail   = "email"
)

// What a delivery carries: a notification to a user, or one of the machine
// events the platform acts on (a decision to enforce, a restriction ended
// by its term or by an appeal).
const (
	DeliveryNotification   = "notification"
	EventDecisionCreated   = "decision.created"
	EventRestrictionLifted = "restriction.lifted"
)
