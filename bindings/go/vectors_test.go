package imds

// Every case of the shared test vectors (tests/vectors/*.json, schema in its
// README) through the package's wasm machine at the step level: vpc_imds_start and
// vpc_imds_step on the vectors' clock, with no I/O. The step records are those the
// Client reads (the compact encoding of bindings/c/include/vpc_imds.h); results are
// checked on the document the step carries and decoded by the package's models,
// errors on the *Error the package makes of the record.
//
// The runner acts as a machine host does (as bindings/python/tests/test_vectors.py):
//   - Raw HTTP responses go through the machine's reader (VPC_IMDS_INPUT_BYTES) in
//     three chunkings (all at once, 1 byte, 7 bytes), then an empty read (end of
//     stream) if the machine still says READ; parsed responses (status, body,
//     Retry-After) go in as VPC_IMDS_INPUT_RESPONSE, as from a host's own HTTP
//     stack; a transport error as VPC_IMDS_INPUT_FAILED with its name.
//   - The step returned after a "pending" answer is the next vector step's; a
//     failure is reported once and ends the operation, so a poll_failed right after
//     a fed failure, and idle, meet a machine with no operation.
//   - The machine leaves a request's deadline to the host's reads (it says READ
//     where the single-operation driver says "wait until the request deadline"):
//     at the deadline of the SEND record the runner reports response_timeout.
//   - The machine runs any number of operations at once: in "a second start while
//     busy is refused" the second start must succeed and leave the first
//     operation's steps unchanged.
//   - The machine mixes its seed (one SplitMix64 step) before its first
//     operation's driver gets it: the runner passes the seed that mixes into the
//     vector's.
//
// Page-merging cases go through vpc_imds_merge_pages, the driver's merger.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// vectorExceptions: cases this host cannot run, with the reason. None: every case
// runs. An entry that names no case, or a listed case that passes, fails the run.
var vectorExceptions = map[string]string{}

const (
	// inputResponse: a whole response from the host's own HTTP stack
	// (VPC_IMDS_INPUT_RESPONSE), after a header of responseHeader bytes and the
	// header values it names.
	inputResponse  = 4
	responseHeader = 8
	manyAtOnce     = "a second start while busy is refused"
)

func vectorsDir() string {
	if dir := os.Getenv("VPC_IMDS_VECTORS"); dir != "" {
		return dir
	}
	return filepath.Join("..", "..", "tests", "vectors")
}

type vectorFile struct {
	Cases []vectorCase `json:"cases"`
}

type vectorCase struct {
	Name   string                       `json:"name"`
	Config map[string]json.RawMessage   `json:"config"`
	Steps  []map[string]json.RawMessage `json:"steps"`
	Merge  []string                     `json:"merge"`
	// UserData: the user-data cases' bytes (base64 in the file).
	UserData []byte          `json:"user_data"`
	Expect   json.RawMessage `json:"expect"`
}

type namedCase struct {
	file string
	vectorCase
}

func loadVectors(t *testing.T) []namedCase {
	t.Helper()
	dir := vectorsDir()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) < 5 {
		t.Fatalf("no vector files in %s (%v)", dir, err)
	}
	sort.Strings(files)
	var cases []namedCase
	seen := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc vectorFile
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		stem := strings.TrimSuffix(filepath.Base(f), ".json")
		for _, c := range doc.Cases {
			key := stem + ": " + c.Name
			if seen[key] {
				t.Fatalf("duplicate case %s", key)
			}
			seen[key] = true
			cases = append(cases, namedCase{file: stem, vectorCase: c})
		}
	}
	return cases
}

// unmix is the machine seed whose SplitMix64 step is z (the driver's jitter seed).
func unmix(z uint64) uint64 {
	unshift := func(v uint64, n uint) uint64 {
		x := v
		for i := uint(0); i <= 64/n; i++ {
			x = v ^ (x >> n)
		}
		return x
	}
	inverse := func(a uint64) uint64 { // of an odd a, modulo 2^64 (Newton)
		x := a
		for range 6 {
			x *= 2 - a*x
		}
		return x
	}
	z = unshift(z, 31)
	z = unshift(z*inverse(0x94D049BB133111EB), 27)
	z = unshift(z*inverse(0xBF58476D1CE4E5B9), 30)
	return z - 0x9E3779B97F4A7C15
}

