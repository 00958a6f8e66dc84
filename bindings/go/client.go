// Package imds is a client for the IBM Cloud VPC Instance Metadata Service: the
// vpc-imds driver machine (Rust, compiled to WebAssembly and run by wazero, no
// cgo) with a Go transport (net.Conn, crypto/tls).
//
// One Client is safe for concurrent use by many goroutines: they share one
// identity token, one IAM token per trusted profile (each fetched by one
// goroutine at a time while the others wait) and a pool of kept-alive
// connections. Every call takes a context: cancelling it abandons the operation
// and closes its connection; a context already done sends nothing.
package imds

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
)

// EndpointEnv is read for the endpoint unless IgnoreEnv is given.
const EndpointEnv = "VPC_IMDS_ENDPOINT"

// Option configures New.
type Option func(*options)

type options struct {
	settings  map[string]any
	ignoreEnv bool
	tls       *tls.Config
}

// WithEndpoint sets the service's base URL (http://HOST[:PORT] or https://...).
func WithEndpoint(url string) Option { return func(o *options) { o.settings["endpoint"] = url } }

// WithSecure asks for secure access: https://api.metadata.cloud.ibm.com by
// default, and an http:// endpoint upgraded to https://.
func WithSecure(on bool) Option { return func(o *options) { o.settings["secure"] = on } }

// WithVersion sets the API version date (YYYY-MM-DD).
func WithVersion(date string) Option { return func(o *options) { o.settings["version"] = date } }

// WithTokenLifetime sets the identity token lifetime to ask for, 5..3600 s.
func WithTokenLifetime(seconds int) Option {
	return func(o *options) { o.settings["token_lifetime"] = seconds }
}

// WithTimeout sets the deadline of a whole operation, retries included (15 s).
func WithTimeout(d time.Duration) Option { return secs("timeout", d) }

// WithRequestTimeout sets the deadline of one request (5 s).
func WithRequestTimeout(d time.Duration) Option { return secs("request_timeout", d) }

// WithConnectTimeout sets the deadline of one connect (1 s).
func WithConnectTimeout(d time.Duration) Option { return secs("connect_timeout", d) }

// WithMaxAttempts sets the attempts per request, the first included (4).
func WithMaxAttempts(n int) Option { return func(o *options) { o.settings["max_attempts"] = n } }

// WithBackoff sets the first and the largest backoff step (100 ms, 2 s).
func WithBackoff(base, largest time.Duration) Option {
	return func(o *options) {
		o.settings["base_delay"] = base.Seconds()
		o.settings["max_delay"] = largest.Seconds()
	}
}

// WithMaxResponseBytes sets the largest response accepted (1 MiB).
func WithMaxResponseBytes(n int) Option {
	return func(o *options) { o.settings["max_response_bytes"] = n }
}

// WithTLSConfig sets the TLS configuration for https endpoints (e.g. RootCAs
// holding the emulator's certificate). ServerName defaults to the endpoint host.
func WithTLSConfig(c *tls.Config) Option { return func(o *options) { o.tls = c } }

// IgnoreEnv keeps New from reading VPC_IMDS_ENDPOINT.
func IgnoreEnv() Option { return func(o *options) { o.ignoreEnv = true } }

// secs sets a duration in seconds, the unit of every host's settings.
func secs(key string, d time.Duration) Option {
	return func(o *options) { o.settings[key] = d.Seconds() }
}

// Client is a client of the instance metadata service. Create it with New; close
// it with Close.
type Client struct {
	mu     sync.Mutex
	m      *machine
	origin time.Time
	// idle holds the kept-alive connections the machine may hand out again.
	idle map[uint64]net.Conn
	// waiters: operations waiting for a token, woken when poll_woken names them.
	waiters map[uint64]chan struct{}
	// busy: the connections operations are writing to or reading from, which
	// Close interrupts.
	busy                   map[uint64]net.Conn
	network, address, host string
	tls                    *tls.Config
	// closing is done once Close is called: token waits, backoffs and dials in
	// progress end, and every later step says the client is closed.
	closing  context.Context
	closeNow context.CancelFunc
	// release frees the machine of a client that is dropped without Close (its
	// module instance would stay in the shared runtime for the process's life).
	release runtime.Cleanup
	// idleTimer closes idle connections the machine expires, while any is idle.
	idleTimer *time.Timer
}

