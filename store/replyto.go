package store

import (
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// LastInboundAddress returns the address ("web:v_x") of the contact's
// newest customer message that came from one of the contact's identities
// now, and "" when there is none. It is where a reply that answers no
// inbound message of its own (an agent's, the queue's notices) should go:
// the channel the customer wrote from last.
//
// The history walk stops at the first match, so the cost is the bot's and
// agents' messages since the customer last wrote, not the history's
// length. Contact and history are read in one transaction: an address that
// an undone link gave back to another contact is never returned, even when
// a message from it stayed in this history.
func (db *DB) LastInboundAddress(contactID string) (string, error) {
	var addr string
	err := db.view(func(tx *bolt.Tx) error {
		c, err := getContact(tx, contactID)
		if err != nil {
			return err
		}
		var derr error
		werr := walkHistory(tx, contactID, func(_, seq uint64, data []byte) bool {
			// Only the two fields decide; the text is not decoded.
			var m struct {
				Dir     string `json:"dir"`
				Address string `json:"address"`
			}
			if err := json.Unmarshal(data, &m); err != nil {
				derr = fmt.Errorf("store: message %d of %q: %w", seq, contactID, err)
				return false
			}
			if m.Dir == DirIn && slices.Contains(c.Identities, m.Address) {
				addr = m.Address
				return false
			}
			return true
		})
		if werr != nil {
			return werr
		}
		return derr
	})
	return addr, err
}