func TestUnmixInvertsSplitMix(t *testing.T) {
	splitmix := func(x uint64) uint64 {
		z := x + 0x9E3779B97F4A7C15
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		return z ^ (z >> 31)
	}
	for _, z := range []uint64{0, 1, 7, 42, 1 << 63, ^uint64(0), 0x0123456789abcdef} {
		if got := splitmix(unmix(z)); got != z {
			t.Errorf("splitmix(unmix(%#x)) = %#x", z, got)
		}
	}
}

// vectorMachine builds the machine for a case's config (the C ABI's settings).
func vectorMachine(config map[string]json.RawMessage) (*machine, error) {
	names := map[string]string{
		"endpoint": "endpoint", "version": "version", "token_lifetime": "token_lifetime",
		"operation_timeout_ms": "timeout", "request_timeout_ms": "request_timeout",
		"max_attempts": "max_attempts", "base_delay_ms": "base_delay",
		"max_delay_ms": "max_delay", "buffer": "max_response_bytes",
	}
	settings := map[string]json.RawMessage{"max_response_bytes": json.RawMessage("65536")}
	seed := uint64(1)
	for key, v := range config {
		if key == "seed" {
			if err := json.Unmarshal(v, &seed); err != nil {
				return nil, fmt.Errorf("seed: %w", err)
			}
			continue
		}
		name, ok := names[key]
		if !ok {
			return nil, fmt.Errorf("unknown config key %q", key)
		}
		if strings.HasSuffix(key, "_ms") { // the settings count seconds
			var ms float64
			if err := json.Unmarshal(v, &ms); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			v, _ = json.Marshal(ms / 1000)
		}
		settings[name] = v
	}
	raw, err := json.Marshal(settings)
	if err != nil {
		return nil, err
	}
	return newMachine(raw, unmix(seed))
}

// vstep is one step of the machine, its record copied out of guest memory.
type vstep struct {
	code int
	rec  []byte
}

func (s vstep) String() string {
	switch s.code {
	case stepSend:
		return "SEND " + strconv.Quote(redact(string(s.rec[min(len(s.rec), sendHeader):])))
	case stepRead:
		return "READ"
	case stepClose:
		return "CLOSE"
	case stepBackoff, stepAwaitToken:
		name := map[int]string{stepBackoff: "BACKOFF", stepAwaitToken: "AWAIT_TOKEN"}[s.code]
		if len(s.rec) >= 8 {
			return fmt.Sprintf("%s until %d", name, binary.LittleEndian.Uint64(s.rec))
		}
		return name
	case stepPage, stepDone:
		name := map[int]string{stepPage: "PAGE", stepDone: "DONE"}[s.code]
		typ, body, _ := splitRecord(s.rec)
		return fmt.Sprintf("%s %s %.200s", name, typ, redact(string(body)))
	case stepFailed, stepMisuse:
		return fmt.Sprintf("FAILED(%d) %s", s.code, redact(string(s.rec)))
	}
	return fmt.Sprintf("step %d", s.code)
}

// redact keeps failure messages free of tokens.
func redact(s string) string {
	for {
		i := strings.Index(s, "eyJ")
		if i < 0 {
			return s
		}
		j := i
		for j < len(s) && (s[j] == '.' || s[j] == '-' || s[j] == '_' || s[j] >= '0' && s[j] <= '9' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z') {
			j++
		}
		s = s[:i] + "[TOKEN]" + s[j:]
	}
}

func splitRecord(rec []byte) (string, []byte, bool) {
	if len(rec) < 1 || len(rec) < 1+int(rec[0]) {
		return "", nil, false
	}
	return string(rec[1 : 1+rec[0]]), rec[1+rec[0]:], true
}

