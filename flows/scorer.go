package flows

import (
	"sync"

	"github.com/parley-chat/parley/flows/nlu"
)

// sharedScorer builds the sentiment lexicons once per process: they are
// immutable and the same for every project.
var sharedScorer = sync.OnceValue(nlu.NewScorer)
