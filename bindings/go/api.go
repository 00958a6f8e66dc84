package imds

import (
	"context"
	"encoding/json"
	"iter"
	"time"
)

func decode[T any](ctx context.Context, c *Client, name string, args map[string]any) (*T, error) {
	out, err := c.run(ctx, name, args)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(out.body, v); err != nil {
		return nil, &Error{Kind: KindBadResponse, Message: "the " + name + " document does not decode: " + err.Error(), Cause: "body"}
	}
	return v, nil
}

func withID(id string) map[string]any { return map[string]any{"id": id} }

// Instance returns GET /metadata/v1/instance.
func (c *Client) Instance(ctx context.Context) (*Instance, error) {
	out, err := c.run(ctx, "instance", nil)
	if err != nil {
		return nil, err
	}
	v := &Instance{Raw: out.body}
	if err := decodeDoc(out.body, v.decode); err != nil {
		return nil, &Error{Kind: KindBadResponse, Message: "the instance does not decode: " + err.Error(), Cause: "body"}
	}
	return v, nil
}

// Initialization returns GET /metadata/v1/instance/initialization.
func (c *Client) Initialization(ctx context.Context) (*Initialization, error) {
	out, err := c.run(ctx, "initialization", nil)
	if err != nil {
		return nil, err
	}
	v := &Initialization{Raw: out.body}
	if err := json.Unmarshal(out.body, v); err != nil {
		return nil, &Error{Kind: KindBadResponse, Message: "the initialization does not decode: " + err.Error(), Cause: "body"}
	}
	return v, nil
}

// IdentityToken creates an instance identity token; expiresIn 0 asks for the
// configured lifetime. The client uses it from now on.
func (c *Client) IdentityToken(ctx context.Context, expiresIn int) (*Token, error) {
	return c.IdentityTokenWith(ctx, expiresIn, "")
}

// IdentityTokenWith is IdentityToken with a nonce (1..256 visible ASCII; ""
// for none): the service echoes it in Token.Nonce and as the JWT's nonce
// claim, so a relying party can tell the token was made for its challenge.
func (c *Client) IdentityTokenWith(ctx context.Context, expiresIn int, nonce string) (*Token, error) {
	args := map[string]any{}
	if expiresIn != 0 {
		args["expires_in"] = expiresIn
	}
	if nonce != "" {
		args["nonce"] = nonce
	}
	return c.token(ctx, "identity_token", args)
}

// IAMToken exchanges the identity token for an IAM token of a trusted profile
// (the zero Profile: the instance's default). Cached per profile.
func (c *Client) IAMToken(ctx context.Context, p Profile) (*Token, error) {
	args := map[string]any{}
	if p.ID != "" {
		args["profile_id"] = p.ID
	}
	if p.CRN != "" {
		args["profile_crn"] = p.CRN
	}
	if p.Name != "" {
		args["profile_name"] = p.Name
	}
	return c.token(ctx, "iam_token", args)
}

func (c *Client) token(ctx context.Context, name string, args map[string]any) (*Token, error) {
	out, err := c.run(ctx, name, args)
	if err != nil {
		return nil, err
	}
	var t tokenJSON
	if err := decodeDoc(out.body, t.decode); err != nil {
		return nil, &Error{Kind: KindBadResponse, Message: "the " + name + " document does not decode: " + err.Error(), Cause: "body"}
	}
	return &Token{accessToken: t.AccessToken, ExpiresIn: t.ExpiresIn, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, Nonce: t.Nonce}, nil
}

// Key returns GET /metadata/v1/keys/{id}.
func (c *Client) Key(ctx context.Context, id string) (*Key, error) {
	return decode[Key](ctx, c, "key", withID(id))
}

// NetworkInterface returns GET /metadata/v1/instance/network_interfaces/{id}.
func (c *Client) NetworkInterface(ctx context.Context, id string) (*NetworkInterface, error) {
	return decode[NetworkInterface](ctx, c, "network_interface", withID(id))
}

// VolumeAttachment returns GET /metadata/v1/instance/volume_attachments/{id}.
func (c *Client) VolumeAttachment(ctx context.Context, id string) (*VolumeAttachment, error) {
	return decode[VolumeAttachment](ctx, c, "volume_attachment", withID(id))
}

