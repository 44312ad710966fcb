package flows

// DecodeStateFast is UnmarshalState's fast path alone, without the
// encoding/json fallback, so tests can hold it to encoding/json.
var DecodeStateFast = decodeState
