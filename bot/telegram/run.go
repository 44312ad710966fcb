package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/parley-chat/parley/bot/channel"
)

// ErrTokenRejected is returned by Run when Telegram refuses the token (401
// or 404 from getMe): retrying cannot fix a wrong or revoked token.
var ErrTokenRejected = errors.New("telegram: the bot token was rejected; check PARLEY_TELEGRAM_TOKEN")

// Run connects the bot and, in poll mode, receives updates until ctx is
// done, handing each to h and confirming it to Telegram only after h returned
// nil. In webhook mode it registers the webhook and waits; updates arrive
// through WebhookHandler. It returns nil when ctx is done, or an error that
// retrying cannot fix (a rejected token, a webhook URL Telegram refuses).
func (a *Adapter) Run(ctx context.Context, h channel.Handler) error {
	if h == nil && a.mode == ModePoll {
		return errors.New("telegram: Run in poll mode needs a handler")
	}
	me, err := a.getMe(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	a.log.Info().Str("bot", me.UserName).Int64("bot_id", me.ID).Str("mode", a.mode).Msg("telegram bot connected")

	if a.mode == ModeWebhook {
		if err := a.setWebhook(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		<-ctx.Done()
		// The webhook stays registered: Telegram keeps updates for it while
		// Parley restarts.
		return nil
	}

	// Telegram refuses getUpdates while a webhook is set (409).
	if err := a.retry(ctx, "deleteWebhook", func() error {
		_, err := a.call(ctx, tgbotapi.DeleteWebhookConfig{})
		return err
	}); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	return a.poll(ctx, h)
}

// getMe checks the token, retrying network and server errors with backoff.
func (a *Adapter) getMe(ctx context.Context) (tgbotapi.User, error) {
	var me tgbotapi.User
	err := a.retry(ctx, "getMe", func() error {
		resp, err := a.raw(ctx, "getMe", nil, a.callTimeout)
		if err != nil {
			return err
		}
		return json.Unmarshal(resp.Result, &me)
	})
	return me, err
}

func (a *Adapter) setWebhook(ctx context.Context) error {
	allowed, _ := json.Marshal(allowedUpdates)
	params := tgbotapi.Params{
		"url":             a.webhookURL,
		"secret_token":    string(a.secret),
		"allowed_updates": string(allowed),
	}
	return a.retry(ctx, "setWebhook", func() error {
		_, err := a.raw(ctx, "setWebhook", params, a.callTimeout)
		return err
	})
}

// retry calls f until it succeeds, ctx is done, or Telegram gives an answer
// retrying cannot change (the token is rejected, a 400 bad request).
func (a *Adapter) retry(ctx context.Context, method string, f func() error) error {
	for attempt := 0; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		switch code := apiCode(err); code {
		case http.StatusUnauthorized, http.StatusNotFound:
			return fmt.Errorf("%w (%s: %d)", ErrTokenRejected, method, code)
		case http.StatusBadRequest:
			return fmt.Errorf("telegram %s: %w", method, err)
		}
		wait := a.backoff(attempt)
		if d, ok := channel.RetryAfter(classify(method, err)); ok {
			wait = d
		}
		a.log.Warn().Str("method", method).Err(err).Dur("retry_in", wait).Msg("telegram call failed; retrying")
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

// backoff grows exponentially from backoffMin to backoffMax, with jitter so
// restarted replicas do not call in step.
func (a *Adapter) backoff(attempt int) time.Duration {
	d := a.backoffMin << min(attempt, 16)
	if d <= 0 || d > a.backoffMax {
		d = a.backoffMax
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// poll is the long-poll loop. The offset, which confirms updates to
// Telegram, only moves past an update once h recorded it (or it was one
// Parley ignores); on a handler error the same updates are fetched again
// after a backoff.
func (a *Adapter) poll(ctx context.Context, h channel.Handler) error {
	offset := 0
	failures := 0
	defer func() {
		// Confirm what was handled since the last poll, so a restart does
		// not fetch it again (the runtime would dedupe it, but need not).
		if offset == 0 {
			return
		}
		fin, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if _, err := a.raw(fin, "getUpdates", tgbotapi.Params{"offset": strconv.Itoa(offset), "limit": "1"}, 2*time.Second); err != nil {
			a.log.Debug().Err(err).Msg("could not confirm the last updates on shutdown; they will be redelivered and deduplicated")
		}
	}()
	for {
		if ctx.Err() != nil {
			return nil
		}
		updates, err := a.getUpdates(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if code := apiCode(err); code == http.StatusUnauthorized || code == http.StatusNotFound {
				return fmt.Errorf("%w (getUpdates: %d)", ErrTokenRejected, code)
			}
			wait := a.backoff(failures)
			failures++
			if d, ok := channel.RetryAfter(classify("getUpdates", err)); ok {
				wait = d
			}
			ev := a.log.Warn()
			if apiCode(err) == http.StatusConflict {
				// Only one consumer per bot: another process polls, or
				// someone set a webhook after we deleted ours.
				ev = a.log.Error().Str("hint", "another instance is polling this bot or a webhook is set; Telegram allows one consumer per bot")
			}
			ev.Err(err).Dur("retry_in", wait).Msg("telegram getUpdates failed")
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}
		if len(updates) == 0 && a.pollTimeout < time.Second {
			// A short poll returns at once: pace it instead of spinning.
			if !sleep(ctx, max(a.pollTimeout, 50*time.Millisecond)) {
				return nil
			}
			continue
		}
		next, herr := a.dispatch(ctx, h, updates)
		if next > offset {
			offset = next
		}
		if herr != nil {
			if ctx.Err() != nil {
				return nil
			}
			wait := a.backoff(failures)
			failures++
			a.log.Warn().Err(herr).Int("offset", offset).Dur("retry_in", wait).Msg("handler did not record an update; fetching it again")
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}
		failures = 0
	}
}

// rawUpdate is one element of getUpdates, kept raw so that an update the
// library cannot decode is skipped alone instead of failing the batch.
type rawUpdate = json.RawMessage

func (a *Adapter) getUpdates(ctx context.Context, offset int) ([]rawUpdate, error) {
	allowed, _ := json.Marshal(allowedUpdates)
	// At most 64 per batch: the batch is confirmed by the next call, so a
	// crash redelivers it whole, and the store recognises a contact's last
	// 64 events (store/dedupe.go).
	params := tgbotapi.Params{"limit": "64", "allowed_updates": string(allowed)}
	if offset > 0 {
		params["offset"] = strconv.Itoa(offset)
	}
	if s := int(a.pollTimeout / time.Second); s > 0 {
		params["timeout"] = strconv.Itoa(s)
	}
	resp, err := a.raw(ctx, "getUpdates", params, a.pollTimeout+a.callTimeout)
	if err != nil {
		return nil, err
	}
	var updates []rawUpdate
	if err := json.Unmarshal(resp.Result, &updates); err != nil {
		return nil, fmt.Errorf("getUpdates result: %w", err)
	}
	return updates, nil
}

// dispatch hands a batch to h: updates of one chat in order, different chats
// in parallel (the runtime records them with one grouped commit). It returns
// the offset that confirms every update up to the first one not recorded, and
// the first handler error.
func (a *Adapter) dispatch(ctx context.Context, h channel.Handler, batch []rawUpdate) (int, error) {
	type item struct {
		pos int
		d   decoded
	}
	var (
		lanes  = map[string][]item{}
		order  []string
		ids    = make([]int, len(batch))
		failed = make([]bool, len(batch))
	)
	for i, raw := range batch {
		d, err := decodeUpdate(raw)
		if err != nil {
			// getUpdates results always carry update_id; a result that does
			// not cannot be confirmed by itself: skip it, the offset of the
			// next one confirms it.
			a.log.Warn().Err(err).Msg("skipping a getUpdates result that is not an update")
			ids[i] = -1
			continue
		}
		ids[i] = d.UpdateID
		a.stamp(&d)
		if d.Ignore != "" {
			a.log.Debug().Int("update_id", d.UpdateID).Str("reason", d.Ignore).Msg("update acknowledged without handling")
			continue
		}
		key := d.In.From.ID
		if _, ok := lanes[key]; !ok {
			order = append(order, key)
		}
		lanes[key] = append(lanes[key], item{i, d})
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, key := range order {
		wg.Go(func() {
			for n, it := range lanes[key] {
				a.customerWrote(it.d.In)
				err := h.HandleInbound(ctx, it.d.In)
				if err != nil {
					// Later updates of this chat must not overtake it.
					for _, rest := range lanes[key][n:] {
						failed[rest.pos] = true
					}
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("update %d: %w", it.d.UpdateID, err)
					}
					mu.Unlock()
					return
				}
				if it.d.CallbackID != "" {
					a.answerCallback(ctx, it.d.CallbackID)
				}
			}
		})
	}
	wg.Wait()

	next := 0
	for i, id := range ids {
		if failed[i] {
			break
		}
		if id >= 0 {
			next = id + 1
		}
	}
	return next, firstErr
}

// customerWrote marks the chat's next send as a turn's first reply, before
// the event is handed on: the runtime may answer before the handler returns.
func (a *Adapter) customerWrote(in channel.Inbound) {
	if id, err := strconv.ParseInt(in.From.ID, 10, 64); err == nil {
		a.chats.wrote(id)
	}
}

// stamp dates an event Telegram sent without one with its time of receipt.
func (a *Adapter) stamp(d *decoded) {
	if d.Ignore == "" && d.In.At.IsZero() {
		d.In.At = a.now().UTC()
	}
}

// answerCallback stops the pressed button's spinner. It is cosmetic: the
// press is recorded already, so a failure is only logged.
func (a *Adapter) answerCallback(ctx context.Context, id string) {
	if _, err := a.call(ctx, tgbotapi.NewCallback(id, "")); err != nil {
		a.log.Warn().Err(err).Msg("answerCallbackQuery failed")
	}
}
