//go:build !parleywip

package cmd

func runChat(args []string, stdio IO) int  { return notYet("chat", stdio) }
func runServe(args []string, stdio IO) int { return notYet("serve", stdio) }
