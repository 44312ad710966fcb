// Package nlu owns Parley's offline understanding of customer messages in
// Russian and English: text normalisation (case, ё→е, punctuation, Snowball
// stems, light typo tolerance, synonyms and built-in concepts for the words
// customers use, Russian typed in Latin letters), per-message language
// detection, an FAQ/intent classifier with a calibrated confidence, an
// out-of-scope decision and an explanation of why a message matched, a
// lexicon-based sentiment scorer that flags negative messages with the
// evidence that fired, and detection of explicit requests for a human.
// Prepare normalises, tokenises and stems a message once for all three
// matchers, which is most of their cost on a short message.
//
// It is a leaf: it imports nothing of Parley's, does no I/O except in the
// evaluation helpers that read JSON Lines, and every trained value it returns
// is safe for concurrent use. See README.md for the method, the measured
// figures and the commands that measured them.
package nlu
