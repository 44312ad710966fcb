package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
)

// fileStore is the part of the store that keeps attachments (store/files.go).
// A Store without it keeps only the channels' references, as before.
type fileStore interface {
	PutFile(ctx context.Context, f store.File, data []byte) (store.File, error)
	File(id string) (store.File, error)
	FileData(id string) (store.File, []byte, error)
	FileOf(contactID, id string) (store.File, error)
	PruneFiles(ctx context.Context, cutoff time.Time) (int, int64, error)
}

// FilesConfig is the operator's policy on attachments.
type FilesConfig struct {
	channel.FilePolicy
	// Keep is how long a file's bytes are kept (0: for ever); after it the
	// retention cleanup empties the file and keeps its record.
	Keep time.Duration
}

func (r *Runtime) files() fileStore {
	fs, _ := r.db.(fileStore)
	return fs
}

// fetchedKinds are the attachment kinds whose bytes are fetched and kept;
// stickers, locations, contacts and links stay references.
var fetchedKinds = map[string]bool{
	"photo": true, "image": true, "document": true, "doc": true, "file": true,
	"voice": true, "audio": true, "audio_message": true, "video": true, "video_note": true, "animation": true,
}

// fetchesFiles reports whether in's turn downloads a file from its channel.
func (r *Runtime) fetchesFiles(in channel.Inbound) bool {
	if r.files() == nil {
		return false
	}
	if _, ok := r.senders[in.From.Channel].(channel.FileFetcher); !ok {
		return false
	}
	for _, a := range in.Attachments {
		if fetchedKinds[a.Kind] && !strings.HasPrefix(a.URL, channel.FileScheme) {
			return true
		}
	}
	return false
}

// keepAttachments stores the bytes of in's attachments and points them at
// the stored copies (channel.FileScheme). A web chat upload is stored
// already: it is checked to belong to the contact. A Telegram or VK file is
// fetched through its channel (channel.FileFetcher) and checked against the
// policy. A file that is refused (too big, a type not accepted) stays a
// reference and the customer is told why, in the turn's first reply; one
// that cannot be fetched stays a reference too.
func (r *Runtime) keepAttachments(ctx context.Context, ts *turnState, in *channel.Inbound) {
	fs := r.files()
	if fs == nil || len(in.Attachments) == 0 {
		return
	}
	pol := r.cfg.Files.WithDefaults()
	in.Attachments = slices.Clone(in.Attachments)
	for i, a := range in.Attachments {
		if id, ok := strings.CutPrefix(a.URL, channel.FileScheme); ok {
			f, err := fs.FileOf(ts.turn.ContactID, id)
			if err != nil {
				r.log.Warn().Err(err).Str("contact", ts.turn.ContactID).Msg("attachment is not the contact's; dropped")
				in.Attachments[i] = channel.Attachment{Kind: a.Kind, Name: a.Name}
				continue
			}
			in.Attachments[i] = attachmentOf(f)
			continue
		}
		ff, ok := r.senders[in.From.Channel].(channel.FileFetcher)
		if !ok || !fetchedKinds[a.Kind] {
			continue
		}
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		data, name, err := ff.FetchFile(fctx, a, pol.MaxBytes)
		cancel()
		var ct string
		if err == nil {
			ct, err = pol.Check(data)
		}
		if err != nil {
			r.fileRefused(ts, in.From.Channel, a, err)
			continue
		}
		if a.Name != "" {
			name = a.Name
		}
		f, err := fs.PutFile(ctx, store.File{ContactID: ts.turn.ContactID, Name: channel.CleanFileName(name),
			Type: ct, Sender: "customer", Source: string(in.From.Channel)}, data)
		if err != nil {
			r.log.Error().Err(err).Str("contact", ts.turn.ContactID).Msg("attachment not stored; kept as a reference")
			continue
		}
		in.Attachments[i] = attachmentOf(f)
	}
}