func vectorStep(m *machine, op, now uint64, kind int, in []byte) (vstep, error) {
	code, rec, err := m.step(op, now, kind, in)
	if err != nil {
		return vstep{}, err
	}
	return vstep{code: code, rec: bytes.Clone(rec)}, nil
}

// mergePages runs the driver's page merger through the module.
func mergePages(m *machine, pages []string) ([]byte, error) {
	fn := m.mod.ExportedFunction("vpc_imds_merge_pages")
	if fn == nil {
		return nil, fmt.Errorf("the module lacks vpc_imds_merge_pages")
	}
	var framed []byte
	for _, p := range pages {
		framed = binary.LittleEndian.AppendUint32(framed, uint32(len(p)))
		framed = append(framed, p...)
	}
	at, err := m.put(framed)
	if err != nil {
		return nil, err
	}
	r, err := m.call(fn, m.handle, at, uint64(len(framed)))
	if err != nil {
		return nil, err
	}
	out, err := m.output()
	if err != nil {
		return nil, err
	}
	if int64(r) < 0 {
		return nil, errorFrom(out)
	}
	return bytes.Clone(out), nil
}

// request is a SEND record's request in parts, as a host with its own HTTP stack
// would set them (Host and Content-Length left to the stack).
type request struct {
	method, target string
	headers        [][2]string
	body           *string
	wire           string
}

func parseRequest(rec []byte) (request, error) {
	if len(rec) < sendHeader {
		return request{}, fmt.Errorf("a SEND record of %d bytes", len(rec))
	}
	wire := string(rec[sendHeader:])
	head, body, ok := strings.Cut(wire, "\r\n\r\n")
	if !ok {
		return request{}, fmt.Errorf("no end of head in %q", redact(wire))
	}
	lines := strings.Split(head, "\r\n")
	parts := strings.Split(lines[0], " ")
	if len(parts) != 3 || parts[2] != "HTTP/1.1" {
		return request{}, fmt.Errorf("request line %q", lines[0])
	}
	r := request{method: parts[0], target: parts[1], wire: wire}
	length := -1
	for _, line := range lines[1:] {
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			return request{}, fmt.Errorf("header line %q", redact(line))
		}
		switch strings.ToLower(name) {
		case "host":
		case "content-length":
			if length, ok = atoi(value); !ok {
				return request{}, fmt.Errorf("Content-Length %q", value)
			}
		default:
			r.headers = append(r.headers, [2]string{name, value})
		}
	}
	switch {
	case length >= 0:
		if length != len(body) {
			return request{}, fmt.Errorf("Content-Length %d with a body of %d bytes", length, len(body))
		}
		r.body = &body
	case body != "":
		return request{}, fmt.Errorf("a body without Content-Length")
	}
	return r, nil
}

