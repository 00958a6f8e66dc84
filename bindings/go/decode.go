package imds

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A reflection-free JSON decoder for the documents: every model's decode method
// (generated in models_gen.go) reads with it. It gives what encoding/json.Unmarshal
// gives for the same struct: a member name matches exactly or, failing that, under
// case folding (foldKey); a string with an escape or a non-ASCII byte is handed to
// encoding/json (the same result, at its cost). Strings without escapes
// are substrings of one string holding the whole document: one allocation for all
// of them. Malformed JSON is an error, as with encoding/json; a value of the wrong
// type for its field is an error (encoding/json would also fill the other fields;
// both fail the call).

var errSyntax = errors.New("invalid JSON")

type jdec struct {
	s     string // the document
	i     int
	depth int
}

// maxDepth is encoding/json's limit on nesting.
const maxDepth = 10000

var errDepth = errors.New("nested too deeply")

func (d *jdec) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (d *jdec) peek() byte {
	d.ws()
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

// end checks that only white space follows the value.
func (d *jdec) end() error {
	d.ws()
	if d.i != len(d.s) {
		return errSyntax
	}
	return nil
}

// null consumes a null literal if one is next.
func (d *jdec) null() (bool, error) {
	if d.peek() != 'n' {
		return false, nil
	}
	return true, d.literal("null")
}

func (d *jdec) literal(word string) error {
	if len(d.s)-d.i < len(word) || d.s[d.i:d.i+len(word)] != word {
		return errSyntax
	}
	d.i += len(word)
	return nil
}

// obj begins an object: true if a member follows (read it with key, its value,
// then next('}')); false for null or {}.
func (d *jdec) obj() (bool, error) { return d.begin('{', '}') }

// arr begins an array: true if an element follows (read it, then next(']')).
func (d *jdec) arr() (bool, error) { return d.begin('[', ']') }

// begin begins an object or an array (opener, closer); null is an empty one.
func (d *jdec) begin(opener, closer byte) (bool, error) {
	switch d.peek() {
	case 'n':
		return false, d.literal("null")
	case opener:
	default:
		return false, d.wrongType()
	}
	return d.open(closer)
}

func (d *jdec) open(closer byte) (bool, error) {
	if d.depth++; d.depth > maxDepth {
		return false, errDepth
	}
	d.i++
	if d.peek() == closer {
		d.i++
		d.depth--
		return false, nil
	}
	return true, nil
}

// key reads a member name and its colon.
// fields reads an object, handing each member's key to f, which decodes the
// value (or skips it).
func (d *jdec) fields(f func(key string) error) error {
	more, err := d.obj()
	for more && err == nil {
		var key string
		if key, err = d.key(); err != nil {
			break
		}
		if err = f(key); err == nil {
			more, err = d.next('}')
		}
	}
	return err
}

func (d *jdec) key() (string, error) {
	if d.peek() != '"' {
		return "", errSyntax
	}
	k, err := d.str()
	if err != nil {
		return "", err
	}
	if d.peek() != ':' {
		return "", errSyntax
	}
	d.i++
	return k, nil
}

// next reads the comma before another member or element (true), or the closer.
func (d *jdec) next(closer byte) (bool, error) {
	switch d.peek() {
	case ',':
		d.i++
		return true, nil
	case closer:
		d.i++
		d.depth--
		return false, nil
	}
	return false, errSyntax
}

var errType = errors.New("a value of the wrong type")

// plain marks the bytes a string's fast path takes as they are: printable
// ASCII but the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a string (the next byte is '"').
func (d *jdec) str() (string, error) {
	start := d.i
	i := start + 1
	for i < len(d.s) && plain[d.s[i]] {
		i++
	}
	if i < len(d.s) && d.s[i] == '"' {
		d.i = i + 1
		return d.s[start+1 : i], nil
	}
	return d.slowStr(start)
}

// slowStr finds the end of the string at start and lets encoding/json decode it
// (escapes, invalid UTF-8 replaced).
func (d *jdec) slowStr(start int) (string, error) {
	d.i = start + 1
	for d.i < len(d.s) {
		switch c := d.s[d.i]; {
		case c == '"':
			d.i++
			var v string
			if err := json.Unmarshal([]byte(d.s[start:d.i]), &v); err != nil {
				return "", errSyntax
			}
			return v, nil
		case c == '\\':
			d.i += 2
		case c < 0x20:
			return "", errSyntax
		default:
			d.i++
		}
	}
	return "", errSyntax
}

// String reads a string into *v (null: unchanged).
func (d *jdec) String(v *string) error {
	switch d.peek() {
	case '"':
		s, err := d.str()
		*v = s
		return err
	case 'n':
		return d.literal("null")
	default:
		return d.wrongType()
	}
}

// Int reads an integer into *v (null: unchanged).
func (d *jdec) Int(v *int) error {
	c := d.peek()
	if c == 'n' {
		return d.literal("null")
	}
	if c != '-' && (c < '0' || c > '9') {
		return d.wrongType()
	}
	tok, err := d.number()
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(tok, 10, strconv.IntSize)
	if err != nil {
		return errType
	}
	*v = int(n)
	return nil
}

// Bool reads true or false into *v (null: unchanged).
func (d *jdec) Bool(v *bool) error {
	switch d.peek() {
	case 't':
		*v = true
		return d.literal("true")
	case 'f':
		*v = false
		return d.literal("false")
	case 'n':
		return d.literal("null")
	default:
		return d.wrongType()
	}
}

// wrongType fails on a value of another type, or on malformed JSON.
func (d *jdec) wrongType() error {
	if err := d.skip(); err != nil {
		return err
	}
	return errType
}

// number reads a JSON number's text.
func (d *jdec) number() (string, error) {
	start := d.i
	if d.i < len(d.s) && d.s[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.s) && d.s[d.i] == '0':
		d.i++
	case d.i < len(d.s) && d.s[d.i] >= '1' && d.s[d.i] <= '9':
		d.digits()
	default:
		return "", errSyntax
	}
	if d.i < len(d.s) && d.s[d.i] == '.' {
		d.i++
		if d.digits() == 0 {
			return "", errSyntax
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		d.i++
		if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return "", errSyntax
		}
	}
	return d.s[start:d.i], nil
}

