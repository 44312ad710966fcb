package nlu

import (
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Feature groups. Word features (stems and stem bigrams) and character
// n-grams are weighted and L2-normalised separately, as a union of two
// TF-IDF vectors: stems carry meaning across word forms, character n-grams
// carry typos, compounds and words the stemmer does not know.
const (
	groupWord = iota
	groupChar
	numGroups
)

// featurizer turns text into hashed features. It is read-only after
// training, so Classify can share it between goroutines.
type featurizer struct {
	synonyms    map[string][]string // normalised variant (maybe several words) -> canonical words
	maxSynWords int
	words       map[string]int32 // normalised training word -> frequency, for typo repair
	stems       map[string]bool  // stems seen in training
	concepts    map[string]bool  // built-in concepts seen in training
	deletes     map[string][]string
	// cyrillic says training had Russian words: only then may a Latin word
	// be read as transliterated Russian.
	cyrillic bool
}

func newFeaturizer(synonyms map[string][]string) *featurizer {
	f := &featurizer{synonyms: map[string][]string{}, words: map[string]int32{}, stems: map[string]bool{}, concepts: map[string]bool{}, deletes: map[string][]string{}}
	canon := make([]string, 0, len(synonyms))
	for c := range synonyms {
		canon = append(canon, c)
	}
	slices.Sort(canon) // deterministic when two groups claim one variant
	for _, c := range canon {
		cn := Normalize(c)
		for _, v := range synonyms[c] {
			vn := Normalize(v)
			if vn == "" || cn == "" {
				continue
			}
			if _, dup := f.synonyms[vn]; !dup {
				f.synonyms[vn] = strings.Fields(cn)
			}
			f.maxSynWords = max(f.maxSynWords, len(strings.Fields(vn)))
		}
	}
	return f
}

// tokens normalises text and applies synonyms, longest variant first.
func (f *featurizer) tokens(text string) []string {
	toks, _, _ := f.applySynonyms(nil, nil, tokens(Normalize(text)))
	return toks
}

// applySynonyms appends toks to out with synonym variants replaced by their
// canonical words, longest variant first; key is scratch for the lookups.
// Without synonyms it returns toks itself; replaced says whether a variant
// was found.
func (f *featurizer) applySynonyms(out []string, key []byte, toks []string) (_ []string, _ []byte, replaced bool) {
	if f.maxSynWords == 0 {
		return toks, key, false
	}
	for i := 0; i < len(toks); {
		matched := false
		for n := min(f.maxSynWords, len(toks)-i); n >= 1; n-- {
			key = key[:0]
			for k, t := range toks[i : i+n] {
				if k > 0 {
					key = append(key, ' ')
				}
				key = append(key, t...)
			}
			if c, ok := f.synonyms[string(key)]; ok { // no allocation for the lookup
				out = append(out, c...)
				i += n
				matched, replaced = true, true
				break
			}
		}
		if !matched {
			out = append(out, toks[i])
			i++
		}
	}
	return out, key, replaced
}

// wordsOf returns a prepared message's words as the classifier reads them:
// Latin words transliterated where they stand for Russian ones, chat
// spellings expanded, synonyms replaced. stems are Stem of each word, or nil when a word changed (the
// words are then stemmed as features are taken).
func (f *featurizer) wordsOf(toks, stems []string, sc *featScratch) ([]string, []string) {
	// The scratch buffers keep only what was built in them: a step that
	// changed nothing returns toks itself, which belongs to the caller (a
	// Prepared) and must not become scratch to append to.
	if f.cyrillic {
		out, key, replaced := f.translit(sc.translit[:0], sc.key, toks)
		sc.key = key
		if replaced {
			sc.translit, toks, stems = out, out, nil
		}
	}
	if out, replaced := f.expandColloquial(sc.slang[:0], toks); replaced {
		sc.slang, toks, stems = out, out, nil
	}
	if f.maxSynWords > 0 {
		out, key, replaced := f.applySynonyms(sc.toks[:0], sc.key, toks)
		sc.key = key
		if replaced {
			sc.toks, toks, stems = out, out, nil
		} else {
			sc.toks = out[:0] // built in sc.toks: keep the capacity
		}
	}
	return toks, stems
}

// learn records the training vocabulary used to repair typos.
func (f *featurizer) learn(toks []string) {
	for _, t := range toks {
		if isNumber(t) {
			continue
		}
		if f.words[t] == 0 && runeLen(t) >= minTypoLen {
			for _, d := range deletions(t) {
				f.deletes[d] = append(f.deletes[d], t)
			}
		}
		f.words[t]++
		w := lookupWord(t)
		f.stems[w.stem] = true
		if w.concept != "" {
			f.concepts[w.concept] = true
		}
		f.cyrillic = f.cyrillic || hasCyrillic(t)
	}
}

// hasCyrillic reports whether a normalised word has a Russian letter.
func hasCyrillic(w string) bool {
	for _, r := range w {
		if r >= 'а' && r <= 'я' {
			return true
		}
	}
	return false
}

// known reports whether a word or its stem was seen in training.
func (f *featurizer) known(w string) bool {
	return f.words[w] > 0 || f.stems[Stem(w)]
}

// translit appends toks to out with Latin words that the training data
// does not know, but whose Cyrillic reading it does, transliterated
// ("dostavka" -> "доставка"; "skolko" -> "сколько" by typo repair). An
// English word, or one typo repair finds in the training words, stays.
// replaced says whether any word changed; without it out is not used.
func (f *featurizer) translit(out []string, key []byte, toks []string) (_ []string, _ []byte, replaced bool) {
	if !f.cyrillic {
		return toks, key, false
	}
	for i, t := range toks {
		c := f.readLatin(t, &key)
		if c == "" {
			if replaced {
				out = append(out, t)
			}
			continue
		}
		if !replaced {
			out = append(out, toks[:i]...)
			replaced = true
		}
		out = append(out, c)
	}
	if !replaced {
		return toks, key, false
	}
	return out, key, true
}

// expandColloquial appends toks to out with chat spellings the training
// words do not know replaced by the words they stand for (colloquial).
// replaced says whether any changed; without it out is not used.
func (f *featurizer) expandColloquial(out, toks []string) (_ []string, replaced bool) {
	for i, t := range toks {
		words, ok := colloquial[t]
		if ok && f.words[t] == 0 {
			if !replaced {
				out = append(out, toks[:i]...)
				replaced = true
			}
			out = append(out, words...)
			continue
		}
		if replaced {
			out = append(out, t)
		}
	}
	if !replaced {
		return toks, false
	}
	return out, true
}

// readLatin returns the Cyrillic word a Latin word stands for, or "".
func (f *featurizer) readLatin(t string, key *[]byte) string {
	if !isLatinWord(t) || f.known(t) {
		return ""
	}
	cyr := Transliterate(t)
	if cyr == "" {
		return ""
	}
	if f.known(cyr) {
		return cyr
	}
	if alt, ok := strings.CutPrefix(cyr, "е"); ok && f.known("э"+alt) { // "eto" -> "это"
		return "э" + alt
	}
	var r string
	if r, *key = f.repair(t, *key); r != t {
		return "" // an English typo of a training word
	}
	if r, *key = f.repair(cyr, *key); r != cyr {
		return r
	}
	return ""
}

// minTypoLen: shorter words have too many neighbours at distance one
// ("кот", "кит", "код") for a repair to be more right than wrong.
const minTypoLen = 4

// maxTypoLen bounds the repair's quadratic work: no real word is longer.
const maxTypoLen = 30

// repair maps an unknown word to the most frequent training word at
// Damerau-Levenshtein distance one, or returns it unchanged. Deletions are
// built in buf (scratch, returned for reuse), so a miss allocates nothing.
func (f *featurizer) repair(w string, buf []byte) (string, []byte) {
	if n := runeLen(w); len(f.words) == 0 || f.words[w] > 0 || n < minTypoLen || n > maxTypoLen || isNumber(w) {
		return w, buf
	}
	best, bestN := "", int32(0)
	consider := func(c string) {
		n := f.words[c]
		if n == 0 || !withinOne(w, c) {
			return
		}
		if n > bestN || (n == bestN && c < best) {
			best, bestN = c, n
		}
	}
	for _, c := range f.deletes[w] { // w lacks a letter
		consider(c)
	}
	for i := 0; i < len(w); {
		_, size := utf8.DecodeRuneInString(w[i:])
		buf = append(append(buf[:0], w[:i]...), w[i+size:]...)
		i += size
		if n := f.words[string(buf)]; n > 0 && n >= bestN { // w has an extra letter
			consider(string(buf))
		}
		for _, c := range f.deletes[string(buf)] { // substitution or transposition
			consider(c)
		}
	}
	if best == "" {
		return w, buf
	}
	return best, buf
}

// featScratch holds the buffers one featurisation needs, reused between
// messages through the classifier's pool.
type featScratch struct {
	toks     []string
	translit []string
	slang    []string
	infos    []*wordInfo // lookupWord of each word when the caller has it (Prepare), else nil
	key      []byte
	stems    []string
	runes    []rune
	feats    [numGroups][]uint64
}

// features appends the hashed features of text, per group, to dst.
// known reports whether any word of the text was seen in training.
func (f *featurizer) features(text string, dst *[numGroups][]uint64) (known bool) {
	var sc featScratch
	return f.featuresOf(f.tokens(text), nil, &sc, dst, true)
}

// featuresOf is features on normalised words after synonyms; stems, when
// not nil, are Stem of each word (Prepare has them already). Without chars
// it leaves the character n-grams out (the classifier caches them per word).
func (f *featurizer) featuresOf(toks, stems []string, sc *featScratch, dst *[numGroups][]uint64, chars bool) (known bool) {
	sc.stems = sc.stems[:0]
	for i, t := range toks {
		var s string
		switch {
		case isNumber(t):
			s = "<num>"
		default:
			var info *wordInfo // lookupWord of the word read, once
			switch {
			case stems == nil:
				info = lookupWord(t)
				s = info.stem
			case sc.infos != nil:
				info, s = sc.infos[i], stems[i]
			default:
				s = stems[i]
			}
			if len(f.stems) > 0 && !f.stems[s] {
				var r string
				if r, sc.key = f.repair(t, sc.key); r != t {
					info = lookupWord(r)
					s = info.stem
				}
			}
			if info == nil {
				info = lookupWord(t)
			}
			if c := info.concept; c != "" {
				dst[groupWord] = append(dst[groupWord], hashParts('s', c, ""))
				// A word of a concept the training words have is known:
				// "привезёте" to an FAQ that says "доставка".
				known = known || f.concepts[c]
			}
		}
		sc.stems = append(sc.stems, s)
		if f.stems[s] {
			known = true
		}
	}
	for i, s := range sc.stems {
		dst[groupWord] = append(dst[groupWord], hashParts('w', s, ""))
		if i+1 < len(sc.stems) {
			dst[groupWord] = append(dst[groupWord], hashParts('b', s, sc.stems[i+1]))
			if phraseHeads[s] {
				var c string
				if c, _, sc.key = phraseConcept(sc.stems, i, sc.key); c != "" {
					dst[groupWord] = append(dst[groupWord], hashParts('s', c, ""))
				}
			}
		}
	}
	for _, t := range toks {
		if !chars || isNumber(t) {
			continue
		}
		buf := append(sc.runes[:0], ' ')
		for _, r := range t {
			buf = append(buf, r)
		}
		buf = append(buf, ' ')
		sc.runes = buf
		dst[groupChar] = appendCharGrams(dst[groupChar], buf)
	}
	return known
}

// appendCharGrams appends the hashes of buf's n-grams, n = charMin..charMax,
// all of length charMin first, then the next length (training assigned
// columns in this order). The hash of an n-gram extends that of its
// prefix, so each start costs charMax hash steps instead of 1+2+...+charMax.
func appendCharGrams(dst []uint64, buf []rune) []uint64 {
	L := len(buf)
	var off [charMax + 2]int // where n-grams of length n start in dst
	off[charMin] = len(dst)
	for n := charMin; n <= charMax; n++ {
		off[n+1] = off[n] + max(0, L-n+1)
	}
	dst = slices.Grow(dst, off[charMax+1]-len(dst))[:off[charMax+1]]
	for i := range L {
		h := uint64(fnvOffset)
		h = (h ^ uint64('c')) * fnvPrime
		for n := 1; n <= charMax && i+n <= L; n++ {
			r := buf[i+n-1]
			h = (h ^ uint64(r)) * fnvPrime
			h = (h ^ uint64(r>>8)) * fnvPrime
			if n >= charMin {
				dst[off[n]+i] = h
			}
		}
	}
	return dst
}

// Character n-gram lengths: 1-4 measured best on CLINC150 val (93.2% raw
// in-scope accuracy against 92.8-93.1% for 3-5, 2-5 and 3-6).
const charMin, charMax = 1, 4

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashParts(kind byte, a, b string) uint64 {
	h := uint64(fnvOffset)
	h = (h ^ uint64(kind)) * fnvPrime
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * fnvPrime
	}
	h = (h ^ 0) * fnvPrime
	for i := 0; i < len(b); i++ {
		h = (h ^ uint64(b[i])) * fnvPrime
	}
	return h
}