// PlacementGroup returns GET /metadata/v1/placement_groups/{id}.
func (c *Client) PlacementGroup(ctx context.Context, id string) (*PlacementGroup, error) {
	return decode[PlacementGroup](ctx, c, "placement_group", withID(id))
}

// NetworkInterfaces returns the instance's network interfaces.
func (c *Client) NetworkInterfaces(ctx context.Context) ([]NetworkInterface, error) {
	v, err := decode[struct {
		NetworkInterfaces []NetworkInterface `json:"network_interfaces"`
	}](ctx, c, "network_interfaces", nil)
	if err != nil {
		return nil, err
	}
	return v.NetworkInterfaces, nil
}

// VolumeAttachments returns the instance's volume attachments.
func (c *Client) VolumeAttachments(ctx context.Context) ([]VolumeAttachment, error) {
	v, err := decode[struct {
		VolumeAttachments []VolumeAttachment `json:"volume_attachments"`
	}](ctx, c, "volume_attachments", nil)
	if err != nil {
		return nil, err
	}
	return v.VolumeAttachments, nil
}

// pages yields the items of every page of a list as the pages arrive; the
// operation deadline covers all pages. Breaking out of the loop abandons it.
func pages[P any, T any](ctx context.Context, c *Client, name string, items func(*P) []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		o, err := c.begin(ctx, name, nil)
		if err != nil {
			yield(zero, err)
			return
		}
		defer o.finish()
		for {
			out, err := o.next()
			if err != nil {
				yield(zero, err)
				return
			}
			page := new(P)
			if err := json.Unmarshal(out.body, page); err != nil {
				yield(zero, &Error{Kind: KindBadResponse, Message: "a page does not decode: " + err.Error(), Cause: "body"})
				return
			}
			for _, item := range items(page) {
				if !yield(item, nil) {
					return
				}
			}
			if out.done {
				return
			}
		}
	}
}

// Keys yields every SSH key, following next.href page by page.
func (c *Client) Keys(ctx context.Context) iter.Seq2[Key, error] {
	return pages(ctx, c, "keys", func(p *keysPage) []Key { return p.Keys })
}

// PlacementGroups yields every placement group, page by page.
func (c *Client) PlacementGroups(ctx context.Context) iter.Seq2[PlacementGroup, error] {
	return pages(ctx, c, "placement_groups", func(p *placementGroupsPage) []PlacementGroup { return p.PlacementGroups })
}

// Get returns GET /metadata/v1/{path} (path may carry a query, not version) as
// raw JSON.
func (c *Client) Get(ctx context.Context, path string) (json.RawMessage, error) {
	out, err := c.run(ctx, "get", map[string]any{"path": path})
	if err != nil {
		return nil, err
	}
	return out.body, nil
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
	return func(yield func([]byte, error) bool) {
		o, err := c.begin(ctx, "get_all", map[string]any{"path": path})
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

// UserData returns the instance's user data bytes (decoded from gzip if the
// service sent it so).
func (c *Client) UserData(ctx context.Context) ([]byte, error) {
	out, err := c.run(ctx, "user_data", nil)
	if err != nil {
		return nil, err
	}
	return out.body, nil
}

// SSHKeys returns one OpenSSH authorized_keys line per key (every page). A key
// with a line break or another control character fails as bad_response.
func (c *Client) SSHKeys(ctx context.Context) ([]string, error) {
	out, err := c.run(ctx, "ssh_keys", nil)
	if err != nil {
		return nil, err
	}
	var lines []string
	if err := json.Unmarshal(out.body, &lines); err != nil {
		return nil, &Error{Kind: KindBadResponse, Message: "unreadable key lines", Cause: "body"}
	}
	return lines, nil
}

// WaitUntilReady waits until the service answers, for at most limit (0: 60 s):
// refusals, timeouts, dropped connections, 5xx and 429 mean "not yet". Running
// out of time is timed_out, with the last attempt's status, code and cause.
func (c *Client) WaitUntilReady(ctx context.Context, limit time.Duration) error {
	var args map[string]any
	if limit > 0 {
		args = map[string]any{"max": limit.Seconds()}
	}
	_, err := c.run(ctx, "wait_until_ready", args)
	return err
}
