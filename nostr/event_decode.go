package nostr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// A hand-written, single-pass decoder for the wire JSON of events. It accepts exactly what
// the former encoding/json-based decoder accepted and yields the same events (a differential
// fuzz target checks it), with one deliberate difference: object keys are matched exactly.
// encoding/json also fills a field from a key that differs only in case ("ID", "Kind",
// "ſig"); here such a key is an unknown key, so the event then lacks that field and is
// refused. Numbers are as before: created_at and kind must be plain integers (no 1.0, 1e3).
//
// It decodes hex straight into the arrays and all the strings of an event into one
// allocation: UnmarshalJSON of an NWC request costs 3 allocations where encoding/json took 23.
//
// The JSON rules followed are those of encoding/json: whitespace is space, tab, CR, LF;
// nesting is limited to 10000 levels; strings may hold any byte >= 0x20 (invalid UTF-8 and
// invalid surrogate escapes decode to U+FFFD); a duplicate key's last value wins.

// ErrInvalidJSON is wrapped by the errors of the JSON scanning helpers below (and by
// those of event decoding when the input is not JSON at all).
var ErrInvalidJSON = errors.New("nostr: invalid JSON")

// maxJSONDepth is encoding/json's nesting limit, kept so that both accept the same inputs.
const maxJSONDepth = 10000

// strPlain marks the bytes that a JSON string carries verbatim and that need no check:
// printable ASCII except '"' and '\\'.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// hexNibble maps a lowercase hex digit to its value and anything else to 0xff.
var hexNibble = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range hexDigits {
		t[c] = byte(i)
	}
	return t
}()

