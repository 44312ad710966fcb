package vk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/SevereCloud/vksdk/v3/api"

	"github.com/parley-chat/parley/bot/channel"
)

// Run receives events until ctx is done and returns nil then.
//
// In callback mode events arrive through CallbackHandler; Run only waits.
// In longpoll mode Run asks groups.getLongPollServer for a server (it never
// calls groups.setLongPollSettings: Bots Long Poll must be switched on in the
// community's settings) and polls it. The position ts advances only after
// every update of a batch was recorded by h; when h fails, the same batch is
// fetched again after a backoff (the runtime deduplicates the events that
// were already recorded). failed=1 takes the new ts, failed=2 fetches a new
// key, failed=3 a new key and ts, as
// https://dev.vk.com/ru/api/bots-long-poll/getting-started describes. With
// Config.Positions the ts is stored after each batch and a restart resumes
// from it, so what customers wrote while the server was down is fetched
// too (if VK still has it: otherwise failed=1, logged).
// Run returns an error only when VK refuses the token or the community
// (codes 5, 7, 15, 27, 100), which retrying cannot fix.
func (a *Adapter) Run(ctx context.Context, h channel.Handler) error {
	if a.cfg.Mode != ModeLongPoll {
		<-ctx.Done()
		return nil
	}
	return a.poll(ctx, h)
}

// lpServer is a Bots Long Poll connection.
type lpServer struct {
	Key    string `json:"key"`
	Server string `json:"server"`
	TS     lpTS   `json:"ts"`
}

// lpTS is the long poll position; VK sends it as a string from
// groups.getLongPollServer and as a number or string from the server.
type lpTS string

func (t *lpTS) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = lpTS(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("ts %s is neither a string nor a number", b)
	}
	*t = lpTS(n.String())
	return nil
}

type lpResponse struct {
	TS      lpTS              `json:"ts"`
	Failed  int               `json:"failed"`
	Updates []json.RawMessage `json:"updates"`
}

func (a *Adapter) poll(ctx context.Context, h channel.Handler) error {
	var (
		srv      lpServer
		needKey  = true // fetch key and server
		needTS   = true // also take the server's ts
		failures = 0
	)
	// Resume where the last run stopped: VK keeps some history, and answers
	// failed=1 when the stored position is too old.
	if ts := a.loadPosition(); ts != "" {
		srv.TS, needTS = lpTS(ts), false
	}
	for ctx.Err() == nil {
		if needKey {
			s, err := a.longPollServer(ctx)
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				if fatalCode(err) {
					return fmt.Errorf("vk: cannot start Bots Long Poll (is it enabled for community %d, with the message events on?): %w", a.cfg.GroupID, err)
				}
				a.log.Warn().Err(err).Msg("vk: groups.getLongPollServer failed, retrying")
				failures++
				a.sleep(ctx, failures)
				continue
			}
			if !needTS {
				s.TS = srv.TS
			}
			srv, needKey, needTS = s, false, false
		}
		resp, err := a.check(ctx, srv)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			a.log.Warn().Err(err).Msg("vk: long poll request failed, retrying")
			failures++
			a.sleep(ctx, failures)
			continue
		}
		switch resp.Failed {
		case 0:
		case 1:
			// History is gone or ts is off: events in between are lost.
			a.log.Warn().Str("ts", string(resp.TS)).Msg("vk: long poll failed=1, continuing from the new ts")
			srv.TS = resp.TS
			a.savePosition(ctx, srv.TS)
			continue
		case 2:
			needKey = true
			continue
		default: // 3 and anything newer: start over
			needKey, needTS = true, true
			continue
		}
		if err := a.handleUpdates(ctx, h, resp.Updates); err != nil {
			if ctx.Err() != nil {
				break
			}
			a.log.Warn().Err(err).Msg("vk: handler failed, will fetch the same updates again")
			failures++
			a.sleep(ctx, failures)
			continue
		}
		if resp.TS != srv.TS {
			// After the batch is recorded: a crash before this write
			// fetches it again, and the runtime drops what it has.
			a.savePosition(ctx, resp.TS)
		}
		srv.TS = resp.TS
		failures = 0
	}
	return nil
}

// positionKey names the community's long poll position in the store.
func (a *Adapter) positionKey() string {
	return "vk.longpoll." + strconv.FormatInt(a.cfg.GroupID, 10)
}

