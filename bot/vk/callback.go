package vk

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/parley-chat/parley/bot/channel"
)

// answerTimeout bounds messages.sendMessageEventAnswer inside a Callback API
// request: VK waits only a few seconds for "ok" before it redelivers.
const answerTimeout = 3 * time.Second

// CallbackHandler serves the Callback API (mount it at POST /hooks/vk).
//
// Order of checks, so that nothing forged is ever handled: the body is read
// with a 1 MiB limit and must be a JSON event (else 400); then the secret is
// compared in constant time and the group id checked (else 401). A
// "confirmation" request is answered with Config.Confirmation. message_new
// and message_event are recorded through h; only when h returned nil does VK
// get "ok" (an error answers 500, and VK redelivers the same event_id).
// Pressed callback buttons are then answered with
// messages.sendMessageEventAnswer so the button stops spinning. Other event
// types are acknowledged with "ok" and ignored.
func (a *Adapter) CallbackHandler(h channel.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "vk callback: method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "vk callback: body larger than 1 MiB", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "vk callback: cannot read body", http.StatusBadRequest)
			return
		}
		ev, err := parseEnvelope(body)
		if err != nil {
			a.log.Warn().Str("remote", r.RemoteAddr).Err(err).Msg("vk callback: malformed request")
			http.Error(w, "vk callback: malformed event", http.StatusBadRequest)
			return
		}
		if !a.authentic(ev) {
			a.log.Warn().Str("remote", r.RemoteAddr).Str("type", ev.Type).Int64("group_id", ev.GroupID).
				Msg("vk callback: rejected: wrong secret or group id")
			http.Error(w, "vk callback: wrong secret or group id", http.StatusUnauthorized)
			return
		}
		if ev.Type == typeConfirmation {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, a.cfg.Confirmation)
			return
		}
		d, err := decodeEvent(ev, a.now())
		switch {
		case errors.Is(err, errIgnored):
			writeOK(w)
			return
		case err != nil:
			a.log.Warn().Str("event_id", ev.EventID).Err(err).Msg("vk callback: malformed event")
			http.Error(w, "vk callback: malformed event object", http.StatusBadRequest)
			return
		}
		d.in.Queue = true // answer "ok" without waiting for the turn
		if err := a.deliver(r.Context(), h, d); err != nil {
			// Not recorded: a 5xx makes VK redeliver the event later.
			a.log.Error().Str("event_id", d.in.EventID).Err(err).Msg("vk callback: handler failed, VK will redeliver")
			http.Error(w, "vk callback: not recorded, retry", http.StatusInternalServerError)
			return
		}
		writeOK(w)
	})
}

// authentic reports whether the event comes from VK for our community. The
// secret is required for every event; VK also sends it with the
// confirmation request when one is set, but a confirmation without a secret
// is answered too (it reveals only the confirmation string).
func (a *Adapter) authentic(ev envelope) bool {
	secretOK := subtle.ConstantTimeCompare([]byte(ev.Secret), []byte(a.cfg.Secret)) == 1
	if ev.Type == typeConfirmation && ev.Secret == "" {
		secretOK = true
	}
	return secretOK && ev.GroupID == a.cfg.GroupID
}

// deliver records one decoded event through h and, only after h accepted
// it, remembers the client's capabilities and answers a callback button.
func (a *Adapter) deliver(ctx context.Context, h channel.Handler, d decoded) error {
	if err := h.HandleInbound(ctx, d.in); err != nil {
		return err
	}
	peer := d.in.From.ID
	if d.caps != nil {
		if id, err := parsePeer(peer); err == nil {
			a.peers.setCaps(id, *d.caps, a.now())
		}
	}
	if d.answer != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), answerTimeout)
		defer cancel()
		if err := a.answerEvent(actx, *d.answer); err != nil {
			// The event is recorded; a spinning button is cosmetic.
			a.log.Warn().Str("event_id", d.in.EventID).Err(err).Msg("vk: sendMessageEventAnswer failed")
		}
	}
	return nil
}

func writeOK(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok")
}
