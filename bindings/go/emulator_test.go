package imds

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// emulatorBin is the project's emulator (cargo build -p vpc-imds-emulator).
func emulatorBin() string {
	if b := os.Getenv("EMULATOR_BIN"); b != "" {
		return b
	}
	return filepath.Join("..", "..", "target", "debug", "vpc-imds-emulator")
}

type emulator struct {
	base, control string
	cmd           *exec.Cmd
}

// startEmulator starts an emulator process on 127.0.0.1:0 and reads its two lines.
func startEmulator(tb testing.TB, args ...string) (*emulator, error) {
	tb.Helper()
	cmd := exec.Command(emulatorBin(), append([]string{"--workers", "1"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	e := &emulator{cmd: cmd}
	lines := bufio.NewScanner(out)
	for e.control == "" && lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "listening on "); ok {
			e.base = u
		} else if u, ok := strings.CutPrefix(lines.Text(), "control on "); ok {
			e.control = u
		}
	}
	if e.base == "" || e.control == "" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("the emulator did not start: %s", strings.TrimSpace(stderr.String()))
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	tb.Cleanup(e.stop)
	return e, nil
}

func mustEmulator(tb testing.TB, args ...string) *emulator {
	tb.Helper()
	e, err := startEmulator(tb, args...)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func (e *emulator) stop() {
	if e.cmd.Process != nil {
		_ = e.cmd.Process.Kill()
		_ = e.cmd.Wait()
	}
}

// ctl calls the control API and decodes its JSON answer.
func (e *emulator) ctl(method, path string, body any) (map[string]any, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.control+path, r)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var v map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("control %s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	_ = json.Unmarshal(raw, &v)
	return v, nil
}

func (e *emulator) mustCtl(tb testing.TB, method, path string, body any) map[string]any {
	tb.Helper()
	v, err := e.ctl(method, path, body)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// counter reads one member of GET /counters.
func (e *emulator) counter(tb testing.TB, name string) int {
	tb.Helper()
	v := e.mustCtl(tb, "GET", "/counters", nil)
	n, _ := v[name].(float64)
	return int(n)
}

// routed is how many requests the emulator saw for route ("GET /metadata/v1/instance").
func (e *emulator) routed(tb testing.TB, route string) int {
	tb.Helper()
	v := e.mustCtl(tb, "GET", "/counters", nil)
	by, _ := v["by_route"].(map[string]any)
	n, _ := by[route].(float64)
	return int(n)
}

// closedPort is a loopback port nothing listens on.
func closedPort(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

func newClient(tb testing.TB, e *emulator, opts ...Option) *Client {
	tb.Helper()
	c, err := New(append([]Option{WithEndpoint(e.base), IgnoreEnv()}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

var _ = time.Second
