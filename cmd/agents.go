package cmd

func runAgents(args []string, stdio IO) int { return notYet("agents", stdio) }