func hashRunes(kind byte, rs []rune) uint64 {
	h := uint64(fnvOffset)
	h = (h ^ uint64(kind)) * fnvPrime
	for _, r := range rs {
		h = (h ^ uint64(r)) * fnvPrime
		h = (h ^ uint64(r>>8)) * fnvPrime
	}
	return h
}

func runeLen(s string) int { return len([]rune(s)) }

func deletions(w string) []string {
	rs := []rune(w)
	out := make([]string, 0, len(rs))
	for i := range rs {
		out = append(out, string(rs[:i])+string(rs[i+1:]))
	}
	return out
}

// withinOne reports Damerau-Levenshtein distance <= 1 (one insertion,
// deletion, substitution or swap of neighbours).
func withinOne(a, b string) bool {
	var xa, ya [32]rune // words are at most maxTypoLen+1 runes: no allocation
	x, y := appendRunes(xa[:0], a), appendRunes(ya[:0], b)
	if len(x) > len(y) {
		x, y = y, x
	}
	if len(y)-len(x) > 1 {
		return false
	}
	i := 0
	for i < len(x) && x[i] == y[i] {
		i++
	}
	if i == len(x) {
		return true
	}
	if len(x) == len(y) {
		if slices.Equal(x[i+1:], y[i+1:]) {
			return true // substitution
		}
		return i+1 < len(x) && x[i] == y[i+1] && x[i+1] == y[i] && slices.Equal(x[i+2:], y[i+2:])
	}
	return slices.Equal(x[i:], y[i+1:]) // one extra rune in y
}

