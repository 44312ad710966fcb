package webchat

import (
	"context"
	"fmt"
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
		browsertest.Screenshot(t, ctx, fmt.Sprint(sz.Width, ".png"))
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => { const i = document.querySelector('.parley-input'); const cs = getComputedStyle(i); return [JSON.stringify(i.value), cs.height, cs.lineHeight, cs.fontSize, i.style.height, String(i.scrollHeight), String(i.clientHeight), cs.padding]; })()`))
		t.Log(v, err)
		chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".parley-close")))
		a.Send(context.Background(), channel.Outbound{To: channelAddr(hist), Key: "zz", Text: "psst"})
		time.Sleep(200 * time.Millisecond)
		browsertest.Screenshot(t, ctx, fmt.Sprint(sz.Width, "-closed.png"))
	}
}

func channelAddr(h *memHistory) (a channel.Address) {
	for id := range h.items {
		a = channel.Address{Channel: channel.Web, ID: id}
	}
	return
}
