package nlu

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Explain answers "why did this message match label": the k features of the
// message that add most to label's score, strongest first, as readable
// strings:
//
//	доставк +0.83                 a word, by its stem
//	заказ (from 'zakaz') +0.61    a word read through transliteration or typo repair
//	bigram 'сколько стоит' +0.40  two words in a row
//	concept ~deliver +0.31        a built-in concept (synonyms.go)
//	chars 'дост' +0.20            a character n-gram ('␣' marks a word boundary)
//
// Values are in raw score units: the label's score is the sum of every
// feature's value plus its bias, and a softmax at the classifier's
// temperature turns the scores into Prediction.Score. A feature that speaks
// against the label has a negative value; it is listed only when fewer
// than k speak for it.
//
// Explain repeats the featurisation with names and allocates: it is for a
// debug view, not for every message. An unknown label or k <= 0 gives nil.
func (c *Classifier) Explain(p *Prepared, label string, k int) []string {
	m := c.m
	li := m.labelIndex(label)
	if li < 0 || k <= 0 || p == nil {
		return nil
	}
	var contribs []contribution
	for g, feats := range m.namedFeatures(p) {
		contribs = m.contributions(contribs, g, feats, li)
	}
	slices.SortStableFunc(contribs, func(a, b contribution) int { return cmp.Compare(b.value, a.value) })
	out := make([]string, 0, min(k, len(contribs)))
	for _, x := range contribs[:min(k, len(contribs))] {
		out = append(out, fmt.Sprintf("%s %+.2f", x.name, x.value))
	}
	return out
}

type namedFeature struct {
	hash uint64
	name string
}

type contribution struct {
	name  string
	value float64
}

// namedFeatures is featuresOf with a name for each feature, per group, in
// the same order and with the same hashes.
func (m *model) namedFeatures(p *Prepared) [numGroups][]namedFeature {
	f := m.feat
	var sc featScratch
	toks, _ := f.wordsOf(p.toks, nil, &sc)
	var out [numGroups][]namedFeature
	word := func(h uint64, name string) { out[groupWord] = append(out[groupWord], namedFeature{h, name}) }
	stems := make([]string, len(toks))
	words := make([]string, len(toks))
	for i, t := range toks {
		w, s := t, "<num>"
		if !isNumber(t) {
			s = Stem(t)
			if len(f.stems) > 0 && !f.stems[s] {
				if r, _ := f.repair(t, nil); r != t {
					w, s = r, Stem(r)
				}
			}
			if c := lookupWord(w).concept; c != "" {
				word(hashParts('s', c, ""), "concept ~"+c)
			}
		}
		stems[i], words[i] = s, w
	}
	for i, s := range stems {
		name := s
		switch {
		case s == "<num>":
			name = "number"
		case len(toks) == len(p.toks) && words[i] != p.toks[i]:
			name = fmt.Sprintf("%s (from '%s')", s, p.toks[i])
		}
		word(hashParts('w', s, ""), name)
		if i+1 < len(stems) {
			word(hashParts('b', s, stems[i+1]), fmt.Sprintf("bigram '%s %s'", words[i], words[i+1]))
			if c, _, _ := phraseConcept(stems, i, nil); c != "" {
				word(hashParts('s', c, ""), "concept ~"+c)
			}
		}
	}
	for _, t := range toks {
		if isNumber(t) {
			continue
		}
		buf := append(append([]rune{' '}, []rune(t)...), ' ')
		for n := charMin; n <= charMax; n++ {
			for i := 0; i+n <= len(buf); i++ {
				g := buf[i : i+n]
				name := []rune(string(g))
				for j, r := range name {
					if r == ' ' {
						name[j] = '␣'
					}
				}
				out[groupChar] = append(out[groupChar], namedFeature{hashRunes('c', g), "chars '" + string(name) + "'"})
			}
		}
	}
	return out
}

// contributions appends what each feature of one group adds to label li's
// score: its TF-IDF value, normalised within the group as vectorize does,
// times its weight for the label.
func (m *model) contributions(dst []contribution, g int, feats []namedFeature, li int) []contribution {
	type col struct {
		n    int
		name string
	}
	cols := map[int32]*col{}
	var order []int32
	for _, nf := range feats {
		c, ok := m.vec.table.get(nf.hash)
		if !ok {
			continue
		}
		if x := cols[c]; x != nil {
			x.n++
			continue
		}
		cols[c] = &col{n: 1, name: nf.name}
		order = append(order, c)
	}
	var norm float64
	vals := make([]float64, len(order))
	for i, c := range order {
		x := float64(1+math.Log(float64(cols[c].n))) * float64(m.vec.idf[c])
		vals[i] = x
		norm += x * x
	}
	if norm == 0 {
		return dst
	}
	scale := float64(m.vec.groupWeight[g]) / math.Sqrt(norm)
	for i, c := range order {
		if w := m.weight(c, li); w != 0 {
			dst = append(dst, contribution{cols[c].name, vals[i] * scale * float64(w)})
		}
	}
	return dst
}

// weight is label li's weight on column c (0 when pruned).
func (m *model) weight(c int32, li int) float32 {
	lo, hi := m.rowStart[c], m.rowStart[c+1]
	if j, ok := slices.BinarySearch(m.cls[lo:hi], int32(li)); ok {
		return m.w[int(lo)+j]
	}
	return 0
}
