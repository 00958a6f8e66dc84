package imds

import (
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// The vpc-imds-c crate built for wasm32-unknown-unknown by build-wasm.sh.
//
//go:embed vpc_imds.wasm
var wasmModule []byte

// CacheEnv names the environment variable that places wazero's compilation cache:
// a directory, or "off" for none. Unset: os.UserCacheDir()/vpc-imds-go/wazero.
const CacheEnv = "VPC_IMDS_WAZERO_CACHE"

// Step codes and input kinds of the ABI (bindings/c/include/vpc_imds.h).
const (
	stepMisuse     = -1
	stepSend       = 1
	stepRead       = 2
	stepClose      = 3
	stepBackoff    = 4
	stepAwaitToken = 5
	stepPage       = 6
	stepDone       = 7
	stepFailed     = 8

	inputTick   = 0
	inputBytes  = 1
	inputFailed = 2

	sendHeader = 32
	inputCap   = 64 * 1024
)

// engine is the compiled module, shared by every client of the process.
type engine struct {
	runtime  wazero.Runtime
	compiled wazero.CompiledModule
}

var (
	engineOnce sync.Once
	sharedEng  *engine
	engineErr  error
	// compileNanos: the engine's compile time, for CompileTime (which may run
	// beside the first New).
	compileNanos atomic.Int64
)

func loadEngine() (*engine, error) {
	engineOnce.Do(func() {
		ctx := context.Background()
		started := time.Now()
		rt, compiled, err := compileCached(ctx, cacheDir())
		if err != nil {
			engineErr = fmt.Errorf("vpc-imds: compiling the embedded module: %w", err)
			return
		}
		compileNanos.Store(int64(time.Since(started)))
		sharedEng = &engine{runtime: rt, compiled: compiled}
	})
	return sharedEng, engineErr
}

// compileCached compiles with the cache in dir, else without one: a cache that
// cannot be written or read (a full disk, a corrupt file) costs the cache, not the
// package.
func compileCached(ctx context.Context, dir string) (wazero.Runtime, wazero.CompiledModule, error) {
	rt, compiled, err := compile(ctx, dir)
	if err != nil && dir != "" {
		return compile(ctx, "")
	}
	return rt, compiled, err
}

// compile compiles the embedded module in a new runtime, with the compilation cache
// in dir (none if empty); on failure the runtime is closed.
func compile(ctx context.Context, dir string) (wazero.Runtime, wazero.CompiledModule, error) {
	config := wazero.NewRuntimeConfig()
	if dir != "" {
		if cache, err := wazero.NewCompilationCacheWithDir(dir); err == nil {
			config = config.WithCompilationCache(cache)
		}
	}
	rt := wazero.NewRuntimeWithConfig(ctx, config)
	compiled, err := rt.CompileModule(ctx, wasmModule)
	if err != nil {
		_ = rt.Close(ctx)
		return nil, nil, err
	}
	return rt, compiled, nil
}

func cacheDir() string {
	switch v := os.Getenv(CacheEnv); v {
	case "off":
		return ""
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		return filepath.Join(base, "vpc-imds-go", "wazero")
	default:
		return v
	}
}

// CompileTime reports how long the process spent compiling the embedded module
// (once, on the first New; with a warm compilation cache, loading it).
func CompileTime() time.Duration {
	return time.Duration(compileNanos.Load())
}

// machine is one module instance holding one driver machine. Not locked: the
// Client holds its mutex around every call.
type machine struct {
	mod api.Module
	mem api.Memory
	// sp: the guest's stack pointer, and its value when no call runs: the stack
	// spans [0, stackTop) below the data (nil when the module is laid out otherwise).
	sp       api.Global
	stackTop uint32
	handle   uint64
	// broken: a call failed (a trap); the instance is not reused.
	broken bool
	// Guest buffers: the input area and the output length.
	input, lenPtr uint64
	stack         []uint64
	fnNew, fnFree, fnOutput, fnStart, fnStep, fnPoll, fnCancel, fnExpire, fnEndpoint,
	fnAlloc, fnDealloc api.Function
}

var errMemory = errors.New("vpc-imds: guest memory out of range")

// zeroes clears a kept instance's input area and stack.
var zeroes [inputCap]byte

// Module instances of closed clients, kept for the next New: instantiating
// costs about a millisecond, and the first operation grows the guest memory
// (the response buffer) by copying all of it. A kept instance holds no machine
// and no token: the guest's allocator zeroes what it frees, and close zeroes the
// input area and the stack (wipe); its heap is reused by the next machine.
var (
	idleMu       sync.Mutex
	idleMachines []*machine
)

const (
	maxIdleMachines = 4
	// An instance whose memory grew past this (a large document) is not kept.
	maxIdleMemory = 8 << 20
)

func newMachine(settings []byte, seed uint64) (*machine, error) {
	idleMu.Lock()
	var m *machine
	if n := len(idleMachines); n > 0 {
		m, idleMachines = idleMachines[n-1], idleMachines[:n-1]
	}
	idleMu.Unlock()
	if m == nil {
		var err error
		if m, err = instantiate(); err != nil {
			return nil, err
		}
	}
	if err := m.create(settings, seed); err != nil {
		m.close()
		return nil, err
	}
	return m, nil
}

// instantiate makes a module instance with its input and length buffers.
func instantiate() (*machine, error) {
	eng, err := loadEngine()
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	mod, err := eng.runtime.InstantiateModule(ctx, eng.compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return nil, fmt.Errorf("vpc-imds: instantiating the module: %w", err)
	}
	m := &machine{mod: mod, mem: mod.Memory(), stack: make([]uint64, 8)}
	// The linker's stack-first layout (rustc's for wasm32): the stack below the data.
	if sp, end := mod.ExportedGlobal("__stack_pointer"), mod.ExportedGlobal("__data_end"); sp != nil && end != nil && sp.Get() <= end.Get() {
		m.sp, m.stackTop = sp, uint32(sp.Get())
	}
	for name, fn := range map[string]*api.Function{
		"vpc_imds_new": &m.fnNew, "vpc_imds_free": &m.fnFree, "vpc_imds_output": &m.fnOutput,
		"vpc_imds_start": &m.fnStart, "vpc_imds_step": &m.fnStep, "vpc_imds_poll_woken": &m.fnPoll,
		"vpc_imds_cancel": &m.fnCancel, "vpc_imds_expire_idle": &m.fnExpire,
		"vpc_imds_endpoint": &m.fnEndpoint, "vpc_imds_alloc": &m.fnAlloc, "vpc_imds_dealloc": &m.fnDealloc,
	} {
		if *fn = mod.ExportedFunction(name); *fn == nil {
			_ = mod.Close(ctx)
			return nil, fmt.Errorf("vpc-imds: the module lacks %s", name)
		}
	}
	if m.input, err = m.alloc(inputCap); err == nil {
		m.lenPtr, err = m.alloc(8)
	}
	if err != nil {
		_ = mod.Close(ctx)
		return nil, err
	}
	return m, nil
}

// alloc reserves size bytes of guest memory; the guest's null (out of memory) is
// an error, not an address to write at.
func (m *machine) alloc(size uint64) (uint64, error) {
	p, err := m.call1(m.fnAlloc, size)
	if err == nil && uint32(p) == 0 {
		m.broken = true
		err = errors.New("vpc-imds: the module is out of memory")
	}
	return p, err
}

// create makes the instance's machine from the settings.
func (m *machine) create(settings []byte, seed uint64) error {
	in, err := m.put(settings)
	if err != nil {
		return err
	}
	errCap := uint64(1024)
	errBuf, err := m.alloc(errCap)
	if err != nil {
		return err
	}
	h, err := m.call(m.fnNew, in, uint64(len(settings)), seed, errBuf, errCap, m.lenPtr)
	if err != nil {
		return err
	}
	if uint32(h) == 0 {
		n, _ := m.mem.ReadUint32Le(uint32(m.lenPtr))
		raw, _ := m.mem.Read(uint32(errBuf), min(n, uint32(errCap)))
		e := errorFrom(raw)
		_, _ = m.call(m.fnDealloc, errBuf, errCap)
		return e
	}
	_, _ = m.call(m.fnDealloc, errBuf, errCap)
	m.handle = h
	return nil
}

func (m *machine) call(fn api.Function, params ...uint64) (uint64, error) {
	copy(m.stack, params)
	if err := fn.CallWithStack(context.Background(), m.stack); err != nil {
		m.broken = true
		return 0, fmt.Errorf("vpc-imds: module call: %w", err)
	}
	return m.stack[0], nil
}

func (m *machine) call1(fn api.Function, p uint64) (uint64, error) { return m.call(fn, p) }

// put copies b into the guest's input area.
func (m *machine) put(b []byte) (uint64, error) {
	if len(b) > inputCap {
		return 0, &Error{Kind: KindInvalidInput, Message: "an input larger than 64 KiB", Cause: "input"}
	}
	if len(b) > 0 && !m.mem.Write(uint32(m.input), b) {
		return 0, errMemory
	}
	return m.input, nil
}

// output returns the machine's output buffer (a view of guest memory, valid
// until the next call).
func (m *machine) output() ([]byte, error) {
	p, err := m.call(m.fnOutput, m.handle, m.lenPtr)
	if err != nil {
		return nil, err
	}
	n, ok := m.mem.ReadUint32Le(uint32(m.lenPtr))
	if !ok {
		return nil, errMemory
	}
	if n == 0 {
		return nil, nil
	}
	b, ok := m.mem.Read(uint32(p), n)
	if !ok {
		return nil, errMemory
	}
	return b, nil
}

// start begins an operation; on failure the error record is returned.
func (m *machine) start(name string, args []byte, now uint64) (uint64, error) {
	if len(name)+len(args) > inputCap {
		return 0, &Error{Kind: KindInvalidInput, Message: "an input larger than 64 KiB", Cause: "input"}
	}
	at := m.input
	if !m.mem.WriteString(uint32(at), name) || !m.mem.Write(uint32(at)+uint32(len(name)), args) {
		return 0, errMemory
	}
	r, err := m.call(m.fnStart, m.handle, at, uint64(len(name)), at+uint64(len(name)), uint64(len(args)), now)
	if err != nil {
		return 0, err
	}
	if int64(r) < 0 {
		out, err := m.output()
		if err != nil {
			return 0, err
		}
		return 0, errorFrom(out)
	}
	return r, nil
}

// step feeds an input and returns the step code and its record (a view).
func (m *machine) step(op, now uint64, kind int, b []byte) (int, []byte, error) {
	at, err := m.put(b)
	if err != nil {
		return 0, nil, err
	}
	r, err := m.call(m.fnStep, m.handle, op, now, uint64(kind), at, uint64(len(b)))
	if err != nil {
		return 0, nil, err
	}
	out, err := m.output()
	return int(int32(uint32(r))), out, err
}

func (m *machine) pollWoken() int64 {
	r, err := m.call(m.fnPoll, m.handle)
	if err != nil {
		return -1
	}
	return int64(r)
}

func (m *machine) cancel(op uint64) int64 {
	r, err := m.call(m.fnCancel, m.handle, op)
	if err != nil {
		return -1
	}
	return int64(r)
}

func (m *machine) expireIdle(now uint64) []uint64 {
	n, err := m.call(m.fnExpire, m.handle, now)
	if err != nil || uint32(n) == 0 {
		return nil
	}
	out, err := m.output()
	if err != nil {
		return nil
	}
	ids := make([]uint64, 0, len(out)/8)
	for i := 0; i+8 <= len(out); i += 8 {
		ids = append(ids, binary.LittleEndian.Uint64(out[i:]))
	}
	return ids
}

func (m *machine) endpoint() (string, error) {
	if _, err := m.call(m.fnEndpoint, m.handle); err != nil {
		return "", err
	}
	out, err := m.output()
	return string(out), err
}

// wipe zeroes what a freed machine left in guest memory outside the heap (whose
// freed blocks the guest's allocator zeroed): the input area, which held what was
// fed to the machine (token responses among them), and the stack (no call runs: all
// of it is stale frames; 1 MiB: New and Close 4.3 → 19.8 µs). False: not kept.
func (m *machine) wipe() bool {
	if m.sp == nil || uint32(m.sp.Get()) != m.stackTop || !m.mem.Write(uint32(m.input), zeroes[:inputCap]) {
		return false
	}
	for at := uint32(0); at < m.stackTop; at += uint32(len(zeroes)) {
		if !m.mem.Write(at, zeroes[:min(uint32(len(zeroes)), m.stackTop-at)]) {
			return false
		}
	}
	return true
}

// idleRoom reports whether the idle pool has room for one more instance.
func idleRoom() bool {
	idleMu.Lock()
	defer idleMu.Unlock()
	return len(idleMachines) < maxIdleMachines
}

// close frees the machine and keeps the instance for the next New, or closes it.
func (m *machine) close() {
	if m.handle != 0 {
		_, _ = m.call(m.fnFree, m.handle)
		m.handle = 0
	}
	if !m.broken && m.mem.Size() <= maxIdleMemory && idleRoom() && m.wipe() {
		idleMu.Lock()
		if len(idleMachines) < maxIdleMachines {
			idleMachines = append(idleMachines, m)
			idleMu.Unlock()
			return
		}
		idleMu.Unlock()
	}
	_ = m.mod.Close(context.Background())
}
