package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ContactFacts is what Parley knows about a contact by itself, for the
// outbound API's profile (GET /api/v1/contacts/{ref}).
type ContactFacts struct {
	FirstSeen     time.Time `json:"first_seen"`
	LastMessageAt time.Time `json:"last_message_at,omitzero"`
	LastInboundAt time.Time `json:"last_inbound_at,omitzero"`
	MessagesIn    int       `json:"messages_in"`
	MessagesOut   int       `json:"messages_out"`
	// Conversations counts runs of messages with no gap of ConversationGap.
	Conversations int  `json:"conversations"`
	Tickets       int  `json:"tickets"`
	OpenTicket    bool `json:"open_ticket"`
	// CSATAvg is the mean of the rated tickets (0 when none); CSATCount how
	// many were rated.
	CSATAvg   float64   `json:"csat_avg,omitempty"`
	CSATCount int       `json:"csat_count"`
	Consent   []Consent `json:"consent"`
}

// ConversationGap is the silence that separates two conversations in
// ContactFacts.
const ConversationGap = 30 * time.Minute

// ContactFacts collects the contact's facts in one read transaction: its
// history is walked once (from the newest message back).
func (db *DB) ContactFacts(id string) (ContactFacts, error) {
	var f ContactFacts
	err := db.view(func(tx *bolt.Tx) error {
		c, err := getContact(tx, id)
		if err != nil {
			return err
		}
		f.FirstSeen = c.CreatedAt
		var newer time.Time // the message after the current one in time
		var derr error
		werr := walkHistory(tx, id, func(_, seq uint64, data []byte) bool {
			var m struct {
				Dir string    `json:"dir"`
				At  time.Time `json:"at"`
			}
			if err := json.Unmarshal(data, &m); err != nil {
				derr = fmt.Errorf("store: message %d of %q: %w", seq, id, err)
				return false
			}
			if f.LastMessageAt.IsZero() {
				f.LastMessageAt = m.At
			}
			if m.Dir == DirIn {
				f.MessagesIn++
				if f.LastInboundAt.IsZero() {
					f.LastInboundAt = m.At
				}
			} else {
				f.MessagesOut++
			}
			if newer.IsZero() || newer.Sub(m.At) > ConversationGap {
				f.Conversations++
			}
			newer = m.At
			if m.At.Before(f.FirstSeen) {
				f.FirstSeen = m.At
			}
			return true
		})
		if werr != nil {
			return werr
		}
		if derr != nil {
			return derr
		}
		sum := 0
		for _, n := range ticketsOf(tx, id) {
			t, err := getTicket(tx, n)
			if err != nil {
				return err
			}
			f.Tickets++
			if t.Status != TicketResolved {
				f.OpenTicket = true
			}
			if t.CSAT > 0 {
				f.CSATCount++
				sum += t.CSAT
			}
		}
		if f.CSATCount > 0 {
			f.CSATAvg = float64(sum) / float64(f.CSATCount)
		}
		return nil
	})
	if err != nil {
		return f, err
	}
	if f.Consent, err = db.Consents(id); err != nil {
		return f, err
	}
	if f.Consent == nil {
		f.Consent = []Consent{}
	}
	return f, nil
}
