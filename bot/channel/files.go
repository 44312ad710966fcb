package channel

import (
	"fmt"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// DefaultMaxFileBytes is the size limit of one attachment when the
// operator sets none: a phone photo or a scanned receipt fits.
const DefaultMaxFileBytes = 10 << 20

// DefaultFileTypes are the content types kept when the operator lists
// none: pictures, PDF, plain text, office documents (they sniff as zip),
// voice messages (ogg), audio and video clips. Everything else, executables
// and HTML above all, is refused.
var DefaultFileTypes = []string{
	"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp",
	"application/pdf", "text/plain", "application/zip",
	"application/ogg", "audio/mpeg", "audio/wave", "video/mp4", "video/webm",
}

// FilePolicy is the operator's limit on attachments, the same for every
// channel and for agents.
type FilePolicy struct {
	MaxBytes int64    // default DefaultMaxFileBytes
	Types    []string // media types or "image/*" patterns; default DefaultFileTypes
}

// WithDefaults fills the zero fields.
func (p FilePolicy) WithDefaults() FilePolicy {
	if p.MaxBytes <= 0 {
		p.MaxBytes = DefaultMaxFileBytes
	}
	if len(p.Types) == 0 {
		p.Types = DefaultFileTypes
	}
	return p
}

// FileRefusal is a file the policy does not accept; Reason is "empty",
// "too_big" or "type".
type FileRefusal struct {
	Reason string
	Size   int64  // the file's size (too_big)
	Limit  int64  // the limit (too_big)
	Type   string // the sniffed media type (type)
}

func (e *FileRefusal) Error() string {
	switch e.Reason {
	case "empty":
		return "the file is empty"
	case "too_big":
		return fmt.Sprintf("the file is %s; the limit is %s", HumanBytes(e.Size), HumanBytes(e.Limit))
	}
	return fmt.Sprintf("files of type %s are not accepted; send a picture, a PDF or a document", e.Type)
}

// Unwrap makes a too_big refusal ErrFileTooBig for errors.Is.
func (e *FileRefusal) Unwrap() error {
	if e.Reason == "too_big" {
		return ErrFileTooBig
	}
	return nil
}

// Check sniffs data's content type (http.DetectContentType: the client's
// word for it is never taken) and returns it if the policy allows it and
// the size is within the limit; otherwise a *FileRefusal.
func (p FilePolicy) Check(data []byte) (contentType string, err error) {
	p = p.WithDefaults()
	switch {
	case len(data) == 0:
		return "", &FileRefusal{Reason: "empty"}
	case int64(len(data)) > p.MaxBytes:
		return "", &FileRefusal{Reason: "too_big", Size: int64(len(data)), Limit: p.MaxBytes}
	}
	contentType = http.DetectContentType(data)
	media, _, _ := mime.ParseMediaType(contentType)
	for _, pat := range p.Types {
		if ok, _ := path.Match(strings.ToLower(pat), media); ok {
			return contentType, nil
		}
	}
	return "", &FileRefusal{Reason: "type", Type: media}
}

// HumanBytes is n as people read it: "640 KB", "10.0 MB".
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// CleanFileName keeps the last element of a client's file name, without
// control characters, quotes or path separators, at most 100 bytes: it is
// shown to people and put in a Content-Disposition header.
func CleanFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	for len(name) > 100 {
		_, size := lastRune(name)
		name = name[:len(name)-size]
	}
	return name
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xc0 != 0x80 {
			return rune(s[i]), len(s) - i
		}
	}
	return 0, 1
}

// ServeFile writes a stored file for a browser: its sniffed type, nosniff,
// and Content-Disposition inline for pictures (shown in the chat), attachment
// for anything else (downloaded, never rendered as a page of our origin).
// The web chat and the agent console serve files with it.
func ServeFile(w http.ResponseWriter, r *http.Request, f File) {
	h := w.Header()
	ct := f.Type
	disp := "attachment"
	if f.Kind == "image" && ct != "image/svg+xml" {
		disp = "inline"
	} else if !strings.HasPrefix(ct, "text/plain") && !strings.HasPrefix(ct, "image/") {
		ct = "application/octet-stream"
	}
	name := f.Name
	if name == "" {
		name = f.ID
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("Content-Length", strconv.Itoa(len(f.Data)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(f.Data)
}
