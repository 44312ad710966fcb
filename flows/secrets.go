package flows

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// SecretEnvPrefix starts the environment variable that holds a secret:
// PARLEY_SECRET_ORDERS_TOKEN is secret.orders_token.
const SecretEnvPrefix = "PARLEY_SECRET_"

// Secrets are the secret names parley.yaml declares (secrets:), sorted as
// written. Their values come from the runtime (Options.Secrets).
func (p *Project) Secrets() []string { return append([]string(nil), p.secrets...) }

// isSecretName accepts names that map one to one onto an environment
// variable: lower-case letters, digits and _, starting with a letter.
func isSecretName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// ReadSecrets reads secret values: from file, when named (lines of
// name=value; blank lines and lines starting with # are skipped), then
// from environ (os.Environ()), where PARLEY_SECRET_<NAME> overrides the
// file. Names are lower-cased. An error names the file and the line, never
// a value.
func ReadSecrets(file string, environ []string) (map[string]string, error) {
	out := map[string]string{}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("secrets file: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for line := 1; sc.Scan(); line++ {
			l := strings.TrimSpace(sc.Text())
			if l == "" || l[0] == '#' {
				continue
			}
			name, value, ok := strings.Cut(l, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			if !ok || !isSecretName(name) {
				return nil, fmt.Errorf("secrets file %s:%d: want name=value with a name such as orders_token", file, line)
			}
			out[name] = strings.TrimSpace(value)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("secrets file %s: %w", file, err)
		}
	}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if name, ok := strings.CutPrefix(k, SecretEnvPrefix); ok && name != "" {
			out[strings.ToLower(name)] = v
		}
	}
	return out, nil
}

// pickSecrets keeps the values of the declared secrets (an engine holds no
// other) and names the declared ones without a value.
func pickSecrets(declared []string, values map[string]string) (map[string]string, []string) {
	var got map[string]string
	var missing []string
	for _, name := range declared {
		v, ok := values[name]
		if !ok || v == "" {
			missing = append(missing, name)
			continue
		}
		if got == nil {
			got = make(map[string]string, len(declared))
		}
		got[name] = v
	}
	return got, missing
}

// MissingSecrets names the declared secrets that values lacks, for a
// warning when the server starts.
func (p *Project) MissingSecrets(values map[string]string) []string {
	_, missing := pickSecrets(p.secrets, values)
	return missing
}

// redactSecrets replaces every secret value in msg, as written and as a
// URL would carry it, with [secret]: an error text goes into events and
// logs.
func (e *Engine) redactSecrets(msg string) string {
	for _, v := range e.secrets {
		for _, form := range [...]string{v, url.QueryEscape(v), url.PathEscape(v)} {
			if form != "" && strings.Contains(msg, form) {
				msg = strings.ReplaceAll(msg, form, "[secret]")
			}
		}
	}
	return msg
}