func atoi(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

// vectorRun is one run of a session case (one chunking).
type vectorRun struct {
	c        *namedCase
	chunk    int
	m        *machine
	op       uint64
	live     map[uint64]bool
	pending  *vstep
	deadline uint64
}

// check failures are returned as errors (the runner keeps going only to report).
func (r *vectorRun) fail(i int, format string, args ...any) error {
	return fmt.Errorf("%s [chunk %d] step %d: %s", r.c.Name, r.chunk, i, fmt.Sprintf(format, args...))
}

// settle steps past connection closes (a socket host's matter) and notes a
// request's deadline and an operation's end.
func (r *vectorRun) settle(s vstep, at uint64) (vstep, error) {
	for s.code == stepClose {
		var err error
		if s, err = vectorStep(r.m, r.op, at, inputTick, nil); err != nil {
			return s, err
		}
	}
	switch s.code {
	case stepSend:
		if len(s.rec) < sendHeader {
			return s, fmt.Errorf("a SEND record of %d bytes", len(s.rec))
		}
		r.deadline = binary.LittleEndian.Uint64(s.rec[16:])
	case stepDone, stepFailed:
		delete(r.live, r.op)
	}
	return s, nil
}

func (r *vectorRun) next(at uint64) (vstep, error) {
	var got vstep
	if r.pending != nil {
		got, r.pending = *r.pending, nil
	} else {
		s, err := vectorStep(r.m, r.op, at, inputTick, nil)
		if err != nil {
			return s, err
		}
		if got, err = r.settle(s, at); err != nil {
			return got, err
		}
	}
	if got.code == stepRead && at >= r.deadline { // the host's read timer
		s, err := vectorStep(r.m, r.op, at, inputFailed, []byte("response_timeout"))
		if err != nil {
			return s, err
		}
		return r.settle(s, at)
	}
	return got, nil
}

func (r *vectorRun) feedRaw(raw []byte, at uint64) (vstep, error) {
	size := r.chunk
	if size == 0 {
		size = max(len(raw), 1)
	}
	for i := 0; i < len(raw); i += size {
		s, err := vectorStep(r.m, r.op, at, inputBytes, raw[i:min(i+size, len(raw))])
		if err != nil || s.code != stepRead {
			return s, err
		}
	}
	s, err := vectorStep(r.m, r.op, at, inputBytes, nil) // end of stream
	if err == nil && s.code == stepRead {
		err = fmt.Errorf("the reader wants more after end of stream")
	}
	return s, err
}

func (r *vectorRun) respond(resp map[string]json.RawMessage, at uint64) (vstep, error) {
	var status uint16
	if err := json.Unmarshal(resp["status"], &status); err != nil {
		return vstep{}, fmt.Errorf("status: %w", err)
	}
	in := binary.LittleEndian.AppendUint16(nil, status)
	if v, ok := resp["retry_after"]; ok {
		var secs uint32
		if err := json.Unmarshal(v, &secs); err != nil {
			return vstep{}, fmt.Errorf("retry_after: %w", err)
		}
		value := strconv.FormatUint(uint64(secs), 10) // the header as received
		in = binary.LittleEndian.AppendUint16(in, uint16(len(value)))
		in = append(in, 0, 0, 1, 0)
		in = append(in, value...)
	} else {
		in = append(in, 0, 0, 0, 0, 0, 0)
	}
	switch {
	case resp["body"] != nil:
		var body string
		if err := json.Unmarshal(resp["body"], &body); err != nil {
			return vstep{}, fmt.Errorf("body: %w", err)
		}
		in = append(in, body...)
	case resp["body_file"] != nil:
		var file string
		if err := json.Unmarshal(resp["body_file"], &file); err != nil {
			return vstep{}, fmt.Errorf("body_file: %w", err)
		}
		body, err := os.ReadFile(filepath.Join(vectorsDir(), filepath.FromSlash(file)))
		if err != nil {
			return vstep{}, err
		}
		in = append(in, body...)
	}
	return vectorStep(r.m, r.op, at, inputResponse, in)
}

func (r *vectorRun) run() error {
	m, err := vectorMachine(r.c.Config)
	if err != nil {
		return fmt.Errorf("%s: the machine: %w", r.c.Name, err)
	}
	r.m = m
	defer m.close()
	r.live = map[uint64]bool{}
	justFailed := false
	for i, step := range r.c.Steps {
		var at uint64
		if v, ok := step["at"]; ok {
			if err := json.Unmarshal(v, &at); err != nil {
				return r.fail(i, "at: %v", err)
			}
		}
		if err := r.runStep(i, step, at, &justFailed); err != nil {
			return err
		}
	}
	return nil
}

func (r *vectorRun) runStep(i int, step map[string]json.RawMessage, at uint64, justFailed *bool) error {
	if start, ok := step["start"]; ok {
		*justFailed = false
		var args map[string]json.RawMessage
		if err := json.Unmarshal(start, &args); err != nil {
			return r.fail(i, "start: %v", err)
		}
		var name string
		if err := json.Unmarshal(args["op"], &name); err != nil {
			return r.fail(i, "start op: %v", err)
		}
		delete(args, "op")
		var argsJSON []byte
		if len(args) > 0 {
			argsJSON, _ = json.Marshal(args)
		}
		id, err := r.m.start(name, argsJSON, at)
		switch {
		case r.c.Name == manyAtOnce && len(r.live) > 0:
			if err != nil || id == r.op {
				return r.fail(i, "a second operation must run beside the first: %d, %v", id, err)
			}
			r.live[id] = true
		case step["error"] != nil:
			if err == nil {
				return r.fail(i, "start succeeded; expected %s", step["error"])
			}
			return r.checkError(i, err, step["error"])
		case err != nil:
			return r.fail(i, "start failed: %v", err)
		default:
			r.op = id
			r.live[id] = true
		}
		return nil
	}
	failedBefore := *justFailed
	*justFailed = false
	switch {
	case step["send"] != nil:
		got, err := r.next(at)
		if err != nil {
			return r.fail(i, "%v", err)
		}
		if got.code != stepSend {
			return r.fail(i, "expected send, got %v", got)
		}
		return r.checkSend(i, got, step["send"])
	case step["wait"] != nil:
		var until uint64
		if err := json.Unmarshal(step["wait"], &until); err != nil {
			return r.fail(i, "wait: %v", err)
		}
		got, err := r.next(at)
		if err != nil {
			return r.fail(i, "%v", err)
		}
		if got.code == stepRead { // the answer is awaited until the request deadline
			if until != r.deadline {
				return r.fail(i, "expected wait until %d; the request deadline is %d", until, r.deadline)
			}
			return nil
		}
		if got.code != stepBackoff || len(got.rec) < 8 || binary.LittleEndian.Uint64(got.rec) != until {
			return r.fail(i, "expected wait until %d, got %v", until, got)
		}
	case step["poll_failed"] != nil:
		if failedBefore && len(r.live) == 0 {
			return nil
		}
		got, err := r.next(at)
		if err != nil {
			return r.fail(i, "%v", err)
		}
		if got.code != stepFailed {
			return r.fail(i, "expected failure, got %v", got)
		}
		return r.checkError(i, errorFrom(got.rec), step["poll_failed"])
	case step["idle"] != nil:
		if r.pending != nil || len(r.live) != 0 {
			return r.fail(i, "expected idle: %d operations, pending %v", len(r.live), r.pending)
		}
	case step["respond"] != nil || step["transport_error"] != nil:
		var got vstep
		var err error
		if te := step["transport_error"]; te != nil {
			var name string
			if err = json.Unmarshal(te, &name); err == nil {
				got, err = vectorStep(r.m, r.op, at, inputFailed, []byte(name))
			}
		} else {
			var resp map[string]json.RawMessage
			if err = json.Unmarshal(step["respond"], &resp); err == nil {
				if raw := resp["raw"]; raw != nil {
					var text string
					if err = json.Unmarshal(raw, &text); err == nil {
						got, err = r.feedRaw([]byte(text), at)
					}
				} else {
					got, err = r.respond(resp, at)
				}
			}
		}
		if err == nil {
			got, err = r.settle(got, at)
		}
		if err != nil {
			return r.fail(i, "%v", err)
		}
		if err := r.checkEvent(i, got, step["expect"]); err != nil {
			return err
		}
		*justFailed = got.code == stepFailed
		if string(step["expect"]) == `"pending"` {
			r.pending = &got
		}
	default:
		keys := make([]string, 0, len(step))
		for k := range step {
			keys = append(keys, k)
		}
		return r.fail(i, "unknown step %v", keys)
	}
	return nil
}

func (r *vectorRun) checkSend(i int, got vstep, wantRaw json.RawMessage) error {
	var want struct {
		Method  *string          `json:"method"`
		Target  *string          `json:"target"`
		Headers *[][2]string     `json:"headers"`
		Body    *json.RawMessage `json:"body"`
		Raw     *string          `json:"raw"`
	}
	if err := json.Unmarshal(wantRaw, &want); err != nil {
		return r.fail(i, "send: %v", err)
	}
	req, err := parseRequest(got.rec)
	if err != nil {
		return r.fail(i, "%v", err)
	}
	if want.Method != nil && req.method != *want.Method {
		return r.fail(i, "method %q, want %q", req.method, *want.Method)
	}
	if want.Target != nil && req.target != *want.Target {
		return r.fail(i, "target %q, want %q", req.target, *want.Target)
	}
	if want.Headers != nil && !reflect.DeepEqual(req.headers, *want.Headers) && (len(req.headers) != 0 || len(*want.Headers) != 0) {
		return r.fail(i, "headers %q, want %q", redact(fmt.Sprint(req.headers)), redact(fmt.Sprint(*want.Headers)))
	}
	if want.Body != nil {
		var body *string
		if err := json.Unmarshal(*want.Body, &body); err != nil {
			return r.fail(i, "body: %v", err)
		}
		if (body == nil) != (req.body == nil) || body != nil && *body != *req.body {
			return r.fail(i, "body %v, want %s", req.body, *want.Body)
		}
	}
	if want.Raw != nil && req.wire != *want.Raw {
		return r.fail(i, "raw %q, want %q", redact(req.wire), redact(*want.Raw))
	}
	return nil
}

func (r *vectorRun) checkEvent(i int, got vstep, wantRaw json.RawMessage) error {
	if string(wantRaw) == `"pending"` {
		if got.code != stepSend && got.code != stepBackoff {
			return r.fail(i, "expected pending, got %v", got)
		}
		return nil
	}
	var want map[string]json.RawMessage
	if err := json.Unmarshal(wantRaw, &want); err != nil {
		return r.fail(i, "expect: %v", err)
	}
	switch {
	case want["page"] != nil:
		if got.code != stepPage {
			return r.fail(i, "expected a page, got %v", got)
		}
		return r.checkOutput(i, got, want["page"])
	case want["done"] != nil:
		if got.code != stepDone {
			return r.fail(i, "expected done, got %v", got)
		}
		return r.checkOutput(i, got, want["done"])
	case want["failed"] != nil:
		if got.code != stepFailed {
			return r.fail(i, "expected failure, got %v", got)
		}
		return r.checkError(i, errorFrom(got.rec), want["failed"])
	}
	return r.fail(i, "unknown expectation %s", wantRaw)
}

var vectorMissing = struct{ missing bool }{true}

func lookup(doc any, path string) any {
	parts := strings.Split(path, ".")
	for i, part := range parts {
		if part == "#" && i == len(parts)-1 {
			if list, ok := doc.([]any); ok {
				return float64(len(list))
			}
			return vectorMissing
		}
		switch v := doc.(type) {
		case []any:
			n, err := strconv.Atoi(part)
			if err != nil || n < 0 || n >= len(v) {
				return vectorMissing
			}
			doc = v[n]
		case map[string]any:
			var ok bool
			if doc, ok = v[part]; !ok {
				return vectorMissing
			}
		default:
			return vectorMissing
		}
	}
	return doc
}

// decodeTyped decodes a document into the package's model of its type (what the
// Client's typed calls return, by the generated operationModels); types without
// a model are only JSON.
func decodeTyped(typ string, body []byte) (any, error) {
	name, ok := operationModels[typ]
	if !ok {
		return nil, nil
	}
	v := generatedModels[name]()
	if err := decodeDoc(body, v.decode); err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case *tokenJSON:
		return newToken(v, body), nil
	case *Instance:
		v.Raw = body
	case *Initialization:
		v.Raw = body
	}
	return v, nil
}

