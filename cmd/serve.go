package cmd

func runServe(args []string, stdio IO) int { return notYet("serve", stdio) }
