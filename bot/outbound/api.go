// Package outbound owns Parley's API for machines, under /api/v1: API key
// authentication (Authorization: Bearer, scoped keys), the trigger API
// that starts a flow for a contact (POST /api/v1/triggers/{flow}), contact
// profiles (GET and PATCH /api/v1/contacts/{ref}) and conversions reported
// back for reports (POST /api/v1/conversions). docs/outbound.md is the
// reference. The runtime does the starting (bot.Runtime.Trigger); this
// package turns HTTP into its calls and its errors into status codes.
package outbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
)

// Triggerer starts flows and reports cascades (bot.Runtime).
type Triggerer interface {
	Trigger(ctx context.Context, req bot.TriggerRequest) (bot.TriggerResult, error)
	CascadeByID(id string) (bot.Cascade, error)
}

// Store is what the API reads and writes directly.
type Store interface {
	APIKeyBySecret(secret string) (store.APIKey, error)
	Contact(id string) (store.Contact, error)
	ContactByIdentity(identity string) (store.Contact, error)
	ResolveContact(ctx context.Context, identity, name, lang string) (store.Contact, bool, error)
	Commit(ctx context.Context, t store.Turn) (store.TurnResult, error)
	ContactFacts(id string) (store.ContactFacts, error)
	SetConsent(ctx context.Context, contactID, channel string, optedOut bool, source string) (bool, error)
	AppendEvents(ctx context.Context, evs ...store.Event) error
}

// API serves /api/v1.
type API struct {
	db  Store
	rt  Triggerer
	log zerolog.Logger
	now func() time.Time
}

// New returns the API over db, starting flows through rt.
func New(db Store, rt Triggerer, log zerolog.Logger) *API {
	return &API{db: db, rt: rt, log: log, now: time.Now}
}

// maxBody bounds a request body: params and fields are small.
const maxBody = 64 << 10

// Handler is the API's routes, every one behind an API key.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/triggers/{flow}", a.auth(store.ScopeTriggers, a.trigger))
	mux.Handle("GET /api/v1/contacts/{ref}", a.auth(store.ScopeContacts, a.getContact))
	mux.Handle("PATCH /api/v1/contacts/{ref}", a.auth(store.ScopeContacts, a.patchContact))
	mux.Handle("POST /api/v1/conversions", a.auth(store.ScopeConversions, a.conversion))
	mux.Handle("GET /api/v1/cascades/{id}", a.auth(store.ScopeTriggers, a.cascade))
	a.mountBroadcasts(mux)
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such API endpoint: see docs/outbound.md")
	})
	return mux
}

type keyCtx struct{}

// auth checks the bearer key and its scope: 401 without a live key, 403
// without the scope.
func (a *API) auth(scope string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || secret == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "send an API key as \"Authorization: Bearer <key>\" (parley apikeys add NAME)")
			return
		}
		k, err := a.db.APIKeyBySecret(strings.TrimSpace(secret))
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				a.log.Error().Err(err).Msg("api key lookup failed")
				writeError(w, http.StatusInternalServerError, "internal", "the key could not be checked; try again")
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "the API key is unknown or revoked")
			return
		}
		if !k.HasScope(scope) {
			writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("the API key %q lacks the %q scope", k.Name, scope))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), keyCtx{}, k)))
	})
}

func keyOf(r *http.Request) store.APIKey {
	k, _ := r.Context().Value(keyCtx{}).(store.APIKey)
	return k
}

type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readBody reads a JSON body into v strictly (unknown fields are a
// mistake worth telling) and returns its bytes.
func readBody(w http.ResponseWriter, r *http.Request, v any) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", maxBody))
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "bad_json", "the body is not the JSON this endpoint takes: "+err.Error())
		return nil, false
	}
	return body, true
}

// resolve finds a contact by ref: a contact id (c_...) or an identity
// ("telegram:42", "external:CRM-17").
func (a *API) resolve(ref string) (store.Contact, error) {
	if strings.HasPrefix(ref, "c_") && !strings.Contains(ref, ":") {
		return a.db.Contact(ref)
	}
	if !strings.Contains(ref, ":") {
		return store.Contact{}, fmt.Errorf("contact %q: want a contact id (c_...) or channel:id: %w", ref, store.ErrNotFound)
	}
	return a.db.ContactByIdentity(ref)
}