func (r *vectorRun) checkOutput(i int, got vstep, wantRaw json.RawMessage) error {
	var want struct {
		Type   string                     `json:"type"`
		Fields map[string]json.RawMessage `json:"fields"`
		JSON   json.RawMessage            `json:"json"`
	}
	if err := json.Unmarshal(wantRaw, &want); err != nil {
		return r.fail(i, "output: %v", err)
	}
	typ, body, ok := splitRecord(got.rec)
	if !ok {
		return r.fail(i, "a record of %d bytes", len(got.rec))
	}
	if typ != want.Type {
		return r.fail(i, "output type %q, want %q", typ, want.Type)
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return r.fail(i, "the %s document is not JSON: %v", typ, err)
	}
	typed, err := decodeTyped(typ, body)
	if err != nil {
		return r.fail(i, "the %s document does not decode into the package's model: %v", typ, err)
	}
	if tok, ok := typed.(*Token); ok {
		if tok.Value() == "" || tok.Value() != lookup(doc, "access_token") {
			return r.fail(i, "the token's value differs from the document's")
		}
		for _, shown := range []string{tok.String(), fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %s", *tok, tok, *tok, *tok)} {
			if strings.Contains(shown, tok.Value()) {
				return r.fail(i, "the token shows in %q", redact(shown))
			}
		}
	}
	if want.JSON != nil {
		var expected any
		if err := json.Unmarshal(want.JSON, &expected); err != nil {
			return r.fail(i, "json: %v", err)
		}
		if !reflect.DeepEqual(doc, expected) {
			return r.fail(i, "document %.300s, want %.300s", redact(string(body)), redact(string(want.JSON)))
		}
	}
	paths := make([]string, 0, len(want.Fields))
	for path := range want.Fields {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		var expected any
		if err := json.Unmarshal(want.Fields[path], &expected); err != nil {
			return r.fail(i, "field %s: %v", path, err)
		}
		value := lookup(doc, path)
		if value == vectorMissing {
			value = nil
		}
		if !reflect.DeepEqual(value, expected) {
			return r.fail(i, "field %s: %s != %s", path, redact(fmt.Sprintf("%#v", value)), redact(string(want.Fields[path])))
		}
	}
	return nil
}

