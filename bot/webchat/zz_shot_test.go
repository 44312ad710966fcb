package webchat

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/internal/browsertest"
)

func TestZZShot(t *testing.T) {
	hist := &memHistory{items: map[string][]Item{}, seen: map[string]bool{}}
	var a *Adapter
	a, _ = New(Config{Secret: testSecret, Title: "Leaf & Kettle", Logger: zerolog.Nop()}, hist)
	srv := httptest.NewServer(a.Handler(echoBot(t, hist, &a)))
	defer srv.Close()
	for _, sz := range []browsertest.Size{browsertest.Phone, browsertest.Desktop} {
		ctx := browsertest.New(t, sz)
		chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"))
		chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(".parley-input")))
		chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(".parley-input"), "Where is my order? <b>x</b>\r"))
		time.Sleep(400 * time.Millisecond)
		a.SendTyping(context.Background(), channelAddr(hist))
		time.Sleep(100 * time.Millisecond)
		t.Setenv("PARLEY_ARTIFACTS", "/tmp/shots")
		browsertest.Screenshot(t, ctx, "shot.png")
		t.Run("x", func(t *testing.T) {})
	}
}

func channelAddr(h *memHistory) (a channel.Address) {
	for id := range h.items {
		a = channel.Address{Channel: channel.Web, ID: id}
	}
	return
}
