package imds

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const emuInstanceID = "0000_11111111-2222-4333-8444-555555555555"

func TestInstanceKeysAndDocuments(t *testing.T) {
	e := mustEmulator(t)
	c := newClient(t, e)
	ctx := context.Background()
	inst, err := c.Instance(ctx)
	if err != nil || inst.ID != emuInstanceID || inst.Name != "emu-vsi-1" || len(inst.Raw) == 0 {
		t.Fatalf("instance: %+v %v", inst, err)
	}
	n := 0
	for key, err := range c.Keys(ctx) {
		if err != nil || !strings.HasPrefix(key.PublicKey, "ssh-") {
			t.Fatalf("key %+v: %v", key, err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("%d keys", n)
	}
	lines, err := c.SSHKeys(ctx)
	if err != nil || len(lines) != 3 || !strings.HasPrefix(lines[0], "ssh-") {
		t.Fatalf("ssh keys %v %v", lines, err)
	}
	ud, err := c.UserData(ctx)
	if err != nil || !strings.Contains(string(ud), "multipart") {
		t.Fatalf("user data %q %v", ud, err)
	}
	all, err := c.GetAll(ctx, "keys?limit=1")
	if err != nil || strings.Count(string(all), "ssh-") != 3 {
		t.Fatalf("get_all %s %v", all, err)
	}
	nics, err := c.NetworkInterfaces(ctx)
	if err != nil || len(nics) != 2 {
		t.Fatalf("nics %v %v", nics, err)
	}
	raw, err := c.Get(ctx, "instance/volume_attachments")
	if err != nil || !strings.Contains(string(raw), "volume_attachments") {
		t.Fatalf("get %s %v", raw, err)
	}
	tok, err := c.IAMToken(ctx, Profile{})
	if err != nil || tok.ExpiresIn != 3600 || tok.Value() == "" {
		t.Fatalf("iam token %v %v", tok, err)
	}
	// A Token as an unexported field is printed by reflection, without its methods.
	held := struct {
		tok  Token
		toks []Token
	}{*tok, []Token{*tok}}
	for _, s := range []string{tok.String(), fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, *tok), fmt.Sprintf("%v %+v %#v", held, held, held)} {
		if strings.Contains(s, tok.Value()) || strings.Contains(s, `"access_token"`) {
			t.Fatalf("the token shows in %q", s)
		}
	}
	// One identity token served everything.
	if got := e.counter(t, "token_creations"); got != 1 {
		t.Fatalf("%d token creations", got)
	}
}

func TestAnIPv6Endpoint(t *testing.T) {
	probe, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	_ = probe.Close()
	e := mustEmulator(t, "--listen", "[::1]:0")
	if !strings.HasPrefix(e.base, "http://[::1]:") {
		t.Fatalf("the emulator listens on %s", e.base)
	}
	c := newClient(t, e)
	if c.address != strings.TrimPrefix(e.base, "http://") {
		t.Fatalf("dials %q for %s", c.address, e.base)
	}
	inst, err := c.Instance(context.Background())
	if err != nil || inst.ID != emuInstanceID {
		t.Fatalf("instance over [::1]: %+v %v", inst, err)
	}
}

func TestIdentityTokenNonce(t *testing.T) {
	e := mustEmulator(t)
	c := newClient(t, e)
	ctx := context.Background()
	const nonce = "challenge-42:/+="
	tok, err := c.IdentityTokenWith(ctx, 0, nonce)
	if err != nil || tok.Nonce != nonce {
		t.Fatalf("token %v, nonce %q: %v", tok, tok.Nonce, err)
	}
	parts := strings.Split(tok.Value(), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(payload, &claims) != nil || claims["nonce"] != nonce {
		t.Fatalf("claims %s: %v", payload, err)
	}
	for _, bad := range []string{"a b", "caf\u00e9", strings.Repeat("n", 257), "a\x00b"} {
		_, err := c.IdentityTokenWith(ctx, 0, bad)
		var ie *Error
		if !errors.As(err, &ie) || ie.Kind != KindInvalidInput || !errors.Is(err, ErrInvalidInput) {
			t.Fatalf("nonce %q: %v", bad, err)
		}
	}
	if got := e.counter(t, "token_creations"); got != 1 {
		t.Fatalf("%d token creations: a bad nonce was sent", got)
	}
}

func TestErrorsAreTypedAndCarryTheRecord(t *testing.T) {
	e := mustEmulator(t)
	c := newClient(t, e)
	_, err := c.Key(context.Background(), "r000-no-such-key")
	var ie *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &ie) || ie.Status != 404 || ie.Code != "not_found" || ie.Cause != "api" || ie.Trace == "" {
		t.Fatalf("%#v", err)
	}
	if errors.Is(err, ErrRefused) {
		t.Fatal("not_found is not refused")
	}
	_, err = c.Key(context.Background(), "a/../b")
	if !errors.Is(err, ErrInvalidInput) {
		t.Fatal(err)
	}
	// A string that is not UTF-8 is refused, not sent with U+FFFD in its place.
	if _, err = c.Key(context.Background(), "r000-\xff"); !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Fatal(err)
	}
	if _, err = New(WithEndpoint("http://127.0.0.1:9/\xff"), IgnoreEnv()); !errors.Is(err, ErrInvalidInput) {
		t.Fatal(err)
	}
	if got := e.counter(t, "requests"); got != 2 {
		t.Fatalf("bad input sent something: %d requests", got)
	}
	_, err = New(WithEndpoint("ftp://x"), IgnoreEnv())
	if !errors.Is(err, ErrInvalidInput) {
		t.Fatal(err)
	}
	r, _ := New(WithEndpoint(closedPort(t)), IgnoreEnv())
	defer r.Close()
	if _, err := r.Instance(context.Background()); !errors.Is(err, ErrRefused) {
		t.Fatal(err)
	}
	// A negative wait is the driver's to refuse, as in every host (not the default 60 s).
	started := time.Now()
	if err := r.WaitUntilReady(context.Background(), -time.Second); !errors.Is(err, ErrInvalidInput) || time.Since(started) > 5*time.Second {
		t.Fatalf("WaitUntilReady(-1s) = %v after %v", err, time.Since(started))
	}
}