func appendRunes(dst []rune, s string) []rune {
	for _, r := range s {
		dst = append(dst, r)
	}
	return dst
}

// sparse is a TF-IDF vector: sorted feature indexes and their values.
type sparse struct {
	idx []int32
	val []float32
}

// vectorizer maps hashed features to columns with IDF weights.
type vectorizer struct {
	index       map[uint64]int32 // while training; then table
	table       colTable
	idf         []float32
	groupWeight [numGroups]float32
}

// colTable is the feature -> column map after training: open addressing
// over the feature hashes, a few times faster than a Go map on the hundred
// lookups a message costs.
type colTable struct {
	keys  []uint64
	cols  []int32 // -1 marks an empty slot
	shift uint
}

func newColTable(index map[uint64]int32) colTable {
	size, shift := 16, uint(64-4)
	for size < 2*len(index) {
		size, shift = size*2, shift-1
	}
	t := colTable{keys: make([]uint64, size), cols: make([]int32, size), shift: shift}
	for i := range t.cols {
		t.cols[i] = -1
	}
	mask := uint64(size - 1)
	for h, c := range index {
		i := t.slot(h)
		for t.cols[i] >= 0 {
			i = (i + 1) & mask
		}
		t.keys[i], t.cols[i] = h, c
	}
	return t
}

