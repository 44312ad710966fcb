package cmd

func runBackup(args []string, stdio IO) int { return notYet("backup", stdio) }
