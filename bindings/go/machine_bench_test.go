package imds

import (
	"context"
	"io"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports this process's CPU time per operation since start (the
// emulator's is not counted): steadier than wall time on a loaded machine.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkMachineInstance is the machine alone: a cached instance() replayed in
// the module with the emulator's answer captured once (start, SEND, the answer
// fed in one input, DONE), no I/O and no decoding.
func BenchmarkMachineInstance(b *testing.B) {
	b.Run("limit=1MiB", func(b *testing.B) { machineInstance(b) })
	b.Run("limit=64KiB", func(b *testing.B) { machineInstance(b, WithMaxResponseBytes(64*1024)) })
}

func machineInstance(b *testing.B, opts ...Option) {
	e := mustEmulator(b)
	c := newClient(b, e, opts...)
	ctx := context.Background()
	if _, err := c.Instance(ctx); err != nil {
		b.Fatal(err)
	}
	answer := captureAnswer(b, c)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		replay(b, c, answer)
	}
	reportCPU(b, start)
}

// captureAnswer runs one instance() by hand and keeps the answer's bytes.
func captureAnswer(b *testing.B, c *Client) []byte {
	m := c.m
	id, err := m.start("instance", nil, c.now())
	if err != nil {
		b.Fatal(err)
	}
	code, rec, err := m.step(id, c.now(), inputTick, nil)
	if err != nil || code != stepSend {
		b.Fatalf("step %d %v", code, err)
	}
	connID := leU64(rec)
	conn := c.idle[connID]
	if conn == nil {
		b.Fatal("no idle connection")
	}
	if _, err := conn.Write(rec[sendHeader:]); err != nil {
		b.Fatal(err)
	}
	var answer []byte
	buf := make([]byte, 64*1024)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil && err != io.EOF {
			b.Fatal(err)
		}
		answer = append(answer, buf[:n]...)
		code, _, err = m.step(id, c.now(), inputBytes, buf[:n])
		if err != nil {
			b.Fatal(err)
		}
		if code != stepRead {
			break
		}
	}
	if code != stepDone {
		b.Fatalf("step %d", code)
	}
	return answer
}

func replay(b *testing.B, c *Client, answer []byte) {
	m := c.m
	id, err := m.start("instance", nil, c.now())
	if err != nil {
		b.Fatal(err)
	}
	code, _, err := m.step(id, c.now(), inputTick, nil)
	if err != nil || code != stepSend {
		b.Fatalf("step %d %v", code, err)
	}
	code, rec, err := m.step(id, c.now(), inputBytes, answer)
	if err != nil || code != stepDone || len(rec) < 1000 {
		b.Fatalf("step %d %v", code, err)
	}
}

func leU64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}