// New creates a client. Nothing is sent until the first call.
func New(opts ...Option) (*Client, error) {
	o := options{settings: map[string]any{}}
	for _, opt := range opts {
		opt(&o)
	}
	if !o.ignoreEnv {
		if v := os.Getenv(EndpointEnv); v != "" {
			o.settings["env_endpoint"] = v
		}
	}
	if err := validText(o.settings); err != nil {
		return nil, err
	}
	settings, err := json.Marshal(o.settings)
	if err != nil {
		return nil, &Error{Kind: KindInvalidInput, Message: "settings: " + err.Error(), Cause: "input"}
	}
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	m, err := newMachine(settings, binary.LittleEndian.Uint64(seed[:]))
	if err != nil {
		return nil, err
	}
	endpoint, err := m.endpoint()
	if err != nil {
		m.close()
		return nil, err
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		m.close()
		return nil, &Error{Kind: KindInvalidInput, Message: "endpoint: " + err.Error(), Cause: "input"}
	}
	c := &Client{
		m: m, origin: time.Now(), idle: map[uint64]net.Conn{}, busy: map[uint64]net.Conn{}, waiters: map[uint64]chan struct{}{},
		network: "tcp", address: u.Host, host: u.Hostname(),
	}
	c.closing, c.closeNow = context.WithCancel(context.Background())
	if u.Scheme == "https" {
		c.tls = &tls.Config{MinVersion: tls.VersionTLS12}
		if o.tls != nil {
			c.tls = o.tls.Clone()
		}
		if c.tls.ServerName == "" {
			c.tls.ServerName = c.host
		}
		// The machine speaks HTTP/1.1: a config net/http filled with "h2" must not
		// let a server pick HTTP/2.
		c.tls.NextProtos = []string{"http/1.1"}
	}
	c.release = runtime.AddCleanup(c, func(m *machine) { m.close() }, m)
	return c, nil
}

// Close closes the kept-alive connections and releases the machine. Calls in
// progress fail at once with the "client is closed" error: those waiting for a
// token or backing off are woken, those connecting or on a connection are
// interrupted.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed() {
		return nil
	}
	c.closeNow()
	c.release.Stop()
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	c.closeAllIdleLocked()
	for _, conn := range c.busy {
		_ = conn.SetDeadline(time.Unix(1, 0))
	}
	c.m.close()
	return nil
}

// idleTimeout: how often the machine is asked which idle connections have
// expired (it decides; this is the driver's IDLE_TIMEOUT, so a connection is
// closed at most that long after it expired).
const idleTimeout = 30 * time.Second

// closeIdleLocked closes idle connection id, if this client holds it.
func (c *Client) closeIdleLocked(id uint64) {
	if s, ok := c.idle[id]; ok {
		_ = s.Close()
		delete(c.idle, id)
	}
}

// closeAllIdleLocked closes every idle connection.
func (c *Client) closeAllIdleLocked() {
	for id := range c.idle {
		c.closeIdleLocked(id)
	}
}

// expireIdle closes the connections the machine expires, and comes back while
// any connection is idle. (Its timer holds the client: a dropped client is
// released once its connections have expired.)
func (c *Client) expireIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed() {
		return
	}
	if !c.m.broken {
		for _, id := range c.m.expireIdle(c.now()) {
			c.closeIdleLocked(id)
		}
	}
	if c.m.broken { // (or it broke just now) nothing more is asked of it
		c.closeAllIdleLocked()
		c.wakeIfBrokenLocked()
	}
	if len(c.idle) > 0 {
		c.idleTimer.Reset(idleTimeout)
	} else {
		c.idleTimer = nil
	}
}

// closed: Close was called.
func (c *Client) closed() bool { return c.closing.Err() != nil }

func (c *Client) now() uint64 { return uint64(time.Since(c.origin).Milliseconds()) }

func (c *Client) at(ms uint64) time.Time { return c.origin.Add(time.Duration(ms) * time.Millisecond) }

var errClosed = &Error{Kind: KindInvalidInput, Message: "the client is closed", Cause: "misuse"}

// errBroken: an earlier call into the client's module trapped; its machine may be
// half-updated, so nothing more is asked of it.
var errBroken = errors.New("vpc-imds: the client's module failed in an earlier call; create a new client")

