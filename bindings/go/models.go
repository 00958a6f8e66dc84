package imds

import (
	"fmt"
	"strconv"
)

// The models are generated (models_gen.go); Token is written here so that no
// String, GoString or fmt verb ever shows the token.

// Token is an identity or IAM token. Its String form never shows the token.
type Token struct {
	accessToken string
	// ExpiresIn is the lifetime in seconds the service stated.
	ExpiresIn int
	// CreatedAt and ExpiresAt are the service's RFC 3339 times.
	CreatedAt, ExpiresAt string
	// Nonce is the nonce the request carried, echoed ("" when none).
	Nonce string
}

// newToken is the public Token of a decoded token document.
func newToken(t *tokenJSON) *Token {
	return &Token{accessToken: t.AccessToken, ExpiresIn: t.ExpiresIn, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, Nonce: t.Nonce}
}

// Value is the token itself, for an Authorization header.
func (t *Token) Value() string { return t.accessToken }

// String shows the lifetime, never the token.
func (t Token) String() string {
	return "Token([REDACTED], expires_in " + strconv.Itoa(t.ExpiresIn) + ")"
}

// GoString is the same as String (for %#v).
func (t Token) GoString() string { return t.String() }

// Format keeps fmt verbs (%v, %+v, %s) from reaching the token.
func (t Token) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(t.String())) }
