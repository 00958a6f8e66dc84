package imds

// The cross-host scenarios (tests/scenarios/scenarios.json, schema in its README)
// through the package's public API, each against its own emulator process on
// 127.0.0.1. Every scenario must give the table's normalized outcome, except those
// in known: where this host differs today, the outcome must still differ (a strict
// expected failure), so an entry has to go when the host is fixed.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
)

const scenarioHost = "go"

// known: scenarios where this host differs today, with the reason.
var known = map[string]string{}

type scenario struct {
	Name          string            `json:"name"`
	Emulator      *emulatorSetup    `json:"emulator"`
	Client        map[string]any    `json:"client"`
	Call          json.RawMessage   `json:"call"`
	Expect        map[string]any    `json:"expect"`
	NotApplicable map[string]string `json:"not_applicable"`
}

type emulatorSetup struct {
	Fixture       []map[string]any `json:"fixture"`
	HeadTimeoutMs *int             `json:"head_timeout_ms"`
	Control       []controlCall    `json:"control"`
}

type controlCall struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Body   any    `json:"body"`
}

type call struct {
	Op          string       `json:"op"`
	ID          string       `json:"id"`
	IDUTF16     []uint16     `json:"id_utf16"`
	ExpiresIn   int          `json:"expires_in"`
	Nonce       *string      `json:"nonce"`
	ProfileID   string       `json:"profile_id"`
	ProfileCRN  string       `json:"profile_crn"`
	ProfileName string       `json:"profile_name"`
	Path        string       `json:"path"`
	MaxMs       *int         `json:"max_ms"`
	Concurrent  int          `json:"concurrent"`
	PauseMs     int          `json:"pause_ms"`
	Control     *controlCall `json:"control"`
}

type setupError struct{ error }

// failed carries a call's normalized error record.
type failed struct{ record map[string]any }

func (f failed) Error() string { return fmt.Sprint(f.record) }

func loadScenarios(t *testing.T) []scenario {
	path := os.Getenv("VPC_IMDS_SCENARIOS")
	if path == "" {
		path = filepath.Join("..", "..", "tests", "scenarios", "scenarios.json")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		Scenarios []scenario `json:"scenarios"`
	}
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatal(err)
	}
	return table.Scenarios
}

func TestScenarios(t *testing.T) {
	scenarios := loadScenarios(t)
	names := map[string]bool{}
	for _, s := range scenarios {
		if names[s.Name] {
			t.Fatalf("scenario %s twice", s.Name)
		}
		names[s.Name] = true
	}
	for name := range known {
		if !names[name] {
			t.Errorf("known names an unknown scenario %s", name)
		}
	}
	for _, s := range scenarios {
		t.Run(s.Name, func(t *testing.T) {
			if why := s.NotApplicable[scenarioHost]; why != "" {
				t.Skipf("not applicable to %s: %s", scenarioHost, why)
			}
			t.Parallel()
			diffs, err := runScenario(t, s)
			var se setupError
			if errors.As(err, &se) {
				diffs = []string{"setup failed: " + se.Error()}
			} else if err != nil {
				t.Fatal(err)
			}
			if why, ok := known[s.Name]; ok {
				if len(diffs) == 0 {
					t.Fatalf("%s is listed in known (%s) but now passes: remove the entry", s.Name, why)
				}
				t.Logf("known divergence: %s [differs: %s]", why, strings.Join(diffs, "; "))
				return
			}
			if len(diffs) > 0 {
				t.Fatal(strings.Join(diffs, "\n"))
			}
		})
	}
}

// patchedFixture is the built-in fixture with the patches applied.
func patchedFixture(patches []map[string]any) (string, error) {
	out, err := exec.Command(emulatorBin(), "--print-fixture").Output()
	if err != nil {
		return "", err
	}
	var fixture any
	if err := json.Unmarshal(out, &fixture); err != nil {
		return "", err
	}
	var raws []string
	for _, p := range patches {
		value := p["value"]
		if raw, ok := p["raw"].(string); ok {
			value = fmt.Sprintf("@@raw%d@@", len(raws))
			raws = append(raws, raw)
		}
		path, _ := p["path"].([]any)
		place := fixture
		for i, step := range path {
			last := i == len(path)-1
			switch key := step.(type) {
			case string:
				m, _ := place.(map[string]any)
				if last {
					m[key] = value
				} else {
					place = m[key]
				}
			case float64:
				a, _ := place.([]any)
				if last {
					a[int(key)] = value
				} else {
					place = a[int(key)]
				}
			}
		}
	}
	text, err := json.Marshal(fixture)
	if err != nil {
		return "", err
	}
	s := string(text)
	for i, raw := range raws {
		s = strings.Replace(s, fmt.Sprintf(`"@@raw%d@@"`, i), raw, 1)
	}
	return s, nil
}

