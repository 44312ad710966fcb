package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parley-chat/parley/store"
)

// Cascades: one message tried on an ordered list of channels, cheapest
// first. Each step is a trigger on one channel; the next step runs only if
// the contact has not reacted (written anything, in any channel, pressed a
// button) within the step's wait. Steps on channels the contact cannot be
// reached on, or opted out of (marketing), are skipped. Costs per channel
// (Config.ChannelCost) give what was spent against sending on every
// channel at once.

// CascadeStep is one channel of a cascade and how long the contact has to
// react to it before the next step.
type CascadeStep struct {
	Channel string        `json:"channel"`
	Wait    time.Duration `json:"wait"`
}

// Cascade is a cascade's state, as GET /api/v1/cascades/{id} shows it.
type Cascade struct {
	ID            string         `json:"id"`
	ContactID     string         `json:"contact_id"`
	Flow          string         `json:"flow"`
	Params        map[string]any `json:"params,omitempty"`
	Transactional bool           `json:"transactional,omitempty"`
	Steps         []CascadeStep  `json:"steps"`
	// Step is the index of the step sent last; StepAt when it was sent.
	Step   int       `json:"step"`
	StepAt time.Time `json:"step_at"`
	// Status: "running" (waiting for a reaction to Step), "reacted" (the
	// contact reacted: no further step), "exhausted" (no step left).
	Status string        `json:"status"`
	Sent   []CascadeSent `json:"sent"`
	// Spent is the cost of the steps sent; AllAtOnce what sending on every
	// channel the contact can be reached on would have cost.
	Spent     float64 `json:"spent"`
	AllAtOnce float64 `json:"all_at_once"`
}

// CascadeSent is a step sent or skipped.
type CascadeSent struct {
	Step    int       `json:"step"`
	Channel string    `json:"channel"`
	Trigger string    `json:"trigger,omitempty"`
	Cost    float64   `json:"cost,omitempty"`
	At      time.Time `json:"at"`
	Skipped string    `json:"skipped,omitempty"` // why the step was not sent
}

// Cascade statuses.
const (
	CascadeRunning   = "running"
	CascadeReacted   = "reacted"
	CascadeExhausted = "exhausted"
)

// cascadeStore keeps cascades' states.
type cascadeStore interface {
	PutCascade(ctx context.Context, id string, data []byte) error
	Cascade(id string) ([]byte, error)
	Cascades() ([]store.CascadeRecord, error)
}

// errNoCascades: the store keeps no cascades.
var errNoCascades = errors.New("bot: this store does not keep cascades")

// CascadeByID returns a cascade's state.
func (r *Runtime) CascadeByID(id string) (Cascade, error) {
	cs, ok := r.db.(cascadeStore)
	if !ok {
		return Cascade{}, errNoCascades
	}
	data, err := cs.Cascade(id)
	if err != nil {
		return Cascade{}, err
	}
	var c Cascade
	err = json.Unmarshal(data, &c)
	return c, err
}

func (r *Runtime) cost(ch string) float64 { return r.cfg.ChannelCost[ch] }

// nextStep picks the first step from `from` the contact can get, noting
// the skipped ones in c.Sent. It returns -1 and the last reason when none.
func (r *Runtime) nextStep(c *Cascade, contact store.Contact, tstore triggerStore, from int, now time.Time) (int, error) {
	var why error = ErrNoChannel
	for i := from; i < len(c.Steps); i++ {
		ch := c.Steps[i].Channel
		addr, err := r.outboundAddress(contact, ch)
		if err == nil && !c.Transactional {
			var out bool
			if out, err = tstore.OptedOut(contact.ID, string(addr.Channel)); err != nil {
				return -1, err
			} else if out {
				err = ErrOptedOut
			}
		}
		if err != nil {
			c.Sent = append(c.Sent, CascadeSent{Step: i, Channel: ch, At: now, Skipped: err.Error()})
			why = err
			continue
		}
		return i, nil
	}
	return -1, why
}

