package imds

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkCachedInstance is Instance() with the token cached and the connection
// kept alive: the machine under wazero, the Go transport and decoding.
// BenchmarkRawConnFloor (below) is the floor. They run against one emulator each
// in the same run: go test -run '^$' -bench . -benchtime 3000x
func BenchmarkCachedInstance(b *testing.B) {
	e := mustEmulator(b)
	c := newClient(b, e)
	ctx := context.Background()
	if _, err := c.Instance(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		if _, err := c.Instance(ctx); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkRawConnFloor is the floor: the same GET written by hand on one
// kept-alive net.Conn (request bytes built once), the answer read to its
// Content-Length and decoded by encoding/json into a map.
func BenchmarkRawConnFloor(b *testing.B) { rawConn(b, true) }

// BenchmarkRawConnNoDecode is the floor without the decoding: transport only.
func BenchmarkRawConnNoDecode(b *testing.B) { rawConn(b, false) }

func rawConn(b *testing.B, decode bool) {
	e := mustEmulator(b)
	addr := strings.TrimPrefix(e.base, "http://")
	raw, err := rawHTTP(e.base, "PUT /identity/v1/token?version=2025-08-26 HTTP/1.1\r\nHost: x\r\nMetadata-Flavor: ibm\r\nConnection: close\r\n\r\n")
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &tok); err != nil {
		b.Fatal(err)
	}
	request := []byte("GET /metadata/v1/instance?version=2025-08-26 HTTP/1.1\r\nHost: " + addr +
		"\r\nAccept: application/json\r\nAuthorization: Bearer " + tok.AccessToken + "\r\n\r\n")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	r := textproto.NewReader(bufio.NewReaderSize(conn, 64*1024))
	body := make([]byte, 64*1024)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		if _, err := conn.Write(request); err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadLine(); err != nil {
			b.Fatal(err)
		}
		head, err := r.ReadMIMEHeader()
		if err != nil {
			b.Fatal(err)
		}
		n, _ := strconv.Atoi(head.Get("Content-Length"))
		if _, err := io.ReadFull(r.R, body[:n]); err != nil {
			b.Fatal(err)
		}
		if decode {
			var doc map[string]any
			if err := json.Unmarshal(body[:n], &doc); err != nil || doc["id"] == nil {
				b.Fatal("the instance does not decode")
			}
		}
	}
	reportCPU(b, start)
}

// BenchmarkNewIAMToken is an IAM token on a new client: New, IAMToken (the
// identity token, then the IAM exchange) and Close (compare/run.sh times the
// same beside go-sdk-core).
func BenchmarkNewIAMToken(b *testing.B) {
	e := mustEmulator(b)
	ctx := context.Background()
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		c, err := New(WithEndpoint(e.base), IgnoreEnv())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.IAMToken(ctx, Profile{}); err != nil {
			b.Fatal(err)
		}
		_ = c.Close()
	}
	reportCPU(b, start)
}

// BenchmarkRawIAMTokenFloor is the reference for BenchmarkNewIAMToken: the same
// two requests (an identity token, the IAM exchange) written by hand on one new
// net.Conn, each answer read to its Content-Length.
func BenchmarkRawIAMTokenFloor(b *testing.B) {
	e := mustEmulator(b)
	addr := strings.TrimPrefix(e.base, "http://")
	body := make([]byte, 64*1024)
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		r := textproto.NewReader(bufio.NewReaderSize(conn, 16*1024))
		answer := func(request string) []byte {
			if _, err := conn.Write([]byte(request)); err != nil {
				b.Fatal(err)
			}
			if line, err := r.ReadLine(); err != nil || !strings.Contains(line, " 20") {
				b.Fatalf("%q %v", line, err)
			}
			head, err := r.ReadMIMEHeader()
			if err != nil {
				b.Fatal(err)
			}
			n, _ := strconv.Atoi(head.Get("Content-Length"))
			if _, err := io.ReadFull(r.R, body[:n]); err != nil {
				b.Fatal(err)
			}
			return body[:n]
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		raw := answer("PUT /identity/v1/token?version=2025-08-26 HTTP/1.1\r\nHost: " + addr +
			"\r\nMetadata-Flavor: ibm\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
		if err := json.Unmarshal(raw, &tok); err != nil {
			b.Fatal(err)
		}
		answer("POST /identity/v1/iam_tokens?version=2025-08-26 HTTP/1.1\r\nHost: " + addr +
			"\r\nAuthorization: Bearer " + tok.AccessToken + "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
		_ = conn.Close()
	}
	reportCPU(b, start)
}