// fileRefused records a customer's file that was not kept and, when the
// policy refused it (not a network failure), tells the customer why.
func (r *Runtime) fileRefused(ts *turnState, ch channel.Name, a channel.Attachment, err error) {
	var refusal *channel.FileRefusal
	if !errors.As(err, &refusal) && errors.Is(err, channel.ErrFileTooBig) {
		// The channel stopped the download at the limit.
		refusal = &channel.FileRefusal{Reason: "too_big", Limit: r.cfg.Files.WithDefaults().MaxBytes}
	}
	r.log.Warn().Err(err).Str("contact", ts.turn.ContactID).Str("kind", a.Kind).Msg("attachment not kept")
	ts.turn.Events = append(ts.turn.Events, store.Event{At: r.now(), ContactID: ts.turn.ContactID,
		Type: "attachment_refused", Data: map[string]string{"channel": string(ch), "kind": a.Kind, "error": err.Error()}})
	if refusal != nil {
		r.say(ts, refusalText(refusal, ts.contact.Lang), nil, "", "", "")
	}
}

// refusalText tells the customer why a file was not accepted.
func refusalText(e *channel.FileRefusal, lang string) string {
	if lang == "en" {
		switch e.Reason {
		case "empty":
			return "The file was not accepted: it is empty."
		case "too_big":
			return "The file was not accepted: files up to " + channel.HumanBytes(e.Limit) + " are accepted."
		}
		return "The file was not accepted: please send a photo, a PDF or a document."
	}
	switch e.Reason {
	case "empty":
		return "Файл не принят: он пустой."
	case "too_big":
		return "Файл не принят: можно присылать файлы до " + channel.HumanBytes(e.Limit) + "."
	}
	return "Файл не принят: пришлите, пожалуйста, фото, PDF или документ."
}

// attachmentOf is a stored file as an inbound attachment.
func attachmentOf(f store.File) channel.Attachment {
	return channel.Attachment{Kind: f.Kind, URL: channel.FileScheme + f.ID, Name: f.Name, Type: f.Type, Size: f.Size}
}

// fileOf is a stored file as an outbound one.
func fileOf(f store.File) channel.File {
	return channel.File{ID: f.ID, Kind: f.Kind, Name: f.Name, Type: f.Type, Size: f.Size}
}

// flowAttachments are the message's attachments as the flow sees them.
func flowAttachments(in []channel.Attachment) []flows.Attachment {
	if len(in) == 0 {
		return nil
	}
	out := make([]flows.Attachment, 0, len(in))
	for _, a := range in {
		out = append(out, flows.Attachment{Kind: a.Kind, Name: a.Name, Type: a.Type, Size: a.Size, Ref: a.URL})
	}
	return out
}

// SaveFile stores a file a customer uploads through the web chat (before
// the message that carries it), for the contact of from, made if new. The
// policy is checked here; the error says what to do.
func (r *Runtime) SaveFile(ctx context.Context, from channel.Address, name string, data []byte) (channel.File, error) {
	fs := r.files()
	if fs == nil {
		return channel.File{}, errors.New("this server keeps no files")
	}
	ct, err := r.cfg.Files.Check(data)
	if err != nil {
		return channel.File{}, err
	}
	c, _, err := r.db.ResolveContact(ctx, from.String(), "", "")
	if err != nil {
		return channel.File{}, err
	}
	f, err := fs.PutFile(ctx, store.File{ContactID: c.ID, Name: channel.CleanFileName(name), Type: ct,
		Sender: "customer", Source: string(from.Channel)}, data)
	if err != nil {
		return channel.File{}, err
	}
	return fileOf(f), nil
}

// OpenFile returns file id with its bytes if it belongs to the conversation
// of owner (a web chat visitor), else store.ErrNotFound.
func (r *Runtime) OpenFile(ctx context.Context, owner channel.Address, id string, withData bool) (channel.File, error) {
	fs := r.files()
	if fs == nil {
		return channel.File{}, store.ErrNotFound
	}
	c, err := r.contactByAddress(owner)
	if err != nil {
		return channel.File{}, err
	}
	f, err := fs.FileOf(c.ID, id)
	if err != nil {
		return channel.File{}, err
	}
	out := fileOf(f)
	if withData {
		if _, out.Data, err = fs.FileData(id); err != nil {
			return channel.File{}, err
		}
	}
	return out, nil
}