func runScenario(t *testing.T, s scenario) ([]string, error) {
	setup := s.Emulator
	if setup == nil {
		setup = &emulatorSetup{}
	}
	var args []string
	if len(setup.Fixture) > 0 {
		text, err := patchedFixture(setup.Fixture)
		if err != nil {
			return nil, setupError{err}
		}
		file := filepath.Join(t.TempDir(), "fixture.json")
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			return nil, err
		}
		args = append(args, "--fixture", file)
	}
	if setup.HeadTimeoutMs != nil {
		args = append(args, "--head-timeout-ms", fmt.Sprint(*setup.HeadTimeoutMs))
	}
	e, err := startEmulator(t, args...)
	if err != nil {
		return nil, setupError{err}
	}
	for _, c := range setup.Control {
		if _, err := e.ctl(c.Method, c.Path, c.Body); err != nil {
			return nil, setupError{err}
		}
	}
	c, err := scenarioClient(t, e, s.Client)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var calls []call
	list := strings.HasPrefix(strings.TrimSpace(string(s.Call)), "[")
	if list {
		err = json.Unmarshal(s.Call, &calls)
	} else {
		calls = make([]call, 1)
		err = json.Unmarshal(s.Call, &calls[0])
	}
	if err != nil {
		return nil, err
	}
	started := time.Now()
	var values []any
	var outcome map[string]any
	for _, step := range calls {
		if step.Control != nil {
			if _, err := e.ctl(step.Control.Method, step.Control.Path, step.Control.Body); err != nil {
				return nil, err
			}
			continue
		}
		v, err := scenarioCall(c, step)
		var f failed
		if errors.As(err, &f) {
			outcome = map[string]any{"error": f.record}
			break
		} else if err != nil {
			return nil, err
		}
		values = append(values, v)
	}
	elapsed := float64(time.Since(started).Milliseconds())
	if outcome == nil {
		if list {
			outcome = map[string]any{"value": values}
		} else {
			outcome = map[string]any{"value": values[0]}
		}
	}
	// Normalize through JSON, as the table is.
	outcome = roundTrip(outcome).(map[string]any)
	var diffs []string
	if want, ok := s.Expect["value"]; ok {
		got, has := outcome["value"]
		if !has || !matches(want, got) {
			diffs = append(diffs, fmt.Sprintf("expected value %s, got %s", js(want), js(outcome)))
		}
	} else if !reflect.DeepEqual(asStated(outcome["error"], s.Expect["error"]), s.Expect["error"]) {
		diffs = append(diffs, fmt.Sprintf("expected error %s, got %s", js(s.Expect["error"]), js(outcome)))
	}
	if limits, ok := s.Expect["elapsed_ms"].(map[string]any); ok {
		if lo, ok := limits["min"].(float64); ok && elapsed < lo {
			diffs = append(diffs, fmt.Sprintf("took %v ms, expected %s", elapsed, js(limits)))
		}
		if hi, ok := limits["max"].(float64); ok && elapsed > hi {
			diffs = append(diffs, fmt.Sprintf("took %v ms, expected %s", elapsed, js(limits)))
		}
	}
	if want, ok := s.Expect["requests"].(map[string]any); ok {
		counters, err := e.ctl("GET", "/counters", nil)
		if err != nil {
			return nil, err
		}
		subset("requests", want, counters, &diffs)
	}
	return diffs, nil
}

