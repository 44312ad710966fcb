package cmd

func runInit(args []string, stdio IO) int { return notYet("init", stdio) }