// sayFiles appends files to the turn: to the message just said (text) when
// there is one, else as a message of their own. History-synced channels get
// them with the message; the others one outbound message per file, after
// the text.
func (r *Runtime) sayFiles(ts *turnState, text string, files []store.File, senderID, senderName string) {
	if len(files) == 0 {
		r.say(ts, text, nil, "", senderID, senderName)
		return
	}
	refs := make([]string, 0, len(files))
	out := make([]channel.File, 0, len(files))
	for _, f := range files {
		refs = append(refs, store.AttachmentRef(f))
		out = append(out, fileOf(f))
	}
	_, direct := r.senders[ts.addr.Channel].(channel.HistorySyncer)
	if strings.TrimSpace(text) != "" {
		r.say(ts, text, nil, "", senderID, senderName)
		ts.turn.Messages[len(ts.turn.Messages)-1].Attachments = refs
		if direct && len(ts.direct) > 0 {
			ts.direct[len(ts.direct)-1].out.Files = out
			return
		}
	} else {
		sender := "bot"
		if senderID != "" {
			sender = "agent:" + senderID
		}
		now := r.now()
		ts.turn.Events = append(ts.turn.Events, store.Event{At: now, ContactID: ts.turn.ContactID, Type: "message_out",
			Data: map[string]string{"channel": string(ts.addr.Channel), "sender": sender}})
		ts.turn.Messages = append(ts.turn.Messages, store.Message{
			ContactID: ts.turn.ContactID, Dir: "out", Channel: string(ts.addr.Channel), Address: ts.addr.String(),
			Attachments: refs, Sender: sender, SenderName: senderName, At: now,
		})
		if direct {
			ts.direct = append(ts.direct, directReply{msg: len(ts.turn.Messages) - 1,
				out: channel.Outbound{To: ts.addr, Sender: senderName, Files: out}})
			return
		}
	}
	for _, f := range out {
		r.queueOutbound(ts, channel.Outbound{To: ts.addr, Sender: senderName, Files: []channel.File{f}}, r.now())
	}
}

// loadFileData fills the bytes of out's files right before a send, for the
// channels that upload them. A file erased since is sent as its name.
func (r *Runtime) loadFileData(out *channel.Outbound) error {
	if len(out.Files) == 0 {
		return nil
	}
	fs := r.files()
	if fs == nil {
		return &channel.PermanentError{Err: errors.New("files: the store keeps no files")}
	}
	out.Files = slices.Clone(out.Files)
	for i := range out.Files {
		_, data, err := fs.FileData(out.Files[i].ID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrFileErased) {
				return &channel.PermanentError{Err: fmt.Errorf("file %s: %w", out.Files[i].ID, err)}
			}
			return err
		}
		out.Files[i].Data = data
	}
	return nil
}

// SetFilesKeep changes how long files are kept (a project reload with a
// new files: keep:); the next hourly cleanup uses it.
func (r *Runtime) SetFilesKeep(d time.Duration) { r.filesKeep.Store(int64(d)) }

// FilesKeep is the file retention in force (0: files are kept).
func (r *Runtime) FilesKeep() time.Duration { return time.Duration(r.filesKeep.Load()) }

// pruneFiles empties the files older than the retention (Files.Keep, or
// SetFilesKeep's), now and every hour, until the runtime stops. Without a
// retention it only waits.
func (r *Runtime) pruneFiles() {
	fs := r.files()
	if fs == nil {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if keep := time.Duration(r.filesKeep.Load()); keep > 0 {
			n, size, err := fs.PruneFiles(r.ctx, r.now().Add(-keep))
			switch {
			case err != nil && r.ctx.Err() == nil:
				r.log.Error().Err(err).Msg("file retention cleanup failed")
			case n > 0:
				r.log.Info().Int("files", n).Int64("bytes", size).Msg("file retention: old files emptied")
			}
		}
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// deliveryFiles are the stored files of an agent's message; each must be
// the contact's (the console stored it for this conversation).
func (r *Runtime) deliveryFiles(contactID string, ids []string) ([]store.File, error) {
	fs := r.files()
	if fs == nil {
		return nil, errors.New("deliver: this store keeps no files")
	}
	out := make([]store.File, 0, len(ids))
	for _, id := range ids {
		f, err := fs.FileOf(contactID, id)
		if err != nil {
			return nil, fmt.Errorf("deliver: file %s: %w", id, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// MessageFiles are the stored files a history message refers to, for the
// web chat's history; references to files no longer stored are left out.
func (r *Runtime) MessageFiles(m store.Message) []channel.File {
	fs := r.files()
	if fs == nil || len(m.Attachments) == 0 {
		return nil
	}
	var out []channel.File
	for _, ref := range m.Attachments {
		id, ok := store.ParseAttachmentRef(ref)
		if !ok {
			continue
		}
		if f, err := fs.File(id); err == nil && f.Erased.IsZero() {
			out = append(out, fileOf(f))
		}
	}
	return out
}