// allAtOnce is the cost of one message on every step's channel the
// contact can be reached on.
func (r *Runtime) allAtOnce(c *Cascade, contact store.Contact) float64 {
	sum := 0.0
	for _, s := range c.Steps {
		if _, err := r.outboundAddress(contact, s.Channel); err == nil {
			sum += r.cost(s.Channel)
		}
	}
	return sum
}

// sweepCascades moves every running cascade whose step's wait is over:
// to "reacted" when the contact wrote since the step, else to its next
// step (a trigger recorded with an idempotency key per step, so a crash
// between the trigger and the state's update does not send twice).
func (r *Runtime) sweepCascades(ctx context.Context) error {
	cs, ok := r.db.(cascadeStore)
	if !ok {
		return nil
	}
	tstore, err := r.triggerStore()
	if err != nil {
		return nil
	}
	recs, err := cs.Cascades()
	if err != nil {
		return err
	}
	now := r.now()
	for _, rec := range recs {
		var c Cascade
		if err := json.Unmarshal(rec.Data, &c); err != nil || c.Status != CascadeRunning {
			continue
		}
		if c.Step >= len(c.Steps) || now.Before(c.StepAt.Add(c.Steps[c.Step].Wait)) {
			continue
		}
		if err := r.advanceCascade(ctx, cs, tstore, &c, now); err != nil {
			r.log.Warn().Err(err).Str("cascade", c.ID).Msg("cascade step not taken; retried on the next sweep")
		}
	}
	return nil
}

func (r *Runtime) advanceCascade(ctx context.Context, cs cascadeStore, tstore triggerStore, c *Cascade, now time.Time) error {
	reacted, err := r.reactedSince(c.ContactID, c.StepAt)
	if err != nil {
		return err
	}
	event := func(typ string, data map[string]string) {
		d := map[string]string{"cascade": c.ID, "step": fmt.Sprint(c.Step)}
		for k, v := range data {
			d[k] = v
		}
		if err := r.db.AppendEvents(ctx, store.Event{ContactID: c.ContactID, Type: typ, Flow: c.Flow, Data: d}); err != nil {
			r.log.Warn().Err(err).Msg("cascade event not recorded")
		}
	}
	contact, err := r.db.Contact(c.ContactID)
	switch {
	case reacted:
		c.Status = CascadeReacted
		event("cascade_reacted", map[string]string{"channel": c.Steps[c.Step].Channel})
	case errors.Is(err, store.ErrNotFound):
		c.Status = CascadeExhausted // the contact was erased (or merged away)
	case err != nil:
		return err
	default:
		next, err := r.nextStep(c, contact, tstore, c.Step+1, now)
		if err != nil && next < 0 && !errors.Is(err, ErrNoChannel) && !errors.Is(err, ErrOptedOut) {
			return err
		}
		if next < 0 {
			c.Status = CascadeExhausted
			event("cascade_exhausted", nil)
			break
		}
		ch := c.Steps[next].Channel
		res, err := r.Trigger(ctx, TriggerRequest{ID: fmt.Sprintf("%s.%d", c.ID, next), ContactID: c.ContactID, Flow: c.Flow,
			Params: c.Params, Wait: true, Transactional: c.Transactional, Channel: ch,
			IdempotencyKey: fmt.Sprintf("cascade\x00%s\x00%d", c.ID, next), BodyHash: "cascade"})
		if err != nil {
			return err
		}
		c.Step, c.StepAt = next, now
		c.Sent = append(c.Sent, CascadeSent{Step: next, Channel: ch, Trigger: res.ID, Cost: r.cost(ch), At: now})
		c.Spent += r.cost(ch)
		event("cascade_step", map[string]string{"channel": ch, "step": fmt.Sprint(next), "trigger": res.ID})
	}
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return cs.PutCascade(ctx, c.ID, data)
}

// reactedSince reports whether the contact wrote (a message or a button,
// in any channel) after t.
func (r *Runtime) reactedSince(contactID string, t time.Time) (bool, error) {
	last, err := r.db.LastMessages(contactID, 50)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	for _, m := range last {
		if m.Dir == store.DirIn && m.At.After(t) {
			return true, nil
		}
	}
	return false, nil
}
