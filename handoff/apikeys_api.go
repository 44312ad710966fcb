package handoff

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/parley-chat/parley/store"
)

// API keys in the console, for admins: the rules of `parley apikeys`
// (docs/outbound.md) while the server runs. The key is shown once, in the
// answer that creates it.

// apiKeyStore manages machine keys; *store.DB has it.
type apiKeyStore interface {
	CreateAPIKey(ctx context.Context, name string, scopes []string) (store.APIKey, string, error)
	APIKeys() ([]store.APIKey, error)
	RevokeAPIKey(ctx context.Context, idOrName string) (store.APIKey, error)
}

func (s *Service) apiKeyRoutes() []route {
	return []route{
		{"GET", "/api/admin/apikeys", false, s.adminOnly(s.apiAdminAPIKeys)},
		{"POST", "/api/admin/apikeys", false, s.adminOnly(s.apiAdminAddAPIKey)},
		{"POST", "/api/admin/apikeys/{id}/revoke", false, s.adminOnly(s.apiAdminRevokeAPIKey)},
		{"GET", "/api/tickets/{id}/consent", false, s.apiTicketConsent},
	}
}

// consentReader reads a contact's marketing consent per channel (the
// outbound API's opt-outs); *store.DB has it.
type consentReader interface {
	Consents(contactID string) ([]store.Consent, error)
}

// apiTicketConsent answers GET /api/tickets/{id}/consent: the ticket's
// customer's marketing consent per channel, for the customer card.
func (s *Service) apiTicketConsent(w http.ResponseWriter, r *http.Request) {
	id, ok := ticketID(w, r)
	if !ok {
		return
	}
	t, err := s.Visible(sessionFrom(r).agent, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	consent := []store.Consent{}
	if cs, ok := s.st.(consentReader); ok {
		if consent, err = cs.Consents(t.ContactID); err != nil {
			s.fail(w, err)
			return
		}
		consent = append([]store.Consent{}, consent...)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"consent": consent})
}

func (s *Service) apiKeys(w http.ResponseWriter) (apiKeyStore, bool) {
	ks, ok := s.st.(apiKeyStore)
	if !ok {
		writeErr(w, http.StatusNotImplemented, "this store keeps no API keys")
	}
	return ks, ok
}

func (s *Service) apiAdminAPIKeys(w http.ResponseWriter, r *http.Request) {
	ks, ok := s.apiKeys(w)
	if !ok {
		return
	}
	keys, err := ks.APIKeys()
	if err != nil {
		s.fail(w, err)
		return
	}
	if keys == nil {
		keys = []store.APIKey{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"keys": keys, "scopes": store.APIScopes})
}

func (s *Service) apiAdminAddAPIKey(w http.ResponseWriter, r *http.Request) {
	ks, ok := s.apiKeys(w)
	if !ok {
		return
	}
	var in struct {
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	k, secret, err := ks.CreateAPIKey(r.Context(), in.Name, in.Scopes)
	if err != nil {
		writeErr(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "store: "))
		return
	}
	s.audit(r, "apikey.added", k.ID, "name", k.Name)
	s.writeJSON(w, http.StatusCreated, map[string]any{"key": k, "secret": secret})
}

func (s *Service) apiAdminRevokeAPIKey(w http.ResponseWriter, r *http.Request) {
	ks, ok := s.apiKeys(w)
	if !ok {
		return
	}
	k, err := ks.RevokeAPIKey(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeErr(w, http.StatusNotFound, "no such API key")
		return
	case err != nil:
		s.fail(w, err)
		return
	}
	s.audit(r, "apikey.revoked", k.ID, "name", k.Name)
	s.writeJSON(w, http.StatusOK, map[string]any{"key": k})
}
