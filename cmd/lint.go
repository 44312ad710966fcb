package cmd

func runLint(args []string, stdio IO) int { return notYet("lint", stdio) }
