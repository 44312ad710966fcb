package nlu

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// model is a trained linear classifier over TF-IDF features. Weights are
// kept sparse, per feature, so scoring costs the features a message has
// times the labels each feature speaks for, not times all labels.
type model struct {
	feat   *featurizer
	vec    vectorizer
	labels []string
	oos    int // index of OOSLabel in labels, or -1
	bias   []float32
	// CSR by feature: the weights of feature f are cls/w[rowStart[f]:rowStart[f+1]].
	rowStart []int32
	cls      []int32
	w        []float32
	// charCache maps a word to its wordChars (classifying only).
	charCache     sync.Map
	charCacheSize atomic.Int64
}

func (m *model) labelIndex(l string) int {
	if i, ok := slices.BinarySearch(m.labels, l); ok {
		return i
	}
	return -1
}

// scratch holds every buffer one classification needs; the classifier
// keeps them in a pool so that a message allocates only its answer.
type scratch struct {
	featScratch
	cols   []int32
	x      sparse
	logits []float32
	probs  []float64
	// merging the cached character columns of the words
	heads     []wordChars
	merged    []int32
	mergedN   []int32
	tmp, tmpN []int32
	charPairs []colCount
}

type colCount struct{ col, n int32 }

func (m *model) newScratch() *scratch {
	return &scratch{logits: make([]float32, len(m.labels)), probs: make([]float64, len(m.labels))}
}

// logits writes the raw label scores of text into dst and reports whether
// any of its words was seen in training.
func (m *model) logits(text string, dst []float32) bool {
	sc := m.newScratch()
	sc.logits = dst
	toks, _ := m.feat.wordsOf(tokens(Normalize(text)), nil, &sc.featScratch)
	return m.logitsOf(toks, nil, sc, false)
}

// logitsOf writes the raw label scores of normalised words (synonyms
// applied; stems as in featuresOf) into sc.logits. With cached, the
// character columns of each word come from the model's word cache.
func (m *model) logitsOf(toks, stems []string, sc *scratch, cached bool) bool {
	for g := range sc.feats {
		sc.feats[g] = sc.feats[g][:0]
	}
	known := m.feat.featuresOf(toks, stems, &sc.featScratch, &sc.feats, !cached)
	if cached {
		sc.x.idx, sc.x.val = sc.x.idx[:0], sc.x.val[:0]
		sc.cols = m.vec.columns(sc.cols[:0], sc.feats[groupWord])
		m.vec.appendGroup(&sc.x, groupWord, sc.cols, nil)
		m.charColumns(toks, sc)
		m.vec.appendGroup(&sc.x, groupChar, sc.merged, sc.mergedN)
	} else {
		sc.cols = m.vec.vectorizeInto(&sc.feats, sc.cols, &sc.x)
	}
	dst := sc.logits
	copy(dst, m.bias)
	x := sc.x
	for k, f := range x.idx {
		v := x.val[k]
		lo, hi := m.rowStart[f], m.rowStart[f+1]
		cls, w := m.cls[lo:hi], m.w[lo:hi:hi]
		for j, c := range cls {
			dst[c] += v * w[j]
		}
	}
	return known
}

// wordChars are a word's known character n-gram columns, sorted and unique,
// with how often each occurs in the word.
type wordChars struct{ cols, counts []int32 }

// maxCharCache bounds the words whose columns a model remembers: a word's
// entry is about 400 bytes, so at most 8 MB per model even when a stream
// of unique garbage fills it; customers of one bot use a few thousand words.
// Words past the bound are hashed each time, as before the cache.
const maxCharCache = 20_000

// wordChars returns the character columns of one word, from the cache when
// it was seen before: hashing its n-grams and looking them up is most of
// a short message's cost.
func (m *model) wordChars(tok string, sc *scratch) wordChars {
	if v, ok := m.charCache.Load(tok); ok {
		return *v.(*wordChars)
	}
	buf := append(sc.runes[:0], ' ')
	for _, r := range tok {
		buf = append(buf, r)
	}
	buf = append(buf, ' ')
	sc.runes = buf
	hashes := appendCharGrams(sc.feats[groupChar][:0], buf)
	sc.feats[groupChar] = hashes
	cols := m.vec.columns(nil, hashes)
	var wc wordChars
	for k := 0; k < len(cols); {
		j := k + 1
		for j < len(cols) && cols[j] == cols[k] {
			j++
		}
		wc.cols = append(wc.cols, cols[k])
		wc.counts = append(wc.counts, int32(j-k))
		k = j
	}
	if len(tok) <= 32 && m.charCacheSize.Add(1) < maxCharCache {
		m.charCache.Store(strings.Clone(tok), &wc)
	}
	return wc
}