func (a *Adapter) loadPosition() string {
	if a.cfg.Positions == nil {
		return ""
	}
	ts, err := a.cfg.Positions.Position(a.positionKey())
	if err != nil {
		a.log.Warn().Err(err).Msg("vk: stored long poll position not read; starting from VK's current one")
		return ""
	}
	return ts
}

func (a *Adapter) savePosition(ctx context.Context, ts lpTS) {
	if a.cfg.Positions == nil {
		return
	}
	// Stored also while shutting down: the batch before it is recorded.
	if err := a.cfg.Positions.SetPosition(context.WithoutCancel(ctx), a.positionKey(), string(ts)); err != nil {
		// Not fatal: a restart would fetch from an older position, and the
		// runtime drops what it has already recorded.
		a.log.Warn().Err(err).Msg("vk: long poll position not stored")
	}
}

// handleUpdates records every update in order and stops at the first one
// the handler refuses. Malformed or foreign updates cannot be fixed by
// fetching them again, so they are logged and skipped.
func (a *Adapter) handleUpdates(ctx context.Context, h channel.Handler, updates []json.RawMessage) error {
	for _, raw := range updates {
		ev, err := parseEnvelope(raw)
		if err != nil {
			a.log.Warn().Err(err).Msg("vk: skipping malformed long poll update")
			continue
		}
		if ev.GroupID != 0 && ev.GroupID != a.cfg.GroupID {
			a.log.Warn().Int64("group_id", ev.GroupID).Msg("vk: skipping update for another community")
			continue
		}
		d, err := decodeEvent(ev, a.now())
		if errors.Is(err, errIgnored) {
			continue
		}
		if err != nil {
			a.log.Warn().Str("event_id", ev.EventID).Err(err).Msg("vk: skipping malformed long poll event")
			continue
		}
		if err := a.deliver(ctx, h, d); err != nil {
			return fmt.Errorf("vk: event %s: %w", d.in.EventID, err)
		}
	}
	return nil
}

func (a *Adapter) longPollServer(ctx context.Context) (lpServer, error) {
	var s lpServer
	err := a.call(ctx, "groups.getLongPollServer", api.Params{"group_id": a.cfg.GroupID}, &s)
	if err != nil {
		return s, err
	}
	if s.Key == "" || s.Server == "" {
		return s, errors.New("vk: groups.getLongPollServer: answer without key or server")
	}
	return s, nil
}

// check makes one long poll request. The key is a credential: it is kept
// out of error messages.
func (a *Adapter) check(ctx context.Context, s lpServer) (lpResponse, error) {
	var r lpResponse
	u, err := url.Parse(s.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return r, fmt.Errorf("vk: long poll server %q is not an http(s) URL", redactString(s.Server, s.Key, url.QueryEscape(s.Key), a.cfg.Token))
	}
	q := u.Query()
	q.Set("act", "a_check")
	q.Set("key", s.Key)
	q.Set("ts", string(s.TS))
	q.Set("wait", strconv.Itoa(int(a.cfg.PollWait/time.Second)))
	u.RawQuery = q.Encode()

	rctx, cancel := context.WithTimeout(ctx, a.cfg.PollWait+15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return r, fmt.Errorf("vk: long poll: %s", redactString(err.Error(), s.Key, url.QueryEscape(s.Key), a.cfg.Token))
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return r, fmt.Errorf("vk: long poll: %s", redactString(err.Error(), s.Key, url.QueryEscape(s.Key), a.cfg.Token))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return r, fmt.Errorf("vk: long poll: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(&r); err != nil {
		return r, fmt.Errorf("vk: long poll: bad answer: %s", redactString(err.Error(), s.Key, url.QueryEscape(s.Key), a.cfg.Token))
	}
	if r.Failed == 0 && r.TS == "" {
		return r, errors.New("vk: long poll: answer without ts")
	}
	return r, nil
}

// fatalCode reports VK errors that mean the token or community setup is
// wrong; polling again cannot help.
func fatalCode(err error) bool {
	switch vkCode(err) {
	case api.ErrAuth, api.ErrPermission, api.ErrAccess, api.ErrGroupAuth, api.ErrParam:
		return true
	}
	return false
}

// sleep waits an exponential backoff with jitter, or until ctx is done.
func (a *Adapter) sleep(ctx context.Context, failures int) {
	d := a.backoffMin
	for i := 1; i < failures && d < a.backoffMax; i++ {
		d *= 2
	}
	d = min(d, a.backoffMax)
	d += time.Duration(rand.Int64N(int64(d)/4 + 1)) // jitter: up to +25%
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
