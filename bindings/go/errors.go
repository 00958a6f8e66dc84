package imds

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The kinds and their sentinels are in kinds.go, generated from api/vpc-imds.json.

func (k Kind) Error() string { return "vpc-imds: " + string(k) }

// Error is every failure of an operation: the driver's error record. It never
// holds a token.
type Error struct {
	// Kind is one of the Kind constants.
	Kind Kind `json:"kind"`
	// Message is one line for people.
	Message string `json:"message"`
	// Cause is the core's word: input, transport, deadline, http, body, api,
	// protocol, misuse.
	Cause string `json:"cause"`
	// Status is the HTTP status the service answered with, or 0.
	Status int `json:"status"`
	// RetryAfter is the service's Retry-After in seconds, or 0.
	RetryAfter int `json:"retry_after"`
	// Code is IBM's error code (errors[0].code), or "".
	Code string `json:"code"`
	// APIMessage is IBM's error message, or "".
	APIMessage string `json:"api_message"`
	// Target is the field, header or parameter at fault, or "".
	Target string `json:"target"`
	// Trace is IBM's trace id to quote to support, or "".
	Trace string `json:"trace"`
	// Transport is the transport failure (refused, connect_timeout, ...), or "".
	Transport string `json:"transport"`
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "vpc-imds: " + string(e.Kind)
	}
	return fmt.Sprintf("vpc-imds: %s: %s", string(e.Kind), e.Message)
}

// Is reports whether target is the sentinel of e's kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// errorFrom decodes an error record (JSON; nulls become zero values). A field that
// does not fit its Go type (a Retry-After past a 32-bit int) is left zero, the rest
// kept: json.Unmarshal fills every field it can before it reports one.
func errorFrom(record []byte) error {
	var e Error
	if err := json.Unmarshal(record, &e); e.Kind == "" || err != nil && !isTypeError(err) {
		return &Error{Kind: KindBadResponse, Message: "an unreadable error record", Cause: "misuse"}
	}
	return &e
}

func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}
