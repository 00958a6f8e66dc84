package imds

import (
	"context"
	"encoding/json"
	"iter"
)

// The per-operation methods are generated (api_gen.go) from the description;
// this is what they share, and the operations that are loop glue.

// typed runs an operation and decodes its document into a new T; body is the
// document as received.
func typed[T any, P interface {
	*T
	model
}](ctx context.Context, c *Client, name string, args map[string]any) (*T, []byte, error) {
	out, err := c.run(ctx, name, args)
	if err != nil {
		return nil, nil, err
	}
	v := new(T)
	if err := decodeDoc(out.body, P(v).decode); err != nil {
		return nil, nil, undecodable(name, err)
	}
	return v, out.body, nil
}

func undecodable(name string, err error) error {
	return &Error{Kind: KindBadResponse, Message: "the " + name + " document does not decode: " + err.Error(), Cause: "body"}
}

// token runs a token operation: the Token never shows its value.
func (c *Client) token(ctx context.Context, name string, args map[string]any) (*Token, error) {
	t, doc, err := typed[tokenJSON](ctx, c, name, args)
	if err != nil {
		return nil, err
	}
	return newToken(t, doc), nil
}

// IdentityToken creates an instance identity token; expiresIn 0 asks for the
// configured lifetime. The client uses it from now on. IdentityTokenWith also
// takes a nonce.
func (c *Client) IdentityToken(ctx context.Context, expiresIn int) (*Token, error) {
	return c.IdentityTokenWith(ctx, expiresIn, "")
}

// lines runs an operation whose result is a JSON array of strings.
func lines(ctx context.Context, c *Client, name string, args map[string]any) ([]string, error) {
	out, err := c.run(ctx, name, args)
	if err != nil {
		return nil, err
	}
	var v []string
	if err := decodeDoc(out.body, func(d *jdec) error { return decodeSlice(d, &v, stringInto) }); err != nil {
		return nil, undecodable(name, err)
	}
	return v, nil
}

// steps yields each page (or part) of an operation as it arrives; the operation
// deadline covers them all. Breaking out of the loop abandons it.
func steps(ctx context.Context, c *Client, name string, args map[string]any) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		o, err := c.begin(ctx, name, args)
		if err != nil {
			yield(nil, err)
			return
		}
		defer o.finish()
		for {
			out, err := o.next()
			if err != nil {
				yield(nil, err)
				return
			}
			if len(out.body) > 0 && !yield(out.body, nil) {
				return
			}
			if out.done {
				return
			}
		}
	}
}

// pages yields the items of every page of a list as the pages arrive.
func pages[P any, T any, PP interface {
	*P
	model
}](ctx context.Context, c *Client, name string, args map[string]any, items func(*P) []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		for body, err := range steps(ctx, c, name, args) {
			if err != nil {
				yield(zero, err)
				return
			}
			page := new(P)
			if err := decodeDoc(body, PP(page).decode); err != nil {
				yield(zero, undecodable(name, err))
				return
			}
			for _, item := range items(page) {
				if !yield(item, nil) {
					return
				}
			}
		}
	}
}

// rawPages yields every page of a list as raw JSON, as the pages arrive.
func rawPages(ctx context.Context, c *Client, name string, args map[string]any) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		for body, err := range steps(ctx, c, name, args) {
			if !yield(body, err) || err != nil {
				return
			}
		}
	}
}

// GetAll follows every page of path and returns one merged document: the first
// page's members, every list concatenated, no next.
func (c *Client) GetAll(ctx context.Context, path string) (json.RawMessage, error) {
	var doc []byte
	for part, err := range c.GetAllParts(ctx, path) {
		if err != nil {
			return nil, err
		}
		doc = append(doc, part...)
	}
	return doc, nil
}

// GetAllParts yields GetAll's document in parts as they are merged (memory holds
// about one page): the parts concatenated are the document.
func (c *Client) GetAllParts(ctx context.Context, path string) iter.Seq2[[]byte, error] {
	return steps(ctx, c, "get_all", map[string]any{"path": path})
}