// wakeLocked closes the channels of the operations the machine woke; once the
// machine is broken, of every waiting operation (each then fails with errBroken,
// not at its deadline).
func (c *Client) wakeLocked() {
	for !c.m.broken {
		op := c.m.pollWoken()
		if op < 0 {
			break
		}
		if ch, ok := c.waiters[uint64(op)]; ok {
			close(ch)
			delete(c.waiters, uint64(op))
		}
	}
	if c.m.broken { // now, or by a trap in pollWoken
		for id, ch := range c.waiters {
			close(ch)
			delete(c.waiters, id)
		}
	}
}

// wakeIfBrokenLocked wakes every waiter once the machine is broken (each then
// fails with errBroken), asking nothing of it; a closed client's machine is not
// read (it may serve another client now).
func (c *Client) wakeIfBrokenLocked() {
	if !c.closed() && c.m.broken {
		c.wakeLocked()
	}
}

// outcome is a page or the result of an operation.
type outcome struct {
	body []byte
	done bool
}

// op is one operation, stepped by its own goroutine.
type op struct {
	c      *Client
	id     uint64
	ctx    context.Context
	conn   net.Conn
	connID uint64
	buf    []byte
	over   bool
	kind   int
	in     []byte
	// send holds the SEND record, copied out of guest memory.
	send []byte
	// filled: the most of buf a read has filled (cleared before the op is pooled).
	filled int
	stop   func() bool
}

// validText refuses a string that is not UTF-8, as every host refuses a string
// with no UTF-8 form (json.Marshal would send U+FFFD in its place: another id).
func validText(values map[string]any) error {
	for key, v := range values {
		if s, ok := v.(string); ok && !utf8.ValidString(s) {
			return &Error{Kind: KindInvalidInput, Message: "invalid input: " + key + " is not valid UTF-8", Cause: "input"}
		}
	}
	return nil
}

// ops are reused: an op holds a 32 KiB read buffer.
var opPool = sync.Pool{New: func() any { return &op{buf: make([]byte, 32*1024)} }}

// begin starts an operation; a context already done sends nothing.
func (c *Client) begin(ctx context.Context, name string, args map[string]any) (*op, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var raw []byte
	if len(args) > 0 {
		if err := validText(args); err != nil {
			return nil, err
		}
		var err error
		if raw, err = json.Marshal(args); err != nil {
			return nil, &Error{Kind: KindInvalidInput, Message: "arguments: " + err.Error(), Cause: "input"}
		}
	}
	c.mu.Lock()
	if c.closed() {
		c.mu.Unlock()
		return nil, errClosed
	}
	if c.m.broken {
		c.wakeIfBrokenLocked()
		c.mu.Unlock()
		return nil, errBroken
	}
	id, err := c.m.start(name, raw, c.now())
	c.wakeIfBrokenLocked()
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	o := opPool.Get().(*op)
	o.c, o.id, o.ctx, o.kind = c, id, ctx, inputTick
	// A cancelled context interrupts blocking I/O at once (a context that is
	// never done needs nothing).
	if ctx.Done() != nil {
		o.stop = context.AfterFunc(ctx, func() {
			// Under the lock: once the operation hands its connection to the pool
			// (also under it), another operation's use of it is not touched.
			c.mu.Lock()
			defer c.mu.Unlock()
			if o.conn != nil {
				_ = o.conn.SetDeadline(time.Unix(1, 0))
			}
		})
	}
	return o, nil
}

// run steps an operation to its end and returns the result's body.
func (c *Client) run(ctx context.Context, name string, args map[string]any) (outcome, error) {
	o, err := c.begin(ctx, name, args)
	if err != nil {
		return outcome{}, err
	}
	defer o.finish()
	for {
		out, err := o.next()
		if err != nil || out.done {
			return out, err
		}
	}
}

// finish abandons the operation if it is not over and returns its buffers.
func (o *op) finish() {
	// The op is reused unless the context's function may still be running.
	reuse := o.stop == nil || o.stop()
	c := o.c
	c.mu.Lock()
	if !o.over && !c.closed() && !c.m.broken {
		if conn := c.m.cancel(o.id); conn >= 0 {
			c.closeIdleLocked(uint64(conn))
		}
		c.wakeLocked()
	}
	c.wakeIfBrokenLocked()
	delete(c.waiters, o.id)
	o.over = true
	if o.conn != nil {
		_ = o.conn.Close()
		delete(c.busy, o.id)
		o.conn = nil
	}
	c.mu.Unlock()
	if reuse {
		// The request holds the token, and a token response may be in the buffer.
		clear(o.send[:cap(o.send)])
		clear(o.buf[:o.filled])
		*o = op{buf: o.buf, send: o.send[:0]}
		opPool.Put(o)
	}
}