type triggerBody struct {
	Contact       string         `json:"contact"`
	Params        map[string]any `json:"params"`
	IfBusy        string         `json:"if_busy"`
	Transactional bool           `json:"transactional"`
	Channel       string         `json:"channel"`
	// Cascade tries channels in order: [{"channel":"telegram","wait":"2h"},{"channel":"sms"}].
	Cascade []struct {
		Channel string `json:"channel"`
		Wait    string `json:"wait"`
	} `json:"cascade"`
}

func (a *API) trigger(w http.ResponseWriter, r *http.Request) {
	var b triggerBody
	body, ok := readBody(w, r, &b)
	if !ok {
		return
	}
	if b.Contact == "" {
		writeError(w, http.StatusUnprocessableEntity, "invalid", `"contact" is required: a channel identity (telegram:42) or external:ID`)
		return
	}
	switch b.IfBusy {
	case "":
		b.IfBusy = "wait"
	case "wait", "drop":
	default:
		writeError(w, http.StatusUnprocessableEntity, "invalid", `"if_busy" is "wait" or "drop"`)
		return
	}
	var cascade []bot.CascadeStep
	for i, s := range b.Cascade {
		var wait time.Duration
		if s.Wait != "" {
			var err error
			if wait, err = time.ParseDuration(s.Wait); err != nil || wait < 0 {
				writeError(w, http.StatusUnprocessableEntity, "invalid", fmt.Sprintf(`cascade[%d].wait %q: want a duration such as "2h" or "30m"`, i, s.Wait))
				return
			}
		}
		if s.Channel == "" || (i < len(b.Cascade)-1 && wait == 0) {
			writeError(w, http.StatusUnprocessableEntity, "invalid", fmt.Sprintf(`cascade[%d] needs a "channel" and, but for the last step, a "wait"`, i))
			return
		}
		cascade = append(cascade, bot.CascadeStep{Channel: s.Channel, Wait: wait})
	}
	flow := r.PathValue("flow")
	c, err := a.resolve(b.Contact)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "unknown_contact", fmt.Sprintf("no contact %q: set it up with PATCH /api/v1/contacts/external:ID", b.Contact))
		return
	} else if err != nil {
		a.internal(w, err)
		return
	}
	req := bot.TriggerRequest{ContactID: c.ID, Flow: flow, Params: b.Params, Wait: b.IfBusy == "wait",
		Transactional: b.Transactional, Channel: b.Channel, Cascade: cascade}
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		if len(key) > 200 {
			writeError(w, http.StatusUnprocessableEntity, "invalid", "the Idempotency-Key is longer than 200 bytes")
			return
		}
		sum := sha256.Sum256(append([]byte(flow+"\x00"), body...))
		// Keys are per API key: two systems choosing the same key do not meet.
		req.IdempotencyKey, req.BodyHash = keyOf(r).ID+"\x00"+key, hex.EncodeToString(sum[:])
	}
	res, err := a.rt.Trigger(r.Context(), req)
	var busy *bot.BusyError
	switch {
	case err == nil:
		if res.Replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		out := map[string]any{"id": res.ID, "status": res.Status, "channel": res.Channel, "contact_id": c.ID}
		if res.Cascade != "" {
			out["cascade"] = res.Cascade
		}
		writeJSON(w, http.StatusAccepted, out)
	case errors.Is(err, flows.ErrUnknownFlow):
		msg := fmt.Sprintf("no flow %q in the project (a flow the API starts declares params:)", flow)
		if sg, ok := a.rt.(interface{ SuggestFlow(string) string }); ok {
			if near := sg.SuggestFlow(flow); near != "" {
				msg += fmt.Sprintf("; did you mean %q?", near)
			}
		}
		writeError(w, http.StatusNotFound, "unknown_flow", msg)
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "unknown_contact", fmt.Sprintf("no contact %q", b.Contact))
	case errors.Is(err, bot.ErrNoChannel):
		msg := "the contact has no channel Parley can send to (add a telegram, vk, sms or email identity)"
		if b.Channel != "" {
			msg = fmt.Sprintf("the contact has no %s identity, or the server does not send on %s", b.Channel, b.Channel)
		}
		writeError(w, http.StatusUnprocessableEntity, "no_channel", msg)
	case errors.Is(err, bot.ErrOptedOut):
		writeError(w, http.StatusConflict, "opted_out", "opted out: the contact unsubscribed from marketing on its channel; only transactional messages go")
	case errors.As(err, &busy):
		writeError(w, http.StatusConflict, "busy", busy.Reason+`; send "if_busy": "wait" to start it once the conversation is free`)
	case errors.Is(err, bot.ErrIdempotencyConflict):
		writeError(w, http.StatusConflict, "idempotency_conflict", "this Idempotency-Key was used with another request; use a new key for a new request")
	case errors.Is(err, bot.ErrStopping):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "stopping", "the server is restarting; retry with the same Idempotency-Key")
	default:
		a.internal(w, err)
	}
}

