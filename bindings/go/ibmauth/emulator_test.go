package ibmauth

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// emulatorBin is the project's emulator (cargo build -p vpc-imds-emulator).
func emulatorBin() string {
	if b := os.Getenv("EMULATOR_BIN"); b != "" {
		return b
	}
	return filepath.Join("..", "..", "..", "target", "debug", "vpc-imds-emulator")
}

type emulator struct {
	base, control string
	cmd           *exec.Cmd
}

// startEmulator starts an emulator process on 127.0.0.1:0 and reads its
// "listening on URL" and "control on URL" lines. Both must be loopback.
func startEmulator(tb testing.TB) *emulator {
	tb.Helper()
	cmd := exec.Command(emulatorBin(), "--workers", "1", "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("the emulator (cargo build -p vpc-imds-emulator): %v", err)
	}
	e := &emulator{cmd: cmd}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	for e.control == "" && lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "listening on "); ok {
			e.base = u
		} else if u, ok := strings.CutPrefix(lines.Text(), "control on "); ok {
			e.control = u
		}
	}
	if !isLoopback(e.base) || !isLoopback(e.control) {
		tb.Fatalf("the emulator did not start on loopback (%q, %q): %s", e.base, e.control, strings.TrimSpace(stderr.String()))
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return e
}

func isLoopback(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" {
		return false
	}
	ip := net.ParseIP(p.Hostname())
	return ip != nil && ip.IsLoopback()
}

// ctl calls the control API and decodes its JSON answer.
func (e *emulator) ctl(tb testing.TB, method, path string) map[string]any {
	tb.Helper()
	req, _ := http.NewRequest(method, e.control+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		tb.Fatalf("control %s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	var v map[string]any
	_ = json.Unmarshal(raw, &v)
	return v
}

// counters returns token_creations and iam_token_exchanges.
func (e *emulator) counters(tb testing.TB) (identity, iam int) {
	tb.Helper()
	v := e.ctl(tb, "GET", "/counters")
	a, _ := v["token_creations"].(float64)
	b, _ := v["iam_token_exchanges"].(float64)
	return int(a), int(b)
}

// tee is a loopback TCP relay in front of the emulator that keeps a copy of
// everything the emulator answers, so a test can see the tokens it issued.
type tee struct {
	url   string
	ln    net.Listener
	mu    sync.Mutex
	seen  bytes.Buffer
	conns []net.Conn
}

func newTee(tb testing.TB, e *emulator) *tee {
	tb.Helper()
	target, _ := url.Parse(e.base)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	t := &tee{url: "http://" + ln.Addr().String(), ln: ln}
	tb.Cleanup(t.close)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target.Host)
			if err != nil {
				_ = c.Close()
				continue
			}
			t.mu.Lock()
			t.conns = append(t.conns, c, s)
			t.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
			go func() { _, _ = io.Copy(io.MultiWriter(c, t), s); _ = c.Close() }()
		}
	}()
	return t
}

func (t *tee) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seen.Write(p)
}

func (t *tee) close() {
	_ = t.ln.Close()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.conns {
		_ = c.Close()
	}
}

var accessToken = regexp.MustCompile(`"access_token"\s*:\s*"([^"]+)"`)

// issued returns the identity tokens and the IAM tokens the emulator sent.
func (t *tee) issued() (identity, iam []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range accessToken.FindAllSubmatch(t.seen.Bytes(), -1) {
		tok := string(m[1])
		if claims(tok)["realmid"] == "iam" {
			iam = append(iam, tok)
		} else {
			identity = append(identity, tok)
		}
	}
	return identity, iam
}

// claims decodes a JWT's payload (no signature check: the emulator's are fake).
func claims(token string) map[string]any {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var v map[string]any
	_ = json.Unmarshal(raw, &v)
	return v
}

// closedPort is a loopback URL nothing listens on.
func closedPort(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}
