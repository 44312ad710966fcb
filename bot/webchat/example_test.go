package webchat_test

import (
	"context"
	"log"
	"net/http"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/bot/webchat"
)

// The runtime is the channel.Handler (it records each message durably before
// returning) and the History; the adapter is also the channel.Sender the
// outbox delivers replies through.
func Example() {
	web, err := webchat.New(webchat.Config{
		AllowedOrigins: []string{"shop.example.com"}, // sites that embed the widget
		Secret:         []byte("a persistent key of 32+ bytes..."),
		Title:          "Leaf & Kettle",
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	runtime := channel.HandlerFunc(func(ctx context.Context, in channel.Inbound) error {
		// Record in (EventID "web:<visitor>:<client id>") durably, then return nil.
		return nil
	})
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler(runtime)) // /, /widget.js, /widget.css, /ws
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: mux}
	_ = srv // srv.ListenAndServe(); on shutdown: srv.Shutdown(ctx), then web.Close()
}
