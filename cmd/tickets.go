package cmd

func runTickets(args []string, stdio IO) int { return notYet("tickets", stdio) }