// charColumns merges the character columns of the message's words into
// sc.merged (sorted, unique) and sc.mergedN (counts): the same vector as
// hashing every n-gram of the message, in the same column order, so the
// scores are bit for bit those of training's path.
func (m *model) charColumns(toks []string, sc *scratch) {
	sc.heads = sc.heads[:0]
	for _, t := range toks {
		if !isNumber(t) {
			if wc := m.wordChars(t, sc); len(wc.cols) > 0 {
				sc.heads = append(sc.heads, wc)
			}
		}
	}
	sc.merged, sc.mergedN = sc.merged[:0], sc.mergedN[:0]
	if len(sc.heads) > 8 {
		// A long message: sort all (column, count) pairs, then add up.
		sc.charPairs = sc.charPairs[:0]
		for _, h := range sc.heads {
			for k, c := range h.cols {
				sc.charPairs = append(sc.charPairs, colCount{c, h.counts[k]})
			}
		}
		slices.SortFunc(sc.charPairs, func(a, b colCount) int { return int(a.col) - int(b.col) })
		for _, p := range sc.charPairs {
			if n := len(sc.merged); n > 0 && sc.merged[n-1] == p.col {
				sc.mergedN[n-1] += p.n
				continue
			}
			sc.merged = append(sc.merged, p.col)
			sc.mergedN = append(sc.mergedN, p.n)
		}
		return
	}
	// A few words: merge their sorted lists into the running result, one
	// word at a time (tight loops, no pointer writes).
	for _, h := range sc.heads {
		a, an := sc.merged, sc.mergedN
		out, outN := sc.tmp[:0], sc.tmpN[:0]
		i, j := 0, 0
		for i < len(a) && j < len(h.cols) {
			switch x, y := a[i], h.cols[j]; {
			case x < y:
				out, outN = append(out, x), append(outN, an[i])
				i++
			case x > y:
				out, outN = append(out, y), append(outN, h.counts[j])
				j++
			default:
				out, outN = append(out, x), append(outN, an[i]+h.counts[j])
				i, j = i+1, j+1
			}
		}
		out, outN = append(out, a[i:]...), append(outN, an[i:]...)
		out, outN = append(out, h.cols[j:]...), append(outN, h.counts[j:]...)
		sc.merged, sc.mergedN, sc.tmp, sc.tmpN = out, outN, a[:0], an[:0]
	}
}

// fitModel builds the vocabulary and trains the weights on examples.
func fitModel(examples []Example, o Options) *model {
	m := &model{feat: newFeaturizer(o.Synonyms), oos: -1}
	labelSet := map[string]bool{}
	for _, e := range examples {
		labelSet[e.Label] = true
		m.feat.learn(m.feat.tokens(e.Text))
	}
	for l := range labelSet {
		m.labels = append(m.labels, l)
	}
	slices.Sort(m.labels)
	m.oos = m.labelIndex(OOSLabel)

	feats := make([][numGroups][]uint64, len(examples))
	df := map[uint64]int32{}
	for i, e := range examples {
		m.feat.features(e.Text, &feats[i])
		seen := map[uint64]bool{}
		for g := range numGroups {
			for _, h := range feats[i][g] {
				if !seen[h] {
					seen[h] = true
					df[h]++
				}
			}
		}
	}
	// Features seen once in a large set are mostly noise and cost memory;
	// in a small FAQ every example's words matter.
	minDF := int32(1)
	if len(examples) >= 2000 {
		minDF = 2
	}
	m.vec = vectorizer{index: map[uint64]int32{}, groupWeight: [numGroups]float32{1, float32(o.CharWeight)}}
	n := float64(len(examples))
	for i := range feats { // first-seen order keeps columns deterministic
		for g := range numGroups {
			for _, h := range feats[i][g] {
				if _, ok := m.vec.index[h]; ok || df[h] < minDF {
					continue
				}
				m.vec.index[h] = int32(len(m.vec.idf))
				m.vec.idf = append(m.vec.idf, float32(math.Log((n+1)/float64(df[h]+1))+1))
			}
		}
	}
	m.vec.freeze()
	X := make([]sparse, len(examples))
	y := make([]int, len(examples))
	for i, e := range examples {
		X[i] = m.vec.vectorize(&feats[i])
		y[i] = m.labelIndex(e.Label)
	}
	W, bias := sgd(X, y, exampleWeights(y, len(m.labels)), len(m.vec.idf), len(m.labels), o)
	m.bias = bias
	m.sparsify(W, len(m.labels))
	return m
}

// activeGrad: labels whose gradient is smaller are not updated for an
// example. Besides saving time this keeps weights sparse: a label gets a
// weight on a feature only once it competes for messages that have it.
const activeGrad = 1e-3

// pruneBelow drops weights too small to move a score; SGD leaves most
// label-feature pairs that never met at exactly zero anyway.
const pruneBelow = 1e-4

// pruneRel drops, per feature, weights under this share of the feature's
// largest weight. On CLINC150 0.02 keeps 23% of the weights (2.78M -> 0.64M)
// at the same accuracy; 0.1 loses half a point.
const pruneRel = 0.02