func syntaxErr(what string, off int) error {
	return fmt.Errorf("%w: %s at offset %d", ErrInvalidJSON, what, off)
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// peek returns data[i], or 0 (never valid where it is checked) past the end.
func peek(data []byte, i int) byte {
	if i < len(data) {
		return data[i]
	}
	return 0
}

// hex4 decodes the four hex digits (either case) of a \u escape at data[i:].
func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// decodeLowerHex decodes src (2*len(dst) lowercase hex digits) into dst.
func decodeLowerHex(dst, src []byte) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, lo := hexNibble[src[2*i]], hexNibble[src[2*i+1]]
		if hi|lo == 0xff {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// UnquoteJSONString decodes the JSON string at the start of data (after optional
// whitespace) exactly as encoding/json does, appends it to dst and returns dst and the
// number of bytes of data consumed.
func UnquoteJSONString(dst, data []byte) ([]byte, int, error) {
	i := skipSpace(data, 0)
	if peek(data, i) != '"' {
		return dst, i, syntaxErr("expected a string", i)
	}
	return appendUnquoted(dst, data, i)
}

// appendUnquoted decodes the JSON string whose opening quote is data[i] and appends it to
// dst. It returns the index just past the closing quote.
func appendUnquoted(dst, data []byte, i int) ([]byte, int, error) {
	i++
	for {
		start := i
		i = plainRun(data, i)
		dst = append(dst, data[start:i]...)
		if i >= len(data) {
			return dst, i, syntaxErr("unterminated string", i)
		}
		switch c := data[i]; {
		case c == '"':
			return dst, i + 1, nil
		case c == '\\':
			switch e := peek(data, i+1); e {
			case '"', '\\', '/':
				dst = append(dst, e)
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r, ok := hex4(data, i+2)
				if !ok {
					return dst, i, syntaxErr("invalid \\u escape", i)
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// As encoding/json: a pair decodes to its rune; a lone or mismatched
					// surrogate becomes U+FFFD and the next escape is decoded on its own.
					if peek(data, i) == '\\' && peek(data, i+1) == 'u' {
						if r2, ok := hex4(data, i+2); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								dst = utf8.AppendRune(dst, dec)
								i += 6
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default:
				return dst, i, syntaxErr("invalid escape", i)
			}
			i += 2
		case c < 0x20:
			return dst, i, syntaxErr("control character in string", i)
		default: // non-ASCII: kept if valid UTF-8, else each bad byte becomes U+FFFD
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, data[i:i+size]...)
			}
			i += size
		}
	}
}

// skipString validates the JSON string whose opening quote is data[i] and returns the
// index just past its closing quote.
func skipString(data []byte, i int) (int, error) {
	i++
	for {
		i = plainRun(data, i)
		if i >= len(data) {
			return i, syntaxErr("unterminated string", i)
		}
		switch c := data[i]; {
		case c == '"':
			return i + 1, nil
		case c >= 0x80: // any byte: decoding replaces invalid UTF-8
			i++
		case c == '\\':
			switch peek(data, i+1) {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(data, i+2); !ok {
					return i, syntaxErr("invalid \\u escape", i)
				}
				i += 6
			default:
				return i, syntaxErr("invalid escape", i)
			}
		default:
			return i, syntaxErr("control character in string", i)
		}
	}
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plainRun returns the index of the first byte at or after i that is not in strPlain (or
// len(data)). It tests eight bytes at a time: content is mostly long runs of base64.
func plainRun(data []byte, i int) int {
	for ; i+8 <= len(data); i += 8 {
		x := binary.LittleEndian.Uint64(data[i:])
		q := x ^ (lsb * '"')
		b := x ^ (lsb * '\\')
		// The high bit of a byte is set in one of these terms for a byte >= 0x80, < 0x20,
		// == '"' or == '\\' (the classic "has zero byte" and "has byte less than" tests:
		// exact about whether such a byte exists).
		if (x|(x-lsb*0x20)&^x|(q-lsb)&^q|(b-lsb)&^b)&msb != 0 {
			break
		}
	}
	for i < len(data) && strPlain[data[i]] {
		i++
	}
	return i
}

// skipNumber validates the JSON number that starts at data[i] and returns its end.
func skipNumber(data []byte, i int) (int, error) {
	start := i
	if peek(data, i) == '-' {
		i++
	}
	switch c := peek(data, i); {
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		for i++; isDigit(peek(data, i)); i++ {
		}
	default:
		return i, syntaxErr("invalid number", start)
	}
	if peek(data, i) == '.' {
		i++
		if !isDigit(peek(data, i)) {
			return i, syntaxErr("invalid number", start)
		}
		for isDigit(peek(data, i)) {
			i++
		}
	}
	if c := peek(data, i); c == 'e' || c == 'E' {
		i++
		if c := peek(data, i); c == '+' || c == '-' {
			i++
		}
		if !isDigit(peek(data, i)) {
			return i, syntaxErr("invalid number", start)
		}
		for isDigit(peek(data, i)) {
			i++
		}
	}
	return i, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// skipLiteral checks that data[i:] starts with lit.
func skipLiteral(data []byte, i int, lit string) (int, error) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return i, syntaxErr("invalid literal", i)
	}
	return i + len(lit), nil
}

// SkipJSONValue validates the JSON value at the start of data (after optional whitespace)
// as encoding/json would and returns the number of bytes up to its end; what follows is not
// examined. depth is the number of arrays and objects that enclose the value (0 at the top
// level), for encoding/json's limit of 10000 nested levels.
func SkipJSONValue(data []byte, depth int) (int, error) {
	return skipValue(data, skipSpace(data, 0), depth)
}

// skipValue validates the value that starts at data[i] (not whitespace) and returns the
// index just past it. It is iterative, so hostile nesting cannot grow the goroutine stack.
func skipValue(data []byte, i, depth int) (int, error) {
	var stackBuf [64]byte
	open := stackBuf[:0] // '[' or '{' for each container entered
	var err error
	for {
		// A value starts at data[i].
		switch c := peek(data, i); c {
		case '{', '[':
			if depth+len(open)+1 > maxJSONDepth {
				return i, syntaxErr("exceeded max depth", i)
			}
			open = append(open, c)
			i = skipSpace(data, i+1)
			if peek(data, i) == c+2 { // '}' is '{'+2, ']' is '['+2
				open = open[:len(open)-1]
				i++
				break
			}
			if c == '{' {
				if i, err = skipKey(data, i); err != nil {
					return i, err
				}
			}
			continue
		case '"':
			i, err = skipString(data, i)
		case 't':
			i, err = skipLiteral(data, i, "true")
		case 'f':
			i, err = skipLiteral(data, i, "false")
		case 'n':
			i, err = skipLiteral(data, i, "null")
		default:
			i, err = skipNumber(data, i)
		}
		if err != nil {
			return i, err
		}
		// After a value: close containers until one has a next element.
		for {
			if len(open) == 0 {
				return i, nil
			}
			i = skipSpace(data, i)
			top := open[len(open)-1]
			c := peek(data, i)
			if c == top+2 {
				open = open[:len(open)-1]
				i++
				continue
			}
			if c != ',' {
				return i, syntaxErr("expected ',' or end of container", i)
			}
			i = skipSpace(data, i+1)
			if top == '{' {
				if i, err = skipKey(data, i); err != nil {
					return i, err
				}
			}
			break
		}
	}
}

// skipKey skips `"key" :` and the whitespace after it.
func skipKey(data []byte, i int) (int, error) {
	if peek(data, i) != '"' {
		return i, syntaxErr("expected a key", i)
	}
	i, err := skipString(data, i)
	if err != nil {
		return i, err
	}
	i = skipSpace(data, i)
	if peek(data, i) != ':' {
		return i, syntaxErr("expected ':'", i)
	}
	return skipSpace(data, i+1), nil
}

// ParseEventJSON decodes the wire JSON of one event; the rules are those of UnmarshalJSON.
func ParseEventJSON(data []byte) (*Event, error) {
	ev := new(Event)
	end, err := decodeEvent(ev, data, 0, 0)
	if err != nil {
		return nil, err
	}
	if end = skipSpace(data, end); end != len(data) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidEvent, syntaxErr("data after the event", end))
	}
	return ev, nil
}

// DecodeEventJSON decodes the event object at the start of data (after optional
// whitespace) and returns it with the number of bytes up to its closing brace; what follows
// is not examined. depth is the number of arrays and objects that enclose the event (1 in
// a relay message), for encoding/json's nesting limit. On error, data may still be valid
// JSON that is not an event: SkipJSONValue tells.
func DecodeEventJSON(data []byte, depth int) (*Event, int, error) {
	ev := new(Event)
	end, err := decodeEvent(ev, data, 0, depth)
	if err != nil {
		return nil, end, err
	}
	return ev, end, nil
}

// UnmarshalJSON parses the wire form strictly: every field present, hex fields lowercase
// and of the right length, created_at a non-negative integer, kind an integer in 0..65535,
// tags an array of arrays of strings, content a string; unknown keys are ignored (see the
// top of this file for how keys are matched). It does not verify the signature. On error
// e is left unchanged.
func (e *Event) UnmarshalJSON(data []byte) error {
	var out Event
	end, err := decodeEvent(&out, data, 0, 0)
	if err != nil {
		return err
	}
	if end = skipSpace(data, end); end != len(data) {
		return fmt.Errorf("%w: %w", ErrInvalidEvent, syntaxErr("data after the event", end))
	}
	*e = out
	return nil
}

// fieldState tracks one event field while its object is decoded. A field can be present
// but invalid and later fixed by a duplicate key, since the last value wins.
type fieldState uint8

const (
	fieldMissing fieldState = iota
	fieldOK
	fieldBad
)

// span is a decoded string's place in the string arena.
type span struct{ start, end int }

// eventDecoder holds what decodeEvent collects before it can build the strings. Its
// methods take and return it by value: stores through a pointer would make escape analysis
// move the stack buffers behind its slices to the heap.
type eventDecoder struct {
	arena   []byte // every decoded string, converted to one string at the end
	vals    []span // the tag values, in order
	tagEnds []int  // for each tag, the index in vals just past its last value
	content span
}

func invalidEvent(msg string) error { return fmt.Errorf("%w: %s", ErrInvalidEvent, msg) }

func wrapSyntax(err error) error { return fmt.Errorf("%w: %w", ErrInvalidEvent, err) }

// decodeEvent decodes the event object at data[i:] (after optional whitespace) into out.
// It returns the index just past the closing brace.
func decodeEvent(out *Event, data []byte, i, depth int) (int, error) {
	i = skipSpace(data, i)
	if peek(data, i) != '{' {
		if i < len(data) {
			// Still validated, so that the error says which kind of problem it is.
			if _, err := skipValue(data, i, depth); err != nil {
				return i, wrapSyntax(err)
			}
		}
		return i, invalidEvent("not a JSON object")
	}
	if depth+1 > maxJSONDepth {
		return i, wrapSyntax(syntaxErr("exceeded max depth", i))
	}
	var d eventDecoder
	// The strings of a typical NWC event fit on the stack; only the final string escapes.
	// Hex fields, keys and numbers take at least 300 bytes of an event, the rest is an upper
	// bound for its strings (except invalid UTF-8, which grows when replaced).
	var arenaBuf [1024]byte
	var valBuf [16]span
	var tagBuf [8]int
	d.arena, d.vals, d.tagEnds = arenaBuf[:0], valBuf[:0], tagBuf[:0]
	if n := len(data) - i - 300; n > len(arenaBuf) {
		d.arena = make([]byte, 0, n)
	}
	var id, pub, sig, created, kind, tags, content fieldState
	var err error
	var keyBuf [192]byte // fits any key readKey decodes

	i = skipSpace(data, i+1)
	if peek(data, i) == '}' {
		i++
	} else {
		for {
			var key []byte
			if key, i, err = readKey(keyBuf[:0], data, i); err != nil {
				return i, wrapSyntax(err)
			}
			// Exact, case-sensitive matching: see the top of this file.
			switch string(key) {
			case "id":
				i, err = decodeHexField(out.ID[:], &id, "id", data, i)
			case "pubkey":
				i, err = decodeHexField(out.PubKey[:], &pub, "pubkey", data, i)
			case "sig":
				i, err = decodeHexField(out.Sig[:], &sig, "sig", data, i)
			case "created_at":
				var v uint64
				v, created, i, err = decodeUint(data, i, depth+1, math.MaxInt64)
				out.CreatedAt = int64(v)
			case "kind":
				var v uint64
				v, kind, i, err = decodeUint(data, i, depth+1, 65535)
				out.Kind = int(v)
			case "tags":
				d, tags, i, err = d.decodeTags(data, i, depth+1)
			case "content":
				d, content, i, err = d.decodeContent(data, i)
			default:
				i, err = skipValue(data, i, depth+1)
				if err != nil {
					err = wrapSyntax(err)
				}
			}
			if err != nil {
				return i, err
			}
			i = skipSpace(data, i)
			c := peek(data, i)
			if c == '}' {
				i++
				break
			}
			if c != ',' {
				return i, wrapSyntax(syntaxErr("expected ',' or '}'", i))
			}
			i = skipSpace(data, i+1)
		}
	}

	switch {
	case id != fieldOK:
		return i, invalidEvent("id must be 64 lowercase hex characters")
	case pub != fieldOK:
		return i, invalidEvent("pubkey must be 64 lowercase hex characters")
	case sig != fieldOK:
		return i, invalidEvent("sig must be 128 lowercase hex characters")
	case created != fieldOK:
		return i, invalidEvent("created_at must be a non-negative integer")
	case kind != fieldOK:
		return i, invalidEvent("kind must be an integer in 0..65535")
	case content != fieldOK:
		return i, invalidEvent("content missing")
	case tags == fieldMissing:
		return i, invalidEvent("tags missing")
	case tags != fieldOK:
		return i, invalidEvent("tags must be an array of arrays of strings")
	}
	d.build(out)
	return i, nil
}

// readKey reads `"key" :` at data[i] and returns the decoded key (in buf, or a slice of
// data when it has no escapes) and the index of the value after it.
func readKey(buf, data []byte, i int) ([]byte, int, error) {
	if peek(data, i) != '"' {
		return nil, i, syntaxErr("expected a key", i)
	}
	j := i + 1
	for j < len(data) && strPlain[data[j]] {
		j++
	}
	var key []byte
	if peek(data, j) == '"' {
		key, j = data[i+1:j], j+1
	} else {
		end, err := skipString(data, i)
		if err != nil {
			return nil, end, err
		}
		// No field name is longer than 10 bytes, nor 60 bytes when escaped: a longer key
		// is unknown, so it need not be decoded (nor be allocated for).
		if end-i-2 <= 60 {
			key, _, _ = appendUnquoted(buf, data, i)
		} else {
			key = data[i+1 : end-1] // has a byte outside strPlain, so matches no field
		}
		j = end
	}
	j = skipSpace(data, j)
	if peek(data, j) != ':' {
		return nil, j, syntaxErr("expected ':'", j)
	}
	return key, skipSpace(data, j+1), nil
}

// decodeHexField decodes a string of 2*len(dst) lowercase hex digits into dst. As with
// encoding/json into a string: null leaves the field as it was, another type is an error.
func decodeHexField(dst []byte, st *fieldState, name string, data []byte, i int) (int, error) {
	switch peek(data, i) {
	case '"':
		n := 2 * len(dst)
		if peek(data, i+1+n) == '"' && decodeLowerHex(dst, data[i+1:i+1+n]) {
			*st = fieldOK
			return i + 2 + n, nil
		}
		// Escapes, a wrong length or bad digits: decode, then judge the decoded text.
		var buf [160]byte
		s, end, err := appendUnquoted(buf[:0], data, i)
		if err != nil {
			return end, wrapSyntax(err)
		}
		*st = fieldBad
		if decodeLowerHex(dst, s) {
			*st = fieldOK
		}
		return end, nil
	case 'n':
		end, err := skipLiteral(data, i, "null")
		if err != nil {
			return end, wrapSyntax(err)
		}
		return end, nil
	}
	return i, invalidEvent(name + " must be a string")
}

// decodeUint decodes a plain JSON integer in 0..max ("-0" is 0, as strconv.ParseInt has
// it). Any other JSON value marks the field bad but is not an error yet: a later duplicate
// key may replace it.
func decodeUint(data []byte, i, depth int, max uint64) (uint64, fieldState, int, error) {
	c := peek(data, i)
	if c != '-' && !isDigit(c) {
		end, err := skipValue(data, i, depth)
		if err != nil {
			return 0, fieldBad, end, wrapSyntax(err)
		}
		return 0, fieldBad, end, nil
	}
	end, err := skipNumber(data, i)
	if err != nil {
		return 0, fieldBad, end, wrapSyntax(err)
	}
	tok := data[i:end]
	neg := tok[0] == '-'
	if neg {
		tok = tok[1:]
	}
	var v uint64
	for _, c := range tok {
		if !isDigit(c) || v > (max-uint64(c-'0'))/10 {
			return 0, fieldBad, end, nil // a fraction, an exponent or out of range
		}
		v = v*10 + uint64(c-'0')
	}
	if neg && v != 0 {
		return 0, fieldBad, end, nil
	}
	return v, fieldOK, end, nil
}

// decodeContent: a string sets the content, null unsets it (as with encoding/json into a
// *string), another type is an error.
func (d eventDecoder) decodeContent(data []byte, i int) (eventDecoder, fieldState, int, error) {
	switch peek(data, i) {
	case '"':
		start := len(d.arena)
		var err error
		if d.arena, i, err = appendUnquoted(d.arena, data, i); err != nil {
			return d, fieldBad, i, wrapSyntax(err)
		}
		d.content = span{start, len(d.arena)}
		return d, fieldOK, i, nil
	case 'n':
		end, err := skipLiteral(data, i, "null")
		if err != nil {
			return d, fieldBad, end, wrapSyntax(err)
		}
		return d, fieldMissing, end, nil
	}
	return d, fieldBad, i, invalidEvent("content must be a string")
}

// decodeTags decodes the tags array at data[i], nested depth deep. A JSON value of another
// shape marks the field bad, as decodeUint does.
func (d eventDecoder) decodeTags(data []byte, i, depth int) (eventDecoder, fieldState, int, error) {
	d.vals, d.tagEnds = d.vals[:0], d.tagEnds[:0]
	d, end, ok := d.tagsArray(data, i, depth)
	if ok {
		return d, fieldOK, end, nil
	}
	// Not an array of arrays of strings (or not JSON): validate it as any value.
	end, err := skipValue(data, i, depth)
	if err != nil {
		return d, fieldBad, end, wrapSyntax(err)
	}
	return d, fieldBad, end, nil
}

// tagsArray decodes an array of arrays of strings or nulls (a null value is "", as with
// encoding/json into a string; a null tag is refused).
func (d eventDecoder) tagsArray(data []byte, i, depth int) (eventDecoder, int, bool) {
	if peek(data, i) != '[' || depth+1 > maxJSONDepth {
		return d, i, false
	}
	i = skipSpace(data, i+1)
	if peek(data, i) == ']' {
		return d, i + 1, true
	}
	for {
		if peek(data, i) != '[' || depth+2 > maxJSONDepth {
			return d, i, false
		}
		i = skipSpace(data, i+1)
		if peek(data, i) == ']' {
			i++
		} else {
			for {
				var err error
				switch peek(data, i) {
				case '"':
					start := len(d.arena)
					if d.arena, i, err = appendUnquoted(d.arena, data, i); err != nil {
						return d, i, false
					}
					d.vals = append(d.vals, span{start, len(d.arena)})
				case 'n':
					if i, err = skipLiteral(data, i, "null"); err != nil {
						return d, i, false
					}
					d.vals = append(d.vals, span{})
				default:
					return d, i, false
				}
				i = skipSpace(data, i)
				c := peek(data, i)
				i = skipSpace(data, i+1)
				if c == ']' {
					break
				}
				if c != ',' {
					return d, i, false
				}
			}
		}
		d.tagEnds = append(d.tagEnds, len(d.vals))
		i = skipSpace(data, i)
		c := peek(data, i)
		if c == ']' {
			return d, i + 1, true
		}
		if c != ',' {
			return d, i, false
		}
		i = skipSpace(data, i+1)
	}
}

// build sets out's content and tags from the arena: one string for all of them, one slice
// for all tag values, one for the tags. Each tag's capacity ends at its last value, so that
// appending to one tag cannot overwrite the next.
func (d *eventDecoder) build(out *Event) {
	s := string(d.arena)
	out.Content = s[d.content.start:d.content.end]
	vals := make([]string, len(d.vals))
	for k, sp := range d.vals {
		vals[k] = s[sp.start:sp.end]
	}
	out.Tags = make(Tags, len(d.tagEnds))
	prev := 0
	for k, end := range d.tagEnds {
		out.Tags[k] = Tag(vals[prev:end:end])
		prev = end
	}
}