func (r *vectorRun) checkError(i int, err error, wantRaw json.RawMessage) error {
	var want struct {
		Kind    string  `json:"kind"`
		Status  *int    `json:"status"`
		Code    *string `json:"code"`
		Trace   *string `json:"trace"`
		Message *string `json:"message"`
		Cause   *string `json:"cause"`
	}
	if err := json.Unmarshal(wantRaw, &want); err != nil {
		return r.fail(i, "error: %v", err)
	}
	e, ok := err.(*Error)
	if !ok {
		return r.fail(i, "%v is not an *imds.Error", err)
	}
	if string(e.Kind) != want.Kind {
		return r.fail(i, "kind %s (%v), want %s", e.Kind, redact(e.Error()), want.Kind)
	}
	if !e.Is(Kind(want.Kind)) {
		return r.fail(i, "errors.Is(err, %s) is false", want.Kind)
	}
	record, _ := json.Marshal(e)
	if strings.Contains(e.Error(), "eyJ") || bytes.Contains(record, []byte("eyJ")) {
		return r.fail(i, "the error leaks a token: %s", redact(string(record)))
	}
	if want.Status != nil && e.Status != *want.Status {
		return r.fail(i, "status %d, want %d", e.Status, *want.Status)
	}
	// The vectors' "absent" is an empty string, as the package's.
	for _, f := range []struct {
		name       string
		got, wantp *string
	}{{"code", &e.Code, want.Code}, {"trace", &e.Trace, want.Trace}, {"message", &e.APIMessage, want.Message}} {
		if f.wantp != nil && *f.got != *f.wantp {
			return r.fail(i, "%s %q, want %q", f.name, *f.got, *f.wantp)
		}
	}
	if want.Cause != nil && e.Cause != *want.Cause {
		return r.fail(i, "cause %q, want %q", e.Cause, *want.Cause)
	}
	return nil
}

