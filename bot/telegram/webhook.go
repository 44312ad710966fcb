package telegram

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/parley-chat/parley/bot/channel"
)

// maxWebhookBody bounds an update; real ones are a few kilobytes.
const maxWebhookBody = 1 << 20

// WebhookHandler serves POST /hooks/telegram. It checks the secret header
// first, in constant time (401 on a mismatch), then decodes the update (400
// when it is not one; 415 when the body is not application/json), hands it
// to h and answers 200 only after h returned nil; a handler error answers
// 500 so Telegram delivers the update again.
// Updates Parley does not act on are answered 200 and dropped.
//
// A button press is answered with answerCallbackQuery once h recorded it, as
// an API call rather than inside the webhook response: Telegram reports no
// outcome for the latter, and a failure here is worth a log line.
//
// Without a webhook secret (poll mode) every request is refused: updates are
// never accepted unauthenticated.
func (a *Adapter) WebhookHandler(h channel.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(a.secret) == 0 {
			http.Error(w, "telegram webhook is not enabled", http.StatusNotFound)
			return
		}
		got := r.Header.Get(SecretHeader)
		// Digests are compared so that neither the content nor the length
		// of the secret shows in the timing.
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], a.secretSum[:]) != 1 {
			a.log.Warn().Str("remote", r.RemoteAddr).Bool("header_present", got != "").Msg("telegram webhook: wrong secret token")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		// Telegram posts JSON; a form or text/plain body is no update and
		// is not read at all.
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			http.Error(w, "an update is application/json", http.StatusUnsupportedMediaType)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		if err != nil {
			status := http.StatusBadRequest
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				status = http.StatusRequestEntityTooLarge
			}
			http.Error(w, "cannot read update", status)
			return
		}
		d, err := decodeUpdate(body)
		if err != nil {
			a.log.Warn().Err(err).Msg("telegram webhook: malformed update")
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.stamp(&d)
		if d.Ignore != "" {
			a.log.Debug().Int("update_id", d.UpdateID).Str("reason", d.Ignore).Msg("update acknowledged without handling")
			w.WriteHeader(http.StatusOK)
			return
		}
		a.customerWrote(d.In)
		if err := h.HandleInbound(r.Context(), d.In); err != nil {
			a.log.Warn().Int("update_id", d.UpdateID).Err(err).Msg("handler did not record the update; Telegram will redeliver it")
			http.Error(w, "not recorded, retry", http.StatusInternalServerError)
			return
		}
		if d.CallbackID != "" {
			a.answerCallback(r.Context(), d.CallbackID)
		}
		w.WriteHeader(http.StatusOK)
	})
}
