package cmd

import (
	"io"
	"time"

	"github.com/rs/zerolog"
)

// newLogger builds the process logger: JSON lines by default (what log
// shippers want), a human console format on request.
func newLogger(w io.Writer, level, format string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	l := zerolog.New(w).Level(lvl).With().Timestamp().Logger()
	zerolog.DefaultContextLogger = &l
	return l
}