func (a *API) internal(w http.ResponseWriter, err error) {
	a.log.Error().Err(err).Msg("outbound api request failed")
	writeError(w, http.StatusInternalServerError, "internal", "the request failed on the server; retry with the same Idempotency-Key")
}

// profile is a contact as the API shows it.
type profile struct {
	ID         string             `json:"id"`
	Name       string             `json:"name,omitempty"`
	Lang       string             `json:"lang,omitempty"`
	Identities []string           `json:"identities"`
	Fields     map[string]string  `json:"fields"`
	Facts      store.ContactFacts `json:"facts"`
	UpdatedAt  time.Time          `json:"updated_at"`
}

func (a *API) profileOf(c store.Contact) (profile, error) {
	f, err := a.db.ContactFacts(c.ID)
	if err != nil {
		return profile{}, err
	}
	fields := c.Fields
	if fields == nil {
		fields = map[string]string{}
	}
	return profile{ID: c.ID, Name: c.Name, Lang: c.Lang, Identities: c.Identities, Fields: fields, Facts: f, UpdatedAt: c.UpdatedAt}, nil
}

func (a *API) getContact(w http.ResponseWriter, r *http.Request) {
	c, err := a.resolve(r.PathValue("ref"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "unknown_contact", fmt.Sprintf("no contact %q", r.PathValue("ref")))
		return
	} else if err != nil {
		a.internal(w, err)
		return
	}
	p, err := a.profileOf(c)
	if err != nil {
		a.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

type patchBody struct {
	Name string `json:"name"`
	Lang string `json:"lang"`
	// Fields are JSON scalars; null removes a field.
	Fields map[string]json.RawMessage `json:"fields"`
	// Identities are added to the contact (an external:ID contact created
	// by this PATCH gets them).
	Identities []string `json:"identities"`
	// Consent sets marketing consent per channel: false opts out.
	Consent map[string]bool `json:"consent"`
}

const maxFields, maxFieldValue = 100, 1000

// fieldName is a name flows can read as contact.NAME.
var fieldName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// scalar turns a JSON scalar into the string a contact field keeps;
// remove is set for null.
func scalar(raw json.RawMessage) (v string, remove bool, err error) {
	var x any
	if err := json.Unmarshal(raw, &x); err != nil {
		return "", false, err
	}
	switch t := x.(type) {
	case nil:
		return "", true, nil
	case string:
		v = t
	case bool:
		v = strconv.FormatBool(t)
	case float64:
		v = strings.TrimSpace(string(raw)) // as the caller wrote it: 1200, not 1.2e+03
	default:
		return "", false, errors.New("want a string, number, boolean or null")
	}
	if len(v) > maxFieldValue {
		return "", false, fmt.Errorf("longer than %d bytes", maxFieldValue)
	}
	return v, false, nil
}

// patchContact sets business fields. An external:ID the store does not
// know yet is created (with the listed identities), or attached to the
// contact that already owns one of them.
func (a *API) patchContact(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	var b patchBody
	if _, ok := readBody(w, r, &b); !ok {
		return
	}
	if len(b.Fields) > maxFields {
		writeError(w, http.StatusUnprocessableEntity, "invalid", fmt.Sprintf("at most %d fields per request", maxFields))
		return
	}
	set := map[string]string{}
	var remove []string
	for k, raw := range b.Fields {
		if !fieldName.MatchString(k) {
			writeError(w, http.StatusUnprocessableEntity, "invalid", fmt.Sprintf("field name %q: want letters, digits and _ (as flows read contact.NAME)", k))
			return
		}
		v, rm, err := scalar(raw)
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, "invalid", fmt.Sprintf("field %q: %v", k, err))
			return
		}
		if rm {
			remove = append(remove, k)
		} else {
			set[k] = v
		}
	}
	created := false
	var c store.Contact
	var err error
	for attempt := 0; ; attempt++ {
		c, created, err = a.findOrCreate(r.Context(), ref, b.Identities)
		if err != nil {
			break
		}
		next := c
		next.Fields = make(map[string]string, len(c.Fields)+len(set))
		for k, v := range c.Fields {
			next.Fields[k] = v
		}
		for k, v := range set {
			next.Fields[k] = v
		}
		for _, k := range remove {
			delete(next.Fields, k)
		}
		if b.Name != "" {
			next.Name = b.Name
		}
		if b.Lang != "" {
			next.Lang = b.Lang
		}
		if strings.HasPrefix(ref, "external:") && !contains(next.Identities, ref) {
			next.Identities = append(next.Identities, ref)
		}
		for _, id := range b.Identities {
			if !contains(next.Identities, id) {
				next.Identities = append(next.Identities, id)
			}
		}
		// Rev makes a concurrent change (a turn saving a field) fail this
		// write instead of being overwritten; it is read again and retried.
		_, err = a.db.Commit(r.Context(), store.Turn{ContactID: c.ID, Contact: &next})
		if !errors.Is(err, store.ErrConflict) || attempt == 2 || isIdentityConflict(err) {
			break
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "unknown_contact", fmt.Sprintf("no contact %q (only external:ID is created by PATCH)", ref))
		return
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "identity_conflict", "an identity in the request belongs to another contact: "+strings.TrimPrefix(err.Error(), "store: "))
		return
	case err != nil && strings.Contains(err.Error(), "bad identity"):
		writeError(w, http.StatusUnprocessableEntity, "invalid", strings.TrimPrefix(err.Error(), "store: "))
		return
	case err != nil:
		a.internal(w, err)
		return
	}
	for ch, ok := range b.Consent {
		if _, err := a.db.SetConsent(r.Context(), c.ID, ch, !ok, "api"); err != nil {
			a.internal(w, err)
			return
		}
	}
	c, err = a.db.Contact(c.ID)
	if err != nil {
		a.internal(w, err)
		return
	}
	p, err := a.profileOf(c)
	if err != nil {
		a.internal(w, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, p)
}