// Twenty goroutines on one client: one identity token request.
func TestSingleFlight(t *testing.T) {
	e := mustEmulator(t)
	c := newClient(t, e)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			inst, err := c.Instance(context.Background())
			if err == nil && inst.ID != emuInstanceID {
				err = fmt.Errorf("id %s", inst.ID)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := e.counter(t, "token_creations"); got != 1 {
		t.Fatalf("%d identity token requests from 20 goroutines", got)
	}
	if got := e.counter(t, "metadata_gets"); got != 20 {
		t.Fatalf("%d gets", got)
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("503 is retried", func(t *testing.T) {
		e := mustEmulator(t)
		// On the GET, not the token PUT a new client sends first.
		e.mustCtl(t, "POST", "/faults/fail", map[string]any{"status": 503, "count": 2, "route_prefix": "/metadata/v1/instance"})
		if _, err := newClient(t, e).Instance(ctx); err != nil {
			t.Fatal(err)
		}
		if got := e.counter(t, "faults_injected"); got != 2 {
			t.Fatalf("%d faults", got)
		}
		if got := e.routed(t, "GET /metadata/v1/instance"); got != 3 {
			t.Fatalf("%d GETs, want 2 refused and 1 answered", got)
		}
	})
	t.Run("429 Retry-After is honoured", func(t *testing.T) {
		e := mustEmulator(t)
		e.mustCtl(t, "POST", "/faults/fail", map[string]any{"status": 429, "count": 1, "retry_after": 1, "route_prefix": "/metadata/v1/instance"})
		started := time.Now()
		if _, err := newClient(t, e).Instance(ctx); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(started); d < 900*time.Millisecond || d > 3*time.Second {
			t.Fatalf("took %v", d)
		}
		if got := e.routed(t, "GET /metadata/v1/instance"); got != 2 {
			t.Fatalf("%d GETs, want 1 refused and 1 answered", got)
		}
	})
	t.Run("429 past the attempts is rate_limited with Retry-After", func(t *testing.T) {
		e := mustEmulator(t)
		e.mustCtl(t, "POST", "/faults/fail", map[string]any{"status": 429, "retry_after": 0, "route_prefix": "/metadata/v1/instance"})
		_, err := newClient(t, e, WithMaxAttempts(2)).Instance(ctx)
		var ie *Error
		if !errors.As(err, &ie) || ie.Kind != KindRateLimited || ie.Status != 429 {
			t.Fatal(err)
		}
		if got := e.routed(t, "GET /metadata/v1/instance"); got != 2 {
			t.Fatalf("%d GETs, want 2 (the attempts)", got)
		}
	})
	t.Run("a dropped connection is retried", func(t *testing.T) {
		e := mustEmulator(t)
		e.mustCtl(t, "POST", "/faults/drop", map[string]any{"stage": "mid_body", "count": 1, "route_prefix": "/metadata/"})
		if _, err := newClient(t, e).Initialization(ctx); err != nil {
			t.Fatal(err)
		}
		if got := e.routed(t, "GET /metadata/v1/instance/initialization"); got != 2 {
			t.Fatalf("%d GETs, want 1 dropped and 1 answered", got)
		}
	})
	t.Run("a black hole times out", func(t *testing.T) {
		e := mustEmulator(t)
		e.mustCtl(t, "POST", "/faults/black_hole", map[string]any{})
		started := time.Now()
		_, err := newClient(t, e, WithTimeout(600*time.Millisecond)).Instance(ctx)
		if !errors.Is(err, ErrTimedOut) {
			t.Fatal(err)
		}
		if d := time.Since(started); d > 2*time.Second {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("401 refreshes the token once", func(t *testing.T) {
		e := mustEmulator(t)
		c := newClient(t, e)
		if _, err := c.Instance(ctx); err != nil {
			t.Fatal(err)
		}
		e.mustCtl(t, "POST", "/tokens/expire", nil)
		if _, err := c.Instance(ctx); err != nil {
			t.Fatal(err)
		}
		if a, b := e.counter(t, "token_creations"), e.counter(t, "unauthenticated"); a != 2 || b != 1 {
			t.Fatalf("%d tokens, %d 401s", a, b)
		}
	})
	t.Run("wait until ready through 503s", func(t *testing.T) {
		e := mustEmulator(t)
		e.mustCtl(t, "POST", "/faults/fail", map[string]any{"status": 503, "count": 2, "route_prefix": "/identity/"})
		if err := newClient(t, e).WaitUntilReady(ctx, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if got := e.counter(t, "faults_injected"); got != 2 {
			t.Fatalf("%d faults", got)
		}
	})
}

func TestContext(t *testing.T) {
	e := mustEmulator(t)
	c := newClient(t, e)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Instance(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if got := e.counter(t, "requests"); got != 0 {
		t.Fatalf("a cancelled context sent %d requests", got)
	}
	// Cancelled in flight: the call returns at once and its connection is closed.
	e.mustCtl(t, "POST", "/faults/black_hole", map[string]any{"count": 1})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	started := time.Now()
	if _, err := c.Instance(ctx); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if d := time.Since(started); d > time.Second {
		t.Fatalf("cancel took %v", d)
	}
	c.mu.Lock()
	ops, idle := len(c.waiters), len(c.idle)
	c.mu.Unlock()
	if ops != 0 || idle != 0 {
		t.Fatalf("%d waiters, %d idle connections after a cancel in flight", ops, idle)
	}
	// A deadline: the call gives up with the context's error.
	e.mustCtl(t, "POST", "/faults/black_hole", map[string]any{"count": 1})
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.Instance(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	// The client still works.
	if _, err := c.Instance(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Waiters cancelled while another goroutine holds the token fetch.
	e2 := mustEmulator(t)
	e2.mustCtl(t, "PUT", "/faults/latency", map[string]any{"ms": 300})
	c2 := newClient(t, e2)
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = c2.Instance(context.Background()) })
	time.Sleep(50 * time.Millisecond)
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := c2.Instance(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	wg.Wait()
}

// Close ends the calls in progress at once: the one on a connection and the one
// waiting for the token it fetches.
func TestCloseEndsCallsInProgress(t *testing.T) {
	e := mustEmulator(t)
	e.mustCtl(t, "PUT", "/faults/latency", map[string]any{"ms": 3000})
	c := newClient(t, e)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := c.Instance(context.Background())
			errs <- err
		}()
		time.Sleep(100 * time.Millisecond)
	}
	c.mu.Lock()
	waiting, busy := len(c.waiters), len(c.busy)
	c.mu.Unlock()
	if waiting != 1 || busy != 1 {
		t.Fatalf("%d waiting, %d on a connection before Close", waiting, busy)
	}
	started := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		err := <-errs
		var ie *Error
		if !errors.As(err, &ie) || ie.Kind != KindInvalidInput || ie.Cause != "misuse" {
			t.Fatalf("after Close: %v", err)
		}
	}
	if d := time.Since(started); d > time.Second {
		t.Fatalf("the calls ended %v after Close (the emulator answers after 3 s)", d)
	}
	// A call backing off (503, Retry-After: 10) ends at Close too.
	e2 := mustEmulator(t)
	e2.mustCtl(t, "POST", "/faults/fail", map[string]any{"status": 503, "count": 1, "retry_after": 10, "route_prefix": "/metadata/"})
	c2 := newClient(t, e2)
	backingOff := make(chan error, 1)
	go func() {
		_, err := c2.Instance(context.Background())
		backingOff <- err
	}()
	time.Sleep(300 * time.Millisecond)
	started = time.Now()
	_ = c2.Close()
	err := <-backingOff
	var ie *Error
	if !errors.As(err, &ie) || ie.Cause != "misuse" {
		t.Fatalf("after Close: %v", err)
	}
	if d := time.Since(started); d > time.Second {
		t.Fatalf("the call backing off ended %v after Close (Retry-After: 10)", d)
	}
}

func TestHTTPS(t *testing.T) {
	dir := t.TempDir()
	pem := filepath.Join(dir, "emulator.pem")
	e := mustEmulator(t, "--tls", "--cert-out", pem)
	raw, err := os.ReadFile(pem)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(raw)
	c := newClient(t, e, WithTLSConfig(&tls.Config{RootCAs: roots}))
	if inst, err := c.Instance(context.Background()); err != nil || inst.ID != emuInstanceID {
		t.Fatal(inst, err)
	}
	untrusted := newClient(t, e)
	var ie *Error
	if _, err := untrusted.Instance(context.Background()); !errors.As(err, &ie) || ie.Transport != "tls" {
		t.Fatal(err)
	}
	// A refusal Go's TLS makes itself (a pin that does not match) is tls too, and
	// final: one connection, not four attempts read as "unreachable".
	var handshakes atomic.Int32
	pinned := newClient(t, e, WithTLSConfig(&tls.Config{RootCAs: roots, VerifyConnection: func(tls.ConnectionState) error {
		handshakes.Add(1)
		return errors.New("not the pinned certificate")
	}}))
	if _, err := pinned.Instance(context.Background()); !errors.As(err, &ie) || ie.Transport != "tls" {
		t.Fatal(err)
	}
	if n := handshakes.Load(); n != 1 {
		t.Fatalf("%d handshakes for a tls failure", n)
	}
}

// How long the first New takes (compiling the module, or loading it from the
// compilation cache) and a later one.
func TestCompileCost(t *testing.T) {
	e := mustEmulator(t)
	started := time.Now()
	c := newClient(t, e)
	first := time.Since(started)
	started = time.Now()
	newClient(t, e)
	second := time.Since(started)
	t.Logf("module compile (or cache load) %v; New: first %v, second %v; cache %q", CompileTime(), first, second, cacheDir())
	_ = c
}

// A failed connect is named as every host names it: a refusal, no route (a
// firewall's EACCES too), a TLS failure, or a connection cut during the handshake
// (lost, and retried).
func TestDialErrorsAsEveryHostNamesThem(t *testing.T) {
	op := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	cases := []struct {
		err  error
		want string
	}{
		{op(syscall.ECONNREFUSED), "refused"},
		{op(syscall.EHOSTUNREACH), "unreachable"},
		{op(syscall.EACCES), "unreachable"},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, "tls"},
		{io.EOF, "connection_lost"},
		{op(syscall.ECONNRESET), "connection_lost"},
		// The rest of the core's table (TransportError::from_errno, connecting).
		{op(syscall.ETIMEDOUT), "connect_timeout"},
		{op(syscall.ENETUNREACH), "unreachable"},
		{op(syscall.ENETDOWN), "unreachable"},
		{op(syscall.EHOSTDOWN), "unreachable"},
		{op(syscall.EADDRNOTAVAIL), "unreachable"},
		{op(syscall.EPERM), "unreachable"},
		{op(syscall.EINVAL), "unreachable"},
		{op(syscall.ECONNABORTED), "connection_lost"},
		{op(syscall.EPIPE), "connection_lost"},
		// A handshake Go's TLS refused itself, cut, or out of time.
		{handshakeError{errors.New("tls: server selected unsupported protocol version 300")}, "tls"},
		{handshakeError{io.EOF}, "connection_lost"},
		{handshakeError{context.DeadlineExceeded}, "connect_timeout"},
		{handshakeError{op(syscall.EHOSTUNREACH)}, "unreachable"},
		{handshakeError{&net.OpError{Op: "remote error", Err: tls.AlertError(40)}}, "tls"},
	}
	for _, c := range cases {
		if got := dialError(c.err); got != c.want {
			t.Errorf("dialError(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// Once a call into the module has trapped, an operation waiting for the token
// another one fetches fails at once with errBroken, not at its deadline.
func TestABrokenMachineWakesItsWaiters(t *testing.T) {
	e := mustEmulator(t)
	e.mustCtl(t, "POST", "/faults/black_hole", map[string]any{})
	c := newClient(t, e, WithTimeout(30*time.Second), WithRequestTimeout(30*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _, _ = c.Instance(ctx) }() // fetches the token from a black hole
	waiting := make(chan error, 1)
	time.Sleep(200 * time.Millisecond)
	go func() { _, err := c.Instance(context.Background()); waiting <- err }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c.mu.Lock()
		n := len(c.waiters)
		c.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d operations wait for the token", n)
		}
	}
	// As a trap in a call leaves the machine (each path that sees it wakes the
	// waiters; here the next call's start does).
	c.mu.Lock()
	c.m.broken = true
	c.mu.Unlock()
	if _, err := c.Instance(context.Background()); !errors.Is(err, errBroken) {
		t.Fatalf("a call after the break: %v", err)
	}
	select {
	case err := <-waiting:
		if !errors.Is(err, errBroken) {
			t.Fatalf("the waiter: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter still waits, its deadline 30 s away")
	}
}

// A context deadline that ends a call ends it as ctx.Err(), even when the socket's
// deadline (the same instant) fires before the context's own timer.
func TestAContextDeadlineEndsTheCallAsTheContextSays(t *testing.T) {
	e := mustEmulator(t)
	e.mustCtl(t, "POST", "/faults/black_hole", map[string]any{})
	c := newClient(t, e, WithMaxAttempts(1), WithTimeout(30*time.Second), WithRequestTimeout(30*time.Second))
	for i := 0; i < 10; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := c.Instance(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}
