package cmd

import (
	"fmt"
	"time"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/store"
)

// FilesConfig is the operator's policy on attachments (server settings,
// files: section): the largest file, the content types accepted (sniffed
// from the bytes; "image/*" patterns work) and how long the bytes are kept.
type FilesConfig struct {
	MaxBytes int64         `yaml:"max_bytes"` // default 10 MiB, at most 64 MiB
	Types    []string      `yaml:"types"`     // default channel.DefaultFileTypes
	Keep     time.Duration `yaml:"keep"`      // 0: for ever; e.g. 2160h for 90 days
}

// runtimeFiles checks c and makes the runtime's policy of it.
func (c FilesConfig) runtimeFiles() (bot.FilesConfig, error) {
	switch {
	case c.MaxBytes < 0 || c.MaxBytes > store.MaxFileBytes:
		return bot.FilesConfig{}, fmt.Errorf("files.max_bytes is %d; set it between 1 and %d (64 MiB), or leave it out for 10 MiB", c.MaxBytes, store.MaxFileBytes)
	case c.Keep < 0:
		return bot.FilesConfig{}, fmt.Errorf("files.keep is %s; set a positive duration such as 2160h, or leave it out to keep files", c.Keep)
	}
	return bot.FilesConfig{FilePolicy: channel.FilePolicy{MaxBytes: c.MaxBytes, Types: c.Types}.WithDefaults(), Keep: c.Keep}, nil
}