func scenarioClient(t *testing.T, e *emulator, settings map[string]any) (*Client, error) {
	opts := []Option{WithEndpoint(e.base), IgnoreEnv()}
	num := func(k string) (int, bool) {
		v, ok := settings[k].(float64)
		return int(v), ok
	}
	switch settings["endpoint"] {
	case "refused":
		opts[0] = WithEndpoint(closedPort(t))
	case "tls_to_plain": // the emulator does not speak TLS
		opts[0] = WithEndpoint(strings.Replace(e.base, "http://", "https://", 1))
	}
	if v, ok := num("timeout_ms"); ok {
		opts = append(opts, WithTimeout(time.Duration(v)*time.Millisecond))
	}
	if v, ok := num("request_timeout_ms"); ok {
		opts = append(opts, WithRequestTimeout(time.Duration(v)*time.Millisecond))
	}
	if v, ok := num("connect_timeout_ms"); ok {
		opts = append(opts, WithConnectTimeout(time.Duration(v)*time.Millisecond))
	}
	if v, ok := num("max_attempts"); ok {
		opts = append(opts, WithMaxAttempts(v))
	}
	if v, ok := settings["version"].(string); ok {
		opts = append(opts, WithVersion(v))
	}
	if v, ok := num("token_lifetime"); ok {
		opts = append(opts, WithTokenLifetime(v))
	}
	switch limit := settings["max_response_bytes"].(type) {
	case float64:
		opts = append(opts, WithMaxResponseBytes(int(limit)))
	case map[string]any:
		path, _ := limit["body_of"].(string)
		plus, _ := limit["plus"].(float64)
		n, err := bodyLen(e, path)
		if err != nil {
			return nil, setupError{err}
		}
		opts = append(opts, WithMaxResponseBytes(n+int(plus)))
	}
	return New(opts...)
}

// bodyLen is the length of a document's body as the emulator serves it (one
// plain HTTP exchange), after which the counters are reset.
func bodyLen(e *emulator, path string) (int, error) {
	tok, err := rawHTTP(e.base, "PUT /identity/v1/token?version=2025-08-26 HTTP/1.1\r\nHost: x\r\nMetadata-Flavor: ibm\r\nConnection: close\r\n\r\n")
	if err != nil {
		return 0, err
	}
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(tok, &t); err != nil {
		return 0, err
	}
	body, err := rawHTTP(e.base, "GET "+path+"?version=2025-08-26 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+t.AccessToken+"\r\nConnection: close\r\n\r\n")
	if err != nil {
		return 0, err
	}
	_, err = e.ctl("POST", "/reset", nil)
	return len(body), err
}

func rawHTTP(base, request string) ([]byte, error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, request); err != nil {
		return nil, err
	}
	all, err := io.ReadAll(conn)
	if err != nil {
		return nil, err
	}
	_, body, ok := strings.Cut(string(all), "\r\n\r\n")
	if !ok {
		return nil, errors.New("no head")
	}
	return []byte(body), nil
}