// next steps until a page, the result, or an error.
func (o *op) next() (outcome, error) {
	c := o.c
	for {
		if err := o.ctx.Err(); err != nil {
			return outcome{}, err
		}
		c.mu.Lock()
		if c.closed() || c.m.broken {
			c.wakeIfBrokenLocked()
			c.mu.Unlock()
			o.over = true
			if c.closed() {
				return outcome{}, errClosed
			}
			return outcome{}, errBroken
		}
		delete(c.waiters, o.id) // a wait that ended by its timer
		code, rec, err := c.m.step(o.id, c.now(), o.kind, o.in)
		answered := o.kind != inputTick
		o.kind, o.in = inputTick, nil
		if len(c.waiters) > 0 {
			// Only an operation in waiters can be woken: it registered under this
			// mutex when its step said AWAIT_TOKEN (or all, if this step trapped).
			c.wakeLocked()
		}
		if err != nil {
			c.mu.Unlock()
			return outcome{}, err
		}
		if answered && code != stepRead && o.conn != nil {
			// The answer is complete (or failed): the connection is the machine's to
			// reuse or to have closed.
			c.idle[o.connID] = o.conn
			delete(c.busy, o.id)
			o.conn = nil
			if c.idleTimer == nil {
				c.idleTimer = time.AfterFunc(idleTimeout, c.expireIdle)
			}
		}
		var wake chan struct{}
		var until uint64
		switch code {
		case stepSend:
			o.send = append(o.send[:0], rec...)
		case stepClose:
			if len(rec) >= 8 {
				c.closeIdleLocked(binary.LittleEndian.Uint64(rec))
			}
			c.mu.Unlock()
			continue
		case stepBackoff, stepAwaitToken:
			if len(rec) >= 8 {
				until = binary.LittleEndian.Uint64(rec)
			}
			if code == stepAwaitToken {
				wake = make(chan struct{})
				c.waiters[o.id] = wake
			}
		case stepPage, stepDone:
			out := outcome{done: code == stepDone}
			if len(rec) >= 1 && len(rec) >= 1+int(rec[0]) {
				out.body = append([]byte(nil), rec[1+rec[0]:]...)
			}
			o.over = out.done
			c.mu.Unlock()
			return out, nil
		case stepFailed, stepMisuse:
			e := errorFrom(rec)
			o.over = code == stepFailed
			c.mu.Unlock()
			if err := o.ctx.Err(); err != nil && code == stepFailed {
				return outcome{}, err
			}
			if dl, ok := o.ctx.Deadline(); ok && code == stepFailed && isTimeout(e) && !time.Now().Before(dl) {
				// The socket's deadline (the context's) may fire before the context's
				// own timer: a timeout then still ends the call as the context says.
				return outcome{}, context.DeadlineExceeded
			}
			return outcome{}, e
		}
		c.mu.Unlock()
		switch code {
		case stepSend:
			o.transmit(o.send)
		case stepRead:
			o.read()
		case stepBackoff:
			if err := o.sleep(until, nil); err != nil {
				return outcome{}, err
			}
		case stepAwaitToken:
			if err := o.sleep(until, wake); err != nil {
				return outcome{}, err
			}
		}
	}
}

func (o *op) sleep(until uint64, wake chan struct{}) error {
	d := time.Until(o.c.at(until))
	if d <= 0 && wake == nil {
		return nil
	}
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-t.C:
	case <-wake:
	case <-o.c.closing.Done(): // the next step says the client is closed
	case <-o.ctx.Done():
		return o.ctx.Err()
	}
	return nil
}

func (o *op) failed(name string) {
	o.kind, o.in = inputFailed, []byte(name)
}

