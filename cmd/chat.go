package cmd

func runChat(args []string, stdio IO) int { return notYet("chat", stdio) }