// maxPostings caps the labels one feature may vote for, so that scoring
// stays under 100 µs with a thousand FAQ entries (a common character
// n-gram would otherwise cost a multiply per entry). Capping CLINC150's 151
// labels at 64 cost 0.5 points of accuracy; 200 leaves sets of up to 200
// labels untouched.
const maxPostings = 200

func (m *model) sparsify(W []float32, C int) {
	F := len(W) / C
	m.rowStart = make([]int32, F+1)
	for f := range F {
		row := W[f*C : (f+1)*C]
		var peak float32
		for _, w := range row {
			peak = max(peak, w, -w)
		}
		cut := max(float32(pruneBelow), peak*float32(pruneRel))
		if C > maxPostings {
			// Keep only the feature's strongest votes: with many labels a
			// common n-gram would otherwise cost a multiply for each.
			mags := make([]float32, C)
			for c, w := range row {
				mags[c] = max(w, -w)
			}
			slices.Sort(mags)
			cut = max(cut, mags[C-maxPostings])
		}
		for c, w := range row {
			if w > cut || w < -cut {
				m.cls = append(m.cls, int32(c))
				m.w = append(m.w, w)
			}
		}
		m.rowStart[f+1] = int32(len(m.w))
	}
}

// sgd trains a multinomial logistic regression. Weights are feature-major
// (W[f*C+c]) so a sparse example touches contiguous rows. L2 decay is a
// running scale factor so that a step costs the example's features, not the
// whole matrix; only labels with a noticeable gradient are updated.
func sgd(X []sparse, y []int, wt []float64, F, C int, o Options) ([]float32, []float32) {
	V := make([]float32, F*C)
	bias := make([]float32, C)
	scores := make([]float32, C)
	probs := make([]float64, C)
	active := make([]int, 0, C)
	scale := 1.0
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed*0x9e3779b97f4a7c15+1))
	order := make([]int, len(X))
	for i := range order {
		order[i] = i
	}
	total := float64(o.Epochs * len(X))
	t := 0.0
	// The weights of the second half of the epochs are averaged: plain SGD
	// ends wherever the last examples pushed it, the average is steadier.
	avgFrom := o.Epochs / 2
	var avgV, avgB []float32
	navg := 0
	for ep := range o.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			eta := o.LearningRate * (1 - 0.9*t/total)
			t++
			x := X[i]
			copy(scores, bias)
			for k, f := range x.idx {
				xv := x.val[k] * float32(scale)
				row := V[int(f)*C : int(f+1)*C]
				for c, w := range row {
					scores[c] += xv * w
				}
			}
			mx := float64(scores[0])
			for _, s := range scores {
				if float64(s) > mx {
					mx = float64(s)
				}
			}
			var sum float64
			for c, s := range scores {
				probs[c] = math.Exp(float64(s) - mx)
				sum += probs[c]
			}
			active = active[:0]
			for c := range probs {
				probs[c] /= sum
				if c == y[i] {
					probs[c] -= 1
				}
				if math.Abs(probs[c]) > activeGrad {
					active = append(active, c)
				}
			}
			scale *= 1 - eta*o.L2
			for _, c := range active {
				g := float32(eta * wt[i] * probs[c])
				bias[c] -= g
				gs := g / float32(scale)
				for k, f := range x.idx {
					V[int(f)*C+c] -= gs * x.val[k]
				}
			}
			if scale < 1e-3 {
				for k := range V {
					V[k] *= float32(scale)
				}
				scale = 1
			}
		}
		if ep >= avgFrom {
			if avgV == nil {
				avgV, avgB = make([]float32, len(V)), make([]float32, len(bias))
			}
			for k, v := range V {
				avgV[k] += v * float32(scale)
			}
			for k, b := range bias {
				avgB[k] += b
			}
			navg++
		}
	}
	if navg > 0 {
		for k := range avgV {
			avgV[k] /= float32(navg)
		}
		for k := range avgB {
			avgB[k] /= float32(navg)
		}
		return avgV, avgB
	}
	for k := range V {
		V[k] *= float32(scale)
	}
	return V, bias
}

// exampleWeights balances the labels: each example's gradient is scaled so
// that every label weighs as much as one with the mean number of examples.
// Without it a label given more examples grows its bias and its weight on
// common words ("есть", "how"), and takes questions of unrelated labels
// (a lead added three examples to one FAQ entry, and "есть пицца без мяса?"
// went to it). The scale is kept within [1/4, 4] so that a label of one
// example does not dominate the words it has.
func exampleWeights(y []int, C int) []float64 {
	n := make([]float64, C)
	for _, c := range y {
		n[c]++
	}
	mean := float64(len(y)) / float64(C)
	w := make([]float64, len(y))
	for i, c := range y {
		w[i] = min(max(mean/n[c], 0.25), 4)
	}
	return w
}
