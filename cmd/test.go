package cmd

func runTest(args []string, stdio IO) int { return notYet("test", stdio) }
