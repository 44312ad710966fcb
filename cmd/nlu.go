package cmd

func runNLU(args []string, stdio IO) int { return notYet("nlu", stdio) }