// slot spreads the FNV hashes, whose low bits are weak, by a multiply.
func (t *colTable) slot(h uint64) uint64 { return (h * 0x9e3779b97f4a7c15) >> t.shift }

func (t *colTable) get(h uint64) (int32, bool) {
	mask := uint64(len(t.keys) - 1)
	for i := t.slot(h); ; i = (i + 1) & mask {
		c := t.cols[i]
		if c < 0 {
			return 0, false
		}
		if t.keys[i] == h {
			return c, true
		}
	}
}

// freeze replaces the training map by the lookup table.
func (v *vectorizer) freeze() {
	v.table = newColTable(v.index)
	v.index = nil
}

// tfWeight[n] is the sublinear term frequency 1+ln(n) of a feature seen n
// times, as vectorize computed it before the table (same bits).
var tfWeight = func() (t [64]float32) {
	for n := 1; n < len(t); n++ {
		t[n] = 1 + float32(math.Log(float64(n)))
	}
	return t
}()

// vectorize weights features by sublinear TF times IDF and normalises each
// group to unit length, scaled by the group weight. Columns come out sorted,
// so sums run in one order and results are bit-for-bit repeatable.
func (v *vectorizer) vectorize(feats *[numGroups][]uint64) sparse {
	var out sparse
	v.vectorizeInto(feats, nil, &out)
	return out
}

