// Command parley is the Parley binary; everything lives in package cmd.
package main

import (
	"os"

	"github.com/parley-chat/parley/cmd"
)

func main() { os.Exit(cmd.Main()) }