func runMerge(c *namedCase) error {
	m, err := newMachine(nil, 1)
	if err != nil {
		return err
	}
	defer m.close()
	merged, err := mergePages(m, c.Merge)
	var text string
	if json.Unmarshal(c.Expect, &text) == nil {
		if err != nil {
			return fmt.Errorf("%s: %v", c.Name, err)
		}
		if string(merged) != text {
			return fmt.Errorf("%s: merged %s, want %s", c.Name, merged, text)
		}
		return nil
	}
	var want struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(c.Expect, &want) != nil || want.Error == "" {
		return fmt.Errorf("%s: unknown expectation %s", c.Name, c.Expect)
	}
	e, ok := err.(*Error)
	if !ok || string(e.Kind) != want.Error {
		return fmt.Errorf("%s: merged %s (%v), want %s", c.Name, merged, err, want.Error)
	}
	return nil
}

// runUserData checks UserDataParts and IsMultipart against a user-data case.
func runUserData(c *namedCase) error {
	var want struct {
		Parts []struct {
			ContentType *string `json:"content_type"`
			Filename    *string `json:"filename"`
			Charset     *string `json:"charset"`
			Payload     []byte  `json:"payload"`
		} `json:"parts"`
		Error     string `json:"error"`
		Multipart bool   `json:"multipart"`
	}
	if err := json.Unmarshal(c.Expect, &want); err != nil {
		return fmt.Errorf("%s: %v", c.Name, err)
	}
	if got := IsMultipart(c.UserData); got != want.Multipart {
		return fmt.Errorf("%s: IsMultipart %v, want %v", c.Name, got, want.Multipart)
	}
	parts, err := UserDataParts(c.UserData)
	if want.Error != "" {
		if e, ok := err.(*Error); !ok || e.Kind != KindBadResponse || e.Message != want.Error {
			return fmt.Errorf("%s: %v, want a bad response %q", c.Name, err, want.Error)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %v", c.Name, err)
	}
	if len(parts) != len(want.Parts) {
		return fmt.Errorf("%s: %d parts, want %d", c.Name, len(parts), len(want.Parts))
	}
	text := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	for i, w := range want.Parts {
		p := parts[i]
		if p.ContentType != text(w.ContentType) || p.Filename != text(w.Filename) || p.Charset != text(w.Charset) || !bytes.Equal(p.Payload, w.Payload) {
			return fmt.Errorf("%s: part %d is %q %q %q %q, want %v", c.Name, i, p.ContentType, p.Filename, p.Charset, p.Payload, w)
		}
	}
	return nil
}

func TestVectors(t *testing.T) {
	cases := loadVectors(t)
	names := map[string]bool{}
	for _, c := range cases {
		names[c.Name] = true
	}
	for name := range vectorExceptions {
		if !names[name] {
			t.Errorf("vectorExceptions names an unknown case %q", name)
		}
	}
	var sessions, runs, merges, userData, excepted int
	for i := range cases {
		c := &cases[i]
		t.Run(c.file+"/"+c.Name, func(t *testing.T) {
			var err error
			if c.UserData != nil {
				err = runUserData(c)
			} else if c.Merge != nil {
				err = runMerge(c)
			} else {
				chunks := []int{0}
				for _, step := range c.Steps {
					var resp map[string]json.RawMessage
					if json.Unmarshal(step["respond"], &resp) == nil && resp["raw"] != nil {
						chunks = []int{0, 1, 7}
						break
					}
				}
				for _, chunk := range chunks {
					if err = (&vectorRun{c: c, chunk: chunk}).run(); err != nil {
						break
					}
					if _, ok := vectorExceptions[c.Name]; !ok {
						runs++
					}
				}
			}
			if why, ok := vectorExceptions[c.Name]; ok {
				if err == nil {
					t.Fatalf("listed in vectorExceptions (%s) but passes: remove the entry", why)
				}
				excepted++
				t.Logf("not run by this host: %s (%v)", why, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.UserData != nil:
				userData++
			case c.Merge != nil:
				merges++
			default:
				sessions++
			}
		})
	}
	t.Logf("vectors: %d session cases (%d runs with chunkings), %d merge and %d user-data cases passed through the wasm machine; %d listed as not run by this host",
		sessions, runs, merges, userData, excepted)
	if !t.Failed() && (sessions+excepted < 100 || merges < 5 || userData < 10 || sessions+merges+userData+excepted != len(cases)) {
		t.Errorf("too few vectors: %d + %d + %d of %d", sessions, merges, userData, len(cases))
	}
}