// vectorizeInto is vectorize into out's buffers (reset first), with cols as
// scratch; it returns cols for reuse.
func (v *vectorizer) vectorizeInto(feats *[numGroups][]uint64, cols []int32, out *sparse) []int32 {
	out.idx, out.val = out.idx[:0], out.val[:0]
	for g := range numGroups {
		cols = v.columns(cols[:0], feats[g])
		v.appendGroup(out, g, cols, nil)
	}
	return cols
}

// columns appends the sorted columns of the known features in hashes,
// repeated as often as they occur.
func (v *vectorizer) columns(cols []int32, hashes []uint64) []int32 {
	for _, h := range hashes {
		if i, ok := v.table.get(h); ok {
			cols = append(cols, i)
		}
	}
	slices.Sort(cols)
	return cols
}

// appendGroup appends one group's TF-IDF values to out, normalised to the
// group weight. cols are sorted; with counts nil a column occurs as often
// as it is repeated, else cols are unique and counts[k] is cols[k]'s count.
func (v *vectorizer) appendGroup(out *sparse, g int, cols, counts []int32) {
	if len(cols) == 0 {
		return
	}
	start := len(out.idx)
	var norm float64
	for k := 0; k < len(cols); {
		j, n := k+1, 0
		if counts != nil {
			n = int(counts[k])
		} else {
			for j < len(cols) && cols[j] == cols[k] {
				j++
			}
			n = j - k
		}
		tf := float32(0)
		if n < len(tfWeight) {
			tf = tfWeight[n]
		} else {
			tf = 1 + float32(math.Log(float64(n)))
		}
		x := tf * v.idf[cols[k]]
		out.idx = append(out.idx, cols[k])
		out.val = append(out.val, x)
		norm += float64(x) * float64(x)
		k = j
	}
	scale := v.groupWeight[g] / float32(math.Sqrt(norm))
	for k := start; k < len(out.val); k++ {
		out.val[k] *= scale
	}
}
