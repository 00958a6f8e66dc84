package imds

import (
	"fmt"
	"strconv"
	"time"
)

// The models are generated (models_gen.go); Token is written here so that no
// String, GoString or fmt verb ever shows the token.

// Token is an identity or IAM token. Its String form never shows the token.
type Token struct {
	// Behind a pointer: fmt prints a Token that is an unexported field of another
	// struct by reflection, without its methods, and a nested pointer as an address.
	secret *tokenSecret
	// ExpiresIn is the lifetime in seconds the service stated.
	ExpiresIn int
	// CreatedAt and ExpiresAt are the service's RFC 3339 times.
	CreatedAt, ExpiresAt string
	// Nonce is the nonce the request carried, echoed ("" when none).
	Nonce string
}

// tokenSecret is what a Token never shows: the token and its document.
type tokenSecret struct {
	value string
	doc   []byte // the document as received, for the core to read
}

// newToken is the public Token of a decoded token document.
func newToken(t *tokenJSON, doc []byte) *Token {
	return &Token{secret: &tokenSecret{t.AccessToken, doc}, ExpiresIn: t.ExpiresIn, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, Nonce: t.Nonce}
}

func (t *Token) parts() tokenSecret {
	if t.secret == nil {
		return tokenSecret{}
	}
	return *t.secret
}

// RefreshAfter is how long after receipt a client refreshes this token: the
// core's schedule (the lifetime less a fifth of it, held to 1..300 s) for the
// lifetime the core reads from the document (ExpiresIn, else ExpiresAt -
// CreatedAt). A token the client answered from its cache states the seconds it
// has left, so this is then measured from that answer. 0 when the document states
// no lifetime, a lifetime of 1 s or less, or the module cannot be run.
func (t *Token) RefreshAfter() time.Duration {
	var ms int64
	_ = inModule(t.parts().doc, func(m *machine, at, n uint64) error {
		r, err := m.callExport("vpc_imds_token_refresh_after_ms", at, n)
		ms = int64(r)
		return err
	})
	return time.Duration(max(ms, 0)) * time.Millisecond
}

// Value is the token itself, for an Authorization header.
func (t *Token) Value() string { return t.parts().value }

// String shows the lifetime, never the token.
func (t Token) String() string {
	return "Token([REDACTED], expires_in " + strconv.Itoa(t.ExpiresIn) + ")"
}

// GoString is the same as String (for %#v).
func (t Token) GoString() string { return t.String() }

// Format keeps fmt verbs (%v, %+v, %s) from reaching the token.
func (t Token) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(t.String())) }
