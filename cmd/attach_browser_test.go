package cmd

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/internal/browsertest"
	"github.com/parley-chat/parley/store"
)

// pngFile writes a w×h picture of one colour to dir/name.
func pngFile(t *testing.T, dir, name string, w, h int, c color.Color) (string, []byte) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, buf.Bytes()
}

// TestAttachmentsBothWaysInBrowser: in two real chromium tabs, a customer
// waiting for a person sends a photo from the widget and the agent sees it
// in the console; the agent sends a picture back from the console and the
// customer sees it in the widget. Both are stored with the conversation.
func TestAttachmentsBothWaysInBrowser(t *testing.T) {
	s, _ := startServer(t, nil)
	addAgent(t, s.db, "anna", "Анна", handoff.RoleAgent)
	base := "http://" + s.addr
	dir := t.TempDir()
	parcel, parcelBytes := pngFile(t, dir, "parcel.png", 64, 48, color.RGBA{200, 40, 40, 255})
	label, labelBytes := pngFile(t, dir, "label.png", 40, 30, color.RGBA{20, 90, 200, 255})

	agent := page{t, browsertest.New(t, browsertest.Desktop)}
	if err := browsertest.Open(agent.ctx, base+"/console/", `document.querySelector("#login-form") !== null`); err != nil {
		t.Fatalf("open the console: %v", err)
	}
	agent.do("sign in",
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#login-name"), "anna"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), agentPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#queue-empty")),
	)
	// The queue shows new tickets live only once its event stream is open.
	agent.poll("live updates", `document.getElementById("live").classList.contains("on")`)

	cust := russian(t, page{t, browsertest.New(t, browsertest.Phone)})
	if err := browsertest.Open(cust.ctx, base+"/", `document.querySelector('#parley-widget .parley-status') !== null`); err != nil {
		t.Fatalf("open the demo page: %v", err)
	}
	cust.poll("connected", `document.querySelector('#parley-widget .parley-status').textContent.includes('онлайн')`)
	m := cust.mark()
	cust.say("оператор")
	cust.waitBot(m, "the queue notice", "оператор")

	// The customer sends a photo of the parcel with the 📎 button.
	cust.do("pick the photo", chromedp.SetUploadFiles(chromedp.CSS(`#parley-widget .parley-picker`), []string{parcel}))
	cust.poll("the photo is sent and shown", `(() => { const i = document.querySelector('#parley-widget .parley-in img.parley-image');
		return !!i && i.complete && i.naturalWidth === 64 && !i.closest('.parley-msg').classList.contains('parley-pending') })()`)

	agent.do("the ticket appears", chromedp.WaitVisible(chromedp.CSS(".ticket-item")))
	agent.do("open it", chromedp.Click(chromedp.CSS(".ticket-item")), chromedp.WaitVisible(chromedp.CSS("#ticket")))
	agent.poll("the customer's photo in the console", `(() => { const i = document.querySelector('#history .msg.customer img.att-image');
		return !!i && i.complete && i.naturalWidth === 64 && i.naturalHeight === 48 })()`)

	// The agent claims and sends a picture back.
	agent.do("claim", chromedp.Click(chromedp.CSS("#claim")), chromedp.WaitVisible(chromedp.CSS("#reply-box")))
	agent.do("send a picture", chromedp.SetUploadFiles(chromedp.CSS(`#reply-file`), []string{label}))
	agent.poll("the agent's picture in the console", `!!document.querySelector('#history .msg.agent img.att-image')`)
	cust.poll("the agent's picture in the widget", `(() => { const i = document.querySelector('#parley-widget .parley-out img.parley-image');
		return !!i && i.complete && i.naturalWidth === 40 && i.closest('.parley-msg').querySelector('.parley-sender').textContent === 'Анна' })()`)
	// After a reload the history brings both pictures back (signed links anew).
	cust.do("reload", chromedp.Reload())
	cust.poll("both pictures from the history", `[...document.querySelectorAll('#parley-widget img.parley-image')].filter(i => i.complete && i.naturalWidth > 0).length === 2`)
	if errText := agent.eval(`[document.getElementById("action-error").textContent]`); errText[0] != "" {
		t.Errorf("console error: %q", errText[0])
	}

	// Both files are stored with the contact's conversation, byte for byte.
	c, err := s.db.ContactByIdentity(identityOfWidget(t, s.db))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := s.db.ExportContact(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Files) != 2 || !bytes.Equal(exp.Files[0].Data, parcelBytes) || !bytes.Equal(exp.Files[1].Data, labelBytes) ||
		exp.Files[0].Sender != "customer" || !strings.HasPrefix(exp.Files[1].Sender, "agent:") || exp.Files[0].Type != "image/png" {
		t.Errorf("stored files: %d, %+v", len(exp.Files), exp.Files)
	}
	browsertest.Screenshot(t, cust.ctx, filepath.Join(os.TempDir(), "parley-attach-widget.png"))
	browsertest.Screenshot(t, agent.ctx, filepath.Join(os.TempDir(), "parley-attach-console.png"))
}

// identityOfWidget is the web identity of the one contact the test made.
func identityOfWidget(t *testing.T, db *store.DB) string {
	t.Helper()
	tickets, err := db.Tickets("")
	if err != nil || len(tickets) != 1 {
		t.Fatalf("tickets %v, %v", tickets, err)
	}
	c, err := db.Contact(tickets[0].ContactID)
	if err != nil {
		t.Fatal(err)
	}
	return c.Identities[0]
}