func (d *jdec) digits() int {
	start := d.i
	for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
		d.i++
	}
	return d.i - start
}

// skip consumes any value.
func (d *jdec) skip() error {
	switch d.peek() {
	case '"':
		return d.skipStr()
	case '{':
		more, err := d.obj()
		for more && err == nil {
			if _, err = d.key(); err == nil {
				err = d.skip()
			}
			if err == nil {
				more, err = d.next('}')
			}
		}
		return err
	case '[':
		more, err := d.arr()
		for more && err == nil {
			if err = d.skip(); err == nil {
				more, err = d.next(']')
			}
		}
		return err
	case 't', 'f', 'n':
		var b bool
		return d.Bool(&b)
	default:
		_, err := d.number()
		return err
	}
}

// skipStr consumes a string, checking it as encoding/json does.
func (d *jdec) skipStr() error {
	_, err := d.str()
	return err
}

// decodeDoc decodes a whole document with fill (null: nothing filled).
func decodeDoc(body []byte, fill func(*jdec) error) error {
	d := jdec{s: string(body)}
	if d.peek() == 0 {
		return errSyntax
	}
	if err := fill(&d); err != nil {
		return err
	}
	return d.end()
}

// model is a document type with a decoder (models_gen.go has one per model:
// it reads one object, null: nothing, member by member; names it does not know
// are skipped).
type model interface {
	decode(d *jdec) error
}

// foldKey finds the member name key matches as encoding/json matches one that
// is not exactly a field's: the first name equal under Unicode case folding.
func foldKey(key string, names []string) (string, bool) {
	for _, name := range names {
		if len(key) >= len(name) && strings.EqualFold(key, name) {
			return name, true
		}
	}
	return "", false
}

// Element decoders for decodePtr and decodeSlice.
func stringInto(v *string, d *jdec) error { return d.String(v) }
func intInto(v *int, d *jdec) error       { return d.Int(v) }
func boolInto(v *bool, d *jdec) error     { return d.Bool(v) }

// decodePtr decodes into *p as encoding/json does: null sets nil; a value fills
// *p, allocated if nil.
func decodePtr[T any](d *jdec, p **T, decode func(*T, *jdec) error) error {
	if isNull, err := d.null(); isNull || err != nil {
		if isNull {
			*p = nil
		}
		return err
	}
	if *p == nil {
		*p = new(T)
	}
	return decode(*p, d)
}

// decodeSlice decodes an array into *s as encoding/json does: null sets nil, []
// an empty slice; elements are decoded into zero values.
func decodeSlice[T any](d *jdec, s *[]T, decode func(*T, *jdec) error) error {
	if isNull, err := d.null(); isNull || err != nil {
		if isNull {
			*s = nil
		}
		return err
	}
	more, err := d.arr()
	out := (*s)[:0]
	if out == nil {
		out = make([]T, 0, 4)
	}
	for more && err == nil {
		var zero T
		out = append(out, zero)
		if err = decode(&out[len(out)-1], d); err == nil {
			more, err = d.next(']')
		}
	}
	*s = out
	return err
}