// transmit connects (or takes the idle connection) and writes the request.
func (o *op) transmit(rec []byte) {
	c := o.c
	if len(rec) < sendHeader {
		o.failed("connection_lost")
		return
	}
	o.connID = binary.LittleEndian.Uint64(rec[0:])
	connectTimeout := time.Duration(binary.LittleEndian.Uint64(rec[8:])) * time.Millisecond
	deadline := c.at(binary.LittleEndian.Uint64(rec[16:]))
	if d, ok := o.ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	fresh := rec[24] != 0
	var conn net.Conn
	if fresh {
		// A Close meanwhile ends the connect too.
		ctx, cancel := context.WithCancel(o.ctx)
		stop := context.AfterFunc(c.closing, cancel)
		var err error
		conn, err = c.dial(ctx, connectTimeout, deadline)
		stop()
		cancel()
		if err != nil {
			o.failed(dialError(err))
			return
		}
	} else {
		c.mu.Lock()
		conn = c.idle[o.connID]
		delete(c.idle, o.connID)
		c.mu.Unlock()
		if conn == nil {
			o.failed("connection_lost")
			return
		}
	}
	// Under the lock, as the cancel callback sets its past deadline: a cancel
	// between the check and this deadline would be overwritten.
	c.mu.Lock()
	o.conn = conn
	c.busy[o.id] = conn
	if o.ctx.Err() != nil || c.closed() {
		_ = conn.SetDeadline(time.Unix(1, 0))
	} else {
		_ = conn.SetDeadline(deadline)
	}
	c.mu.Unlock()
	if _, err := conn.Write(rec[sendHeader:]); err != nil {
		o.failed(exchangeError(err))
	}
}

// exchangeError names a failed write or read on a connection: its deadline (the
// request's, or the context's); TLS's own failure, a record that does not decrypt
// or an alert (final, as every host reads it); else the connection was lost.
func exchangeError(err error) string {
	var ne net.Error
	var op *net.OpError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "response_timeout"
	case errors.As(err, &recErr), errors.As(err, &op) && (op.Op == "local error" || op.Op == "remote error"):
		return "tls"
	default:
		return "connection_lost"
	}
}

// isTimeout reports whether err is the machine's timeout: the operation's, or a
// request's last attempt timing out.
func isTimeout(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Kind == KindTimedOut || e.Transport == "response_timeout" || e.Transport == "connect_timeout")
}

// handshakeError is a TLS handshake that failed on a connected socket.
type handshakeError struct{ error }

func (e handshakeError) Unwrap() error { return e.error }

// dial connects within timeout (and deadline), the TLS handshake included.
func (c *Client) dial(ctx context.Context, timeout time.Duration, deadline time.Time) (net.Conn, error) {
	limit := time.Now().Add(timeout)
	if !deadline.IsZero() && deadline.Before(limit) {
		limit = deadline
	}
	d := net.Dialer{Deadline: limit}
	raw, err := d.DialContext(ctx, c.network, c.address)
	if err != nil || c.tls == nil {
		return raw, err
	}
	hctx, cancel := context.WithDeadline(ctx, limit)
	defer cancel()
	conn := tls.Client(raw, c.tls)
	if err := conn.HandshakeContext(hctx); err != nil {
		_ = raw.Close()
		return nil, handshakeError{err}
	}
	return conn, nil
}

// fromNetwork reports whether a handshake failed for the socket's sake (an errno,
// a cancelled context), not for TLS's: it is then named as a connect's failure.
// (Not any *net.OpError: crypto/tls wraps its own alerts in one.)
func fromNetwork(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) || errors.Is(err, context.Canceled)
}

// dialError names a failed connect as the core's errno table does
// (TransportError::from_errno, connecting); a failed handshake is tls (final) unless
// it timed out or the connection was cut, as every host reads it.
func dialError(err error) string {
	var tlsErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var alert tls.AlertError
	var ne net.Error
	var hs handshakeError
	cut := errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
	timedOut := errors.As(err, &ne) && ne.Timeout()
	switch {
	case errors.As(err, &hs) && !cut && !timedOut && !fromNetwork(hs.error):
		return "tls"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "unreachable"
	case errors.As(err, &tlsErr), errors.As(err, &recErr), errors.As(err, &alert):
		return "tls"
	case timedOut:
		return "connect_timeout"
	case cut:
		// Cut during the TLS handshake, as every host reads it: lost, and retried.
		return "connection_lost"
	default:
		return "unreachable"
	}
}

// read reads more of the answer.
func (o *op) read() {
	if o.conn == nil {
		o.failed("connection_lost")
		return
	}
	n, err := o.conn.Read(o.buf)
	o.filled = max(o.filled, n)
	switch {
	case n > 0:
		o.kind, o.in = inputBytes, o.buf[:n]
	case err == nil || errors.Is(err, io.EOF):
		o.kind, o.in = inputBytes, nil // the peer closed
	default:
		o.failed(exchangeError(err))
	}
}