func scenarioCall(c *Client, step call) (any, error) {
	if step.PauseMs > 0 {
		time.Sleep(time.Duration(step.PauseMs) * time.Millisecond)
	}
	n := max(step.Concurrent, 1)
	values := make([]any, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			values[i], errs[i] = one(c, step)
			var ie *Error
			if errors.As(errs[i], &ie) {
				errs[i] = failed{record(ie)}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for _, v := range values[1:] {
		if !reflect.DeepEqual(roundTrip(v), roundTrip(values[0])) {
			return map[string]any{"concurrent results differ": values}, nil
		}
	}
	return values[0], nil
}

func record(e *Error) map[string]any {
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	var status any
	if e.Status != 0 {
		status = e.Status
	}
	return map[string]any{"kind": string(e.Kind), "status": status, "code": null(e.Code), "cause": null(e.Cause), "message": e.Message}
}

// asStated is the error record as the table states one: its message only as far
// as the table's message_prefix, when it has one.
func asStated(got, want any) any {
	g, ok := got.(map[string]any)
	w, _ := want.(map[string]any)
	if !ok {
		return got
	}
	out := map[string]any{}
	for k, v := range g {
		if k != "message" {
			out[k] = v
		}
	}
	if prefix, ok := w["message_prefix"].(string); ok {
		message, _ := g["message"].(string)
		out["message_prefix"] = message
		if strings.HasPrefix(message, prefix) {
			out["message_prefix"] = prefix
		}
	}
	return out
}

func documentOf(raw []byte) any {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return map[string]any{"not a JSON object": string(raw)}
	}
	out := map[string]any{}
	for k, v := range doc {
		if a, ok := v.([]any); ok {
			out[k] = len(a)
		}
	}
	_, next := doc["next"]
	out["next"] = next
	return out
}

func one(c *Client, step call) (any, error) {
	ctx := context.Background()
	id := step.ID
	if step.IDUTF16 != nil {
		id = string(utf16.Decode(step.IDUTF16))
	}
	switch step.Op {
	case "instance":
		v, err := c.Instance(ctx)
		if err != nil {
			return nil, err
		}
		return map[string]any{"id": v.ID}, nil
	case "initialization":
		v, err := c.Initialization(ctx)
		if err != nil {
			return nil, err
		}
		var dtp any
		if v.DefaultTrustedProfile != nil && v.DefaultTrustedProfile.Target != nil {
			dtp = v.DefaultTrustedProfile.Target.ID
		}
		return map[string]any{"keys": len(v.Keys), "default_trusted_profile": dtp}, nil
	case "identity_token":
		nonce := ""
		if step.Nonce != nil {
			nonce = *step.Nonce
		}
		v, err := c.IdentityTokenWith(ctx, step.ExpiresIn, nonce)
		if err != nil {
			return nil, err
		}
		value := map[string]any{"expires_in": v.ExpiresIn}
		if step.Nonce != nil {
			value["nonce"] = v.Nonce
			value["nonce_claim"] = jwtClaims(v.Value())["nonce"]
		}
		return value, nil
	case "iam_token":
		v, err := c.IAMToken(ctx, Profile{ID: step.ProfileID, CRN: step.ProfileCRN, Name: step.ProfileName})
		if err != nil {
			return nil, err
		}
		return map[string]any{"expires_in": v.ExpiresIn}, nil
	case "key", "network_interface", "volume_attachment", "placement_group":
		var got string
		var err error
		switch step.Op {
		case "key":
			var v *Key
			if v, err = c.Key(ctx, id); err == nil {
				got = v.ID
			}
		case "network_interface":
			var v *NetworkInterface
			if v, err = c.NetworkInterface(ctx, id); err == nil {
				got = v.ID
			}
		case "volume_attachment":
			var v *VolumeAttachment
			if v, err = c.VolumeAttachment(ctx, id); err == nil {
				got = v.ID
			}
		default:
			var v *PlacementGroup
			if v, err = c.PlacementGroup(ctx, id); err == nil {
				got = v.ID
			}
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"id": got}, nil
	case "keys":
		n := 0
		for _, err := range c.Keys(ctx) {
			if err != nil {
				return nil, err
			}
			n++
		}
		return map[string]any{"count": n}, nil
	case "placement_groups":
		n := 0
		for _, err := range c.PlacementGroups(ctx) {
			if err != nil {
				return nil, err
			}
			n++
		}
		return map[string]any{"count": n}, nil
	case "network_interfaces":
		v, err := c.NetworkInterfaces(ctx)
		if err != nil {
			return nil, err
		}
		return map[string]any{"count": len(v)}, nil
	case "volume_attachments":
		v, err := c.VolumeAttachments(ctx)
		if err != nil {
			return nil, err
		}
		return map[string]any{"count": len(v)}, nil
	case "ssh_keys":
		return c.SSHKeys(ctx)
	case "user_data":
		v, err := c.UserData(ctx)
		if err != nil {
			return nil, err
		}
		return map[string]any{"base64": base64.StdEncoding.EncodeToString(v)}, nil
	case "get", "get_all":
		get := c.Get
		if step.Op == "get_all" {
			get = c.GetAll
		}
		v, err := get(ctx, step.Path)
		if err != nil {
			return nil, err
		}
		return documentOf(v), nil
	case "wait_until_ready":
		limit := time.Duration(0)
		if step.MaxMs != nil {
			limit = time.Duration(*step.MaxMs) * time.Millisecond
		}
		return nil, c.WaitUntilReady(ctx, limit)
	}
	return map[string]any{"unsupported op": step.Op}, nil
}

func roundTrip(v any) any {
	raw, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(raw, &out)
	return out
}

func js(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

// matches: equal, except that {min, max} matches any number in that range.
func matches(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		if len(w) > 0 {
			bounds := true
			for k := range w {
				bounds = bounds && (k == "min" || k == "max")
			}
			if bounds {
				g, ok := got.(float64)
				if !ok {
					return false
				}
				lo, hasLo := w["min"].(float64)
				hi, hasHi := w["max"].(float64)
				return (!hasLo || g >= lo) && (!hasHi || g <= hi)
			}
		}
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			gv, ok := g[k]
			if !ok || !matches(v, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !matches(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(want, got)
}

func subset(at string, want map[string]any, got any, diffs *[]string) {
	g, _ := got.(map[string]any)
	for k, v := range want {
		have, ok := g[k]
		if !ok {
			have = float64(0)
		}
		if m, ok := v.(map[string]any); ok {
			subset(at+"."+k, m, have, diffs)
		} else if !reflect.DeepEqual(have, v) {
			*diffs = append(*diffs, fmt.Sprintf("%s.%s: expected %v, got %v", at, k, v, have))
		}
	}
}

// jwtClaims decodes a JWT's payload (nil when unreadable).
func jwtClaims(jwt string) map[string]any {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var claims map[string]any
	if json.Unmarshal(payload, &claims) != nil {
		return nil
	}
	return claims
}
