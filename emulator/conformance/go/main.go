// Command conformance drives go-sdk-core's VpcInstanceAuthenticator against
// vpc-imds-emulator.
//
// Usage: go run . BASE_URL CONTROL_URL [TLS_BASE_URL]
// (for the TLS case, set SSL_CERT_FILE to the emulator's certificate).
// Prints one PASS/FAIL line per case; exits 1 if any case failed.
package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"

	"github.com/IBM/go-sdk-core/v5/core"
)

type profile struct {
	ID     string `json:"id"`
	CRN    string `json:"crn"`
	Name   string `json:"name"`
	Linked bool   `json:"linked"`
}

var (
	base, control string
	failed        int
)

func ctl(method, path string, out any) error {
	req, err := http.NewRequest(method, control+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func claims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(raw, &m)
}

func paths() ([]string, error) {
	var log []struct {
		Method string `json:"method"`
		Path   string `json:"path"`
	}
	if err := ctl("GET", "/requests", &log); err != nil {
		return nil, err
	}
	out := []string{}
	for _, e := range log {
		out = append(out, e.Method+" "+e.Path)
	}
	return out, nil
}

func check(name string, fn func() (string, error)) {
	if err := ctl("DELETE", "/requests", nil); err != nil {
		fmt.Printf("FAIL go: %s: control API: %v\n", name, err)
		failed++
		return
	}
	detail, err := fn()
	if err != nil {
		fmt.Printf("FAIL go: %s: %v\n", name, err)
		failed++
		return
	}
	fmt.Printf("PASS go: %s (%s)\n", name, detail)
}

var (
	oldPaths = []string{"PUT /instance_identity/v1/token?version=2022-03-01", "POST /instance_identity/v1/iam_token?version=2022-03-01"}
	newPaths = []string{"PUT /identity/v1/token?version=2025-08-26", "POST /identity/v1/iam_tokens?version=2025-08-26"}
)

func obtain(b *core.VpcInstanceAuthenticatorBuilder, wantSub string, wantPaths []string) (string, error) {
	auth, err := b.Build()
	if err != nil {
		return "", err
	}
	token, err := auth.GetToken()
	if err != nil {
		return "", err
	}
	c, err := claims(token)
	if err != nil {
		return "", err
	}
	if c["sub"] != wantSub {
		return "", fmt.Errorf("IAM token for %v, expected %s", c["sub"], wantSub)
	}
	if wantPaths != nil {
		seen, err := paths()
		if err != nil {
			return "", err
		}
		if !reflect.DeepEqual(seen, wantPaths) {
			return "", fmt.Errorf("requests %q", seen)
		}
	}
	return fmt.Sprintf("%d-byte IAM token for %s", len(token), wantSub), nil
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: conformance BASE_URL CONTROL_URL [TLS_BASE_URL]")
		os.Exit(2)
	}
	base, control = os.Args[1], os.Args[2]
	var fixture struct {
		Profiles []profile `json:"trusted_profiles"`
	}
	if err := json.Unmarshal([]byte(os.Getenv("EMU_FIXTURE_JSON")), &fixture); err != nil {
		fmt.Fprintln(os.Stderr, "EMU_FIXTURE_JSON:", err)
		os.Exit(2)
	}
	def, other := fixture.Profiles[0], fixture.Profiles[1]
	var unlinked profile
	for _, p := range fixture.Profiles {
		if !p.Linked {
			unlinked = p
		}
	}
	nb := func() *core.VpcInstanceAuthenticatorBuilder {
		return core.NewVpcInstanceAuthenticatorBuilder().SetURL(base)
	}

	check("default profile, version 2022-03-01", func() (string, error) { return obtain(nb(), def.ID, oldPaths) })
	check("profile id, version 2022-03-01", func() (string, error) { return obtain(nb().SetIAMProfileID(other.ID), other.ID, oldPaths) })
	check("profile crn, version 2022-03-01", func() (string, error) { return obtain(nb().SetIAMProfileCRN(other.CRN), other.ID, oldPaths) })
	check("profile name, version 2022-03-01", func() (string, error) { return obtain(nb().SetIAMProfileName(other.Name), other.ID, oldPaths) })
	check("default profile, version 2025-08-26", func() (string, error) {
		return obtain(nb().SetServiceVersion("2025-08-26"), def.ID, newPaths)
	})
	check("profile id, version 2025-08-26", func() (string, error) {
		return obtain(nb().SetIAMProfileID(other.ID).SetServiceVersion("2025-08-26"), other.ID, newPaths)
	})
	check("profile crn, version 2025-08-26", func() (string, error) {
		return obtain(nb().SetIAMProfileCRN(other.CRN).SetServiceVersion("2025-08-26"), other.ID, newPaths)
	})
	check("unlinked profile is refused with profile_not_linked", func() (string, error) {
		auth, err := nb().SetIAMProfileID(unlinked.ID).Build()
		if err != nil {
			return "", err
		}
		_, err = auth.GetToken()
		var authErr *core.AuthenticationError
		if !errors.As(err, &authErr) {
			return "", fmt.Errorf("want an AuthenticationError, got %v", err)
		}
		if authErr.Response == nil || authErr.Response.StatusCode != 400 {
			return "", fmt.Errorf("want status 400: %v", err)
		}
		if !strings.Contains(authErr.Error(), "profile_not_linked") && !strings.Contains(authErr.Error(), "not linked") {
			return "", fmt.Errorf("error does not name the cause: %v", err)
		}
		return "AuthenticationError 400: " + authErr.Error(), nil
	})
	check("Authenticate() sets the Bearer header and caches", func() (string, error) {
		auth, err := nb().SetIAMProfileCRN(other.CRN).Build()
		if err != nil {
			return "", err
		}
		req, _ := http.NewRequest("GET", "http://127.0.0.1/", nil)
		if err := auth.Authenticate(req); err != nil {
			return "", err
		}
		h := req.Header.Get("Authorization")
		if !strings.HasPrefix(h, "Bearer ") {
			return "", fmt.Errorf("header %q", h)
		}
		var before, after struct {
			N int `json:"iam_token_exchanges"`
		}
		if err := ctl("GET", "/counters", &before); err != nil {
			return "", err
		}
		req2, _ := http.NewRequest("GET", "http://127.0.0.1/", nil)
		if err := auth.Authenticate(req2); err != nil {
			return "", err
		}
		if err := ctl("GET", "/counters", &after); err != nil {
			return "", err
		}
		if after.N != before.N {
			return "", fmt.Errorf("token not cached")
		}
		return "Authorization header set, token cached", nil
	})
	if len(os.Args) > 3 {
		tlsBase := os.Args[3]
		check("HTTPS with the emulator's self-signed certificate", func() (string, error) {
			b := core.NewVpcInstanceAuthenticatorBuilder().SetURL(tlsBase).SetServiceVersion("2025-08-26")
			d, err := obtain(b, def.ID, nil)
			return d + ", certificate verified (SSL_CERT_FILE)", err
		})
	}
	if failed > 0 {
		os.Exit(1)
	}
}
