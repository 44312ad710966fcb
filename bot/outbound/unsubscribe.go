package outbound

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/store"
)

// Unsubscribe makes and serves the links in marketing e-mails: a link
// names a contact and a channel, signed so nobody can opt out someone
// else. GET shows a page with one button (mail scanners follow GET links:
// they must not unsubscribe anyone); POST opts out, which is also what a
// mail client's one-click unsubscribe sends (RFC 8058).
type Unsubscribe struct {
	db     Store
	secret []byte
	base   string // public URL of the server, no trailing slash
	log    zerolog.Logger
	now    func() time.Time
}

// UnsubscribePath is where the links point.
const UnsubscribePath = "/unsubscribe"

// NewUnsubscribe signs links with secret; base is the server's public URL.
func NewUnsubscribe(db Store, secret []byte, base string, log zerolog.Logger) *Unsubscribe {
	return &Unsubscribe{db: db, secret: secret, base: strings.TrimRight(base, "/"), log: log, now: time.Now}
}

func (u *Unsubscribe) sign(contactID, ch string) string {
	m := hmac.New(sha256.New, u.secret)
	m.Write([]byte("unsubscribe\x00" + contactID + "\x00" + ch))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// Link is the unsubscribe link of contactID on channel ch.
func (u *Unsubscribe) Link(contactID, ch string) string {
	q := url.Values{"c": {contactID}, "ch": {ch}, "s": {u.sign(contactID, ch)}}
	return u.base + UnsubscribePath + "?" + q.Encode()
}

var unsubscribePage = template.Must(template.New("u").Parse(`<!doctype html>
<html lang="ru"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Отписка / Unsubscribe</title>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em">
{{if .Done}}<p>Вы отписались от рассылок по {{.Channel}}. Сообщения о ваших заказах будут приходить по-прежнему.</p>
<p lang="en">You are unsubscribed from promotions by {{.Channel}}. Messages about your orders will still come.</p>
{{else}}<form method="post"><p>Отписаться от рассылок по {{.Channel}}?</p>
<p lang="en">Unsubscribe from promotions by {{.Channel}}?</p>
<button type="submit" name="List-Unsubscribe" value="One-Click">Отписаться / Unsubscribe</button></form>{{end}}
</body></html>`))

// ServeHTTP answers GET (the confirmation page) and POST (the opt-out).
func (u *Unsubscribe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cid, ch, sig := q.Get("c"), q.Get("ch"), q.Get("s")
	if cid == "" || ch == "" || !hmac.Equal([]byte(sig), []byte(u.sign(cid, ch))) {
		http.Error(w, "This unsubscribe link is not valid: open the link from the e-mail as it is.", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		unsubscribePage.Execute(w, map[string]any{"Channel": ch})
		return
	case http.MethodPost:
	default:
		http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
		return
	}
	changed, err := u.db.SetConsent(r.Context(), cid, ch, true, "link")
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// The contact was erased: nobody is left to write to.
			unsubscribePage.Execute(w, map[string]any{"Channel": ch, "Done": true})
			return
		}
		u.log.Error().Err(err).Msg("unsubscribe not recorded")
		http.Error(w, "The unsubscribe could not be recorded; please try again in a minute.", http.StatusInternalServerError)
		return
	}
	if changed {
		if err := u.db.AppendEvents(r.Context(), store.Event{ContactID: cid, Type: "opted_out",
			Data: map[string]string{"channel": ch, "source": "link"}}); err != nil {
			u.log.Warn().Err(err).Msg("opted_out event not recorded")
		}
	}
	if err := unsubscribePage.Execute(w, map[string]any{"Channel": ch, "Done": true}); err != nil {
		u.log.Debug().Err(fmt.Errorf("unsubscribe page: %w", err)).Send()
	}
}
