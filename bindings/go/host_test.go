package imds

// The host glue's own duties: what a forgotten client releases, the TLS it offers,
// how a TLS failure on an established connection is named, what a pooled operation
// keeps, and idle connections closed once the machine expires them.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"
)

func TestAClientDroppedWithoutCloseReleasesItsMachine(t *testing.T) {
	idleCount := func() int {
		idleMu.Lock()
		defer idleMu.Unlock()
		return len(idleMachines)
	}
	warm, err := New(WithEndpoint("http://127.0.0.1:9"), IgnoreEnv())
	if err != nil {
		t.Fatal(err)
	}
	warm.Close() // one instance in the pool, taken again just below
	func() {
		c, err := New(WithEndpoint("http://127.0.0.1:9"), IgnoreEnv())
		if err != nil {
			t.Fatal(err)
		}
		_ = c // dropped without Close
	}()
	before := idleCount()
	for deadline := time.Now().Add(5 * time.Second); idleCount() == before; {
		if time.Now().After(deadline) {
			t.Fatal("the dropped client's machine was never released")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAConfigOfferingHTTP2StillSpeaksHTTP1(t *testing.T) {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 1 {
			http.Error(w, "HTTP/1.1 expected", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"eyJx","created_at":"2025-01-01T00:00:00Z","expires_at":"2025-01-01T00:05:00Z","expires_in":300}`))
	}))
	s.EnableHTTP2 = true
	s.StartTLS()
	defer s.Close()
	roots := x509.NewCertPool()
	roots.AddCert(s.Certificate())
	// As net/http leaves an http.Transport's TLSClientConfig once it has used HTTP/2.
	c, err := New(WithEndpoint(s.URL), IgnoreEnv(), WithMaxAttempts(1), WithTLSConfig(&tls.Config{RootCAs: roots, NextProtos: []string{"h2", "http/1.1"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.IdentityToken(context.Background(), 0); err != nil {
		t.Fatalf("with h2 offered: %v", err)
	}
}

func TestATLSFailureOnAnEstablishedConnectionIsTLSAndFinal(t *testing.T) {
	s := httptest.NewUnstartedServer(nil)
	s.StartTLS() // for its certificate only
	cert := s.TLS.Certificates[0]
	roots := x509.NewCertPool()
	roots.AddCert(s.Certificate())
	s.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{}, 16)
	go func() {
		for {
			raw, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			go func() {
				defer raw.Close()
				tc := tls.Server(raw, &tls.Config{Certificates: []tls.Certificate{cert}})
				if tc.Handshake() != nil {
					return
				}
				_, _ = tc.Read(make([]byte, 4096))
				// An application-data record that does not decrypt (a broken middlebox).
				_, _ = raw.Write([]byte("\x17\x03\x03\x00\x20 this is not an encrypted record"))
			}()
		}
	}()
	c, err := New(WithEndpoint("https://"+l.Addr().String()), IgnoreEnv(), WithTLSConfig(&tls.Config{RootCAs: roots, ServerName: "example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.IdentityToken(context.Background(), 0)
	var e *Error
	if !errors.As(err, &e) || e.Transport != "tls" {
		t.Fatalf("want a tls failure, got %v", err)
	}
	if n := len(accepted); n != 1 {
		t.Fatalf("a TLS failure is final: %d connections", n)
	}
}

func TestAPooledOperationKeepsNoToken(t *testing.T) {
	e := mustEmulator(t)
	c := newClient(t, e)
	tok, err := c.IdentityToken(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Instance(context.Background()); err != nil {
		t.Fatal(err)
	}
	secret := []byte(tok.Value())
	for range 8 {
		o := opPool.Get().(*op)
		if bytes.Contains(o.send[:cap(o.send)], secret) || bytes.Contains(o.buf, secret) {
			t.Fatal("a pooled operation holds the token")
		}
	}
}

// idleAfterACall makes one call, leaving its connection idle, and says how many
// connections are idle and whether the expiry timer is armed.
func idleAfterACall(t *testing.T) (*Client, func() (int, bool)) {
	t.Helper()
	c := newClient(t, mustEmulator(t))
	if _, err := c.Instance(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c, func() (int, bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.idle), c.idleTimer != nil
	}
}

func TestIdleConnectionsAreClosedOnceTheMachineExpiresThem(t *testing.T) {
	c, state := idleAfterACall(t)
	if idle, armed := state(); idle != 1 || !armed {
		t.Fatalf("idle %d, timer armed %v", idle, armed)
	}
	c.origin = c.origin.Add(-idleTimeout) // as if the connection had been idle that long
	c.expireIdle()
	if idle, armed := state(); idle != 0 || armed {
		t.Fatalf("after expiry: idle %d, timer armed %v", idle, armed)
	}
}

func TestABrokenMachinesIdleConnectionsAreClosedWithoutAskingIt(t *testing.T) {
	c, state := idleAfterACall(t)
	c.mu.Lock()
	c.m.broken = true // as after a trap: nothing more may be asked of the module
	c.mu.Unlock()
	c.expireIdle()
	idle, armed := state()
	c.mu.Lock()
	c.m.broken = false // for the test's cleanup
	c.mu.Unlock()
	if idle != 0 || armed {
		t.Fatalf("idle %d, timer armed %v", idle, armed)
	}
}

func TestAClosedClientLeavesNoTokenInItsKeptInstance(t *testing.T) {
	const token = "eyJkept.instance.must.not.hold.this.token.0123456789abcdefghijklmnopqrstuvwxyz"
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPut {
			_, _ = w.Write([]byte(`{"access_token":"` + token + `","created_at":"2025-01-01T00:00:00Z","expires_at":"2025-01-01T00:05:00Z","expires_in":300}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"x","name":"y","padding":"` + string(bytes.Repeat([]byte("p"), 40000)) + `"}`))
	}))
	defer s.Close()
	c, err := New(WithEndpoint(s.URL), IgnoreEnv())
	if err != nil {
		t.Fatal(err)
	}
	// The token comes in (a response fed to the machine), is cached, and goes out in
	// the GET's Authorization header (a request in the output buffer, which the long
	// document then grows); then a new one is fed last (in the input area still).
	if _, err := c.Get(context.Background(), "instance"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.IdentityToken(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	m := c.m
	c.Close()
	idleMu.Lock()
	kept := false
	for _, k := range idleMachines {
		kept = kept || k == m
	}
	idleMu.Unlock()
	if !kept {
		t.Fatal("the instance was not kept for the next client")
	}
	memory, ok := m.mem.Read(0, m.mem.Size())
	if !ok {
		t.Fatal("guest memory out of range")
	}
	// The token's payload part alone: the JWT's header prefix is common.
	if at := bytes.Index(memory, []byte(token[4:])); at >= 0 {
		t.Fatalf("the kept instance's memory holds the token at %d (input area %d): %q", at, m.input, memory[max(at-200, 0):at+100])
	}
}
