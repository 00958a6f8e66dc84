package ibmauth

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/IBM/go-sdk-core/v5/core"
)

// The same API version for both (go-sdk-core's default is 2022-03-01).
const benchVersion = "2025-08-26"

// oursOnce: a new authenticator, its IAM token (an identity token, then the IAM
// exchange), Close.
func oursOnce(b *testing.B, url string) {
	a := &VpcInstanceAuthenticator{URL: url, ServiceVersion: benchVersion}
	tok, err := a.GetToken()
	if err != nil || tok == "" {
		b.Fatalf("vpc-imds: %v", err)
	}
	_ = a.Close()
}

// theirsOnce: the same with go-sdk-core's VpcInstanceAuthenticator (its
// connections closed after, as Close does for ours).
func theirsOnce(b *testing.B, url string) {
	a := &core.VpcInstanceAuthenticator{URL: url, ServiceVersion: benchVersion}
	tok, err := a.GetToken()
	if err != nil || tok == "" {
		b.Fatalf("go-sdk-core: %v", err)
	}
	a.Client.CloseIdleConnections()
}

// checkExchanges: every round fetched an identity token and made an exchange.
func checkExchanges(b *testing.B, e *emulator, want int) {
	if id, iam := e.counters(b); id != want || iam != want {
		b.Fatalf("emulator counters: %d identity tokens, %d IAM exchanges; want %d each", id, iam, want)
	}
}

// BenchmarkNewAuthenticatorToken: a new authenticator and its IAM token, ours
// and go-sdk-core's, against the emulator on loopback.
func BenchmarkNewAuthenticatorToken(b *testing.B) {
	for name, once := range map[string]func(*testing.B, string){"vpc-imds": oursOnce, "go-sdk-core": theirsOnce} {
		b.Run(name, func(b *testing.B) {
			e := startEmulator(b)
			once(b, e.base) // warm-up: compiles the module (ours)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				once(b, e.base)
			}
			b.StopTimer()
			checkExchanges(b, e, b.N+1)
		})
	}
}

// floorOnce: the same two requests written by hand on one new connection, no
// client at all: what the emulator's answers cost.
func floorOnce(b *testing.B, base string) {
	u, _ := url.Parse(base)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	exchange := func(line, header, body string) []byte {
		_, _ = fmt.Fprintf(c, "%s HTTP/1.1\r\nHost: %s\r\nMetadata-Flavor: ibm\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", line, u.Host, header, len(body), body)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		m := accessToken.FindSubmatch(raw)
		if resp.StatusCode != 200 || m == nil {
			b.Fatalf("floor: status %d", resp.StatusCode)
		}
		return m[1]
	}
	id := exchange("PUT /identity/v1/token?version="+benchVersion, "", `{"expires_in":300}`)
	exchange("POST /identity/v1/iam_tokens?version="+benchVersion, "Authorization: Bearer "+string(id)+"\r\n", "")
}

// BenchmarkRatio alternates ours, go-sdk-core's and the floor, round by round,
// against one emulator (the machine is shared with other work, so alternating is
// fairer than runs one after the other), and reports the medians and
// vpc-imds/go-sdk-core ("ratio") and floor/go-sdk-core ("floor-ratio").
func BenchmarkRatio(b *testing.B) {
	e := startEmulator(b)
	runs := []func(*testing.B, string){oursOnce, theirsOnce, floorOnce}
	times := make([][]time.Duration, len(runs))
	for _, run := range runs {
		run(b, e.base)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, run := range runs {
			t0 := time.Now()
			run(b, e.base)
			times[j] = append(times[j], time.Since(t0))
		}
	}
	b.StopTimer()
	checkExchanges(b, e, len(runs)*(b.N+1))
	med := make([]time.Duration, len(runs))
	for j, ts := range times {
		slices.Sort(ts)
		med[j] = ts[len(ts)/2]
	}
	b.ReportMetric(float64(med[0].Microseconds()), "vpc-imds-µs")
	b.ReportMetric(float64(med[1].Microseconds()), "go-sdk-core-µs")
	b.ReportMetric(float64(med[2].Microseconds()), "floor-µs")
	b.ReportMetric(float64(med[0])/float64(med[1]), "ratio")
	b.ReportMetric(float64(med[2])/float64(med[1]), "floor-ratio")
}

// BenchmarkAuthenticateCached: Authenticate with the token cached, ours and
// go-sdk-core's.
func BenchmarkAuthenticateCached(b *testing.B) {
	e := startEmulator(b)
	req, _ := http.NewRequest("GET", "http://127.0.0.1/", nil)
	ours := &VpcInstanceAuthenticator{URL: e.base}
	defer ours.Close()
	theirs := &core.VpcInstanceAuthenticator{URL: e.base}
	for name, a := range map[string]core.Authenticator{"vpc-imds": ours, "go-sdk-core": theirs} {
		b.Run(name, func(b *testing.B) {
			if err := a.Authenticate(req); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := a.Authenticate(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
