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
// BenchmarkRawConnFloor is the same GET written by hand on one net.Conn (no
// decoding): the floor. Both run against one emulator in the same run:
// go test -run '^$' -bench . -benchtime 2000x
func BenchmarkCachedInstance(b *testing.B) {
	e := mustEmulator(b)
	c := newClient(b, e)
	ctx := context.Background()
	if _, err := c.Instance(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Instance(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawConnFloor(b *testing.B) {
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
	}
}