func isIdentityConflict(err error) bool {
	return err != nil && strings.Contains(err.Error(), "belongs to contact")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// findOrCreate resolves ref; an unknown external:ID is attached to the
// contact owning one of identities, else created.
func (a *API) findOrCreate(ctx context.Context, ref string, identities []string) (store.Contact, bool, error) {
	c, err := a.resolve(ref)
	if err == nil || !errors.Is(err, store.ErrNotFound) || !strings.HasPrefix(ref, "external:") {
		return c, false, err
	}
	for _, id := range identities {
		if c, err := a.db.ContactByIdentity(id); err == nil {
			return c, false, nil // the PATCH adds ref to its identities
		}
	}
	c, created, err := a.db.ResolveContact(ctx, ref, "", "")
	return c, created, err
}

type conversionBody struct {
	Contact   string  `json:"contact"`
	Trigger   string  `json:"trigger"`
	Broadcast string  `json:"broadcast"`
	Value     float64 `json:"value"`
	Currency  string  `json:"currency"`
}

// conversion records a conversion event for reports.
func (a *API) conversion(w http.ResponseWriter, r *http.Request) {
	var b conversionBody
	if _, ok := readBody(w, r, &b); !ok {
		return
	}
	if b.Contact == "" || (b.Trigger == "" && b.Broadcast == "") {
		writeError(w, http.StatusUnprocessableEntity, "invalid", `"contact" and one of "trigger" or "broadcast" are required`)
		return
	}
	c, err := a.resolve(b.Contact)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "unknown_contact", fmt.Sprintf("no contact %q", b.Contact))
		return
	} else if err != nil {
		a.internal(w, err)
		return
	}
	data := map[string]string{"value": strconv.FormatFloat(b.Value, 'f', -1, 64), "api_key": keyOf(r).Name}
	if b.Trigger != "" {
		data["trigger"] = b.Trigger
	}
	if b.Broadcast != "" {
		data["broadcast"] = b.Broadcast
	}
	if b.Currency != "" {
		data["currency"] = b.Currency
	}
	if err := a.db.AppendEvents(r.Context(), store.Event{ContactID: c.ID, Type: "conversion", Data: data}); err != nil {
		a.internal(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"contact_id": c.ID, "recorded": true})
}

// cascade answers GET /api/v1/cascades/{id}: the steps sent and skipped,
// the status, and the cost spent against every channel at once.
func (a *API) cascade(w http.ResponseWriter, r *http.Request) {
	c, err := a.rt.CascadeByID(r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "unknown_cascade", fmt.Sprintf("no cascade %q", r.PathValue("id")))
		return
	} else if err != nil {
		a.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}
