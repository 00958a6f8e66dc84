// The client machine as both npm packages present it, over either native machine
// (the napi addon's or the wasm module's: the same methods, arguments and steps):
// steps and errors become objects.

import { errorFrom } from './errors.js';
import { stepFrom } from './steps.js';

/** What the native machine gave or threw for a refusal: its error record (JSON text)
 * as the error class of its kind; anything else as it is. */
function thrown(e) {
  const text = typeof e === 'string' ? e : e?.message;
  return typeof text === 'string' && text.startsWith('{"kind"') ? errorFrom(JSON.parse(text)) : e;
}

function checked(f) {
  try {
    return f();
  } catch (e) {
    throw thrown(e);
  }
}

/** `args` (an operation's, or a machine's settings) read once here, as plain data by
 * their own enumerable keys: a getter or a Proxy that throws does so before the
 * native side is entered, and both packages read the same keys. */
function plain(args) {
  if (args === undefined || args === null) return undefined;
  if (typeof args !== 'object') return args; // the machine refuses it
  return Object.fromEntries(Object.keys(args).map((k) => [k, args[k]]));
}

/** A freed machine's stand-in: every use throws. */
const FREED = new Proxy({}, {
  get() {
    throw new Error('vpc-imds: this machine was freed');
  },
});

/** The client machine of one client (`native`: the backend's, made by `create`). A bad
 * setting or argument throws `InvalidInputError`. */
class Machine {
  #m;
  #wire;

  constructor(create) {
    const m = checked(create);
    if (typeof m === 'string') throw thrown(m);
    this.#m = m;
  }

  get endpoint() { return this.#m.endpoint; }
  get version() { return this.#m.version; }
  get maxResponseBytes() { return this.#m.maxResponseBytes; }
  get operations() { return this.#m.operations; }
  /** The endpoint's host, port and scheme, for a socket transport. */
  get host() { return this.#m.host; }
  get port() { return this.#m.port; }
  get secure() { return this.#m.secure; }

  /** Starts `op` with `args` by the description's names (the machine reads every key). */
  start(op, now, args) {
    const id = checked(() => this.#m.start(op, now, plain(args)));
    if (typeof id !== 'number') throw thrown(id);
    return id;
  }

  step(op, now) { return this.#step(this.#m.step(op, now)); }
  feed(op, data, now) { return this.#step(this.#m.feed(op, data, now)); }
  respond(op, status, retryAfter, body, now, te) { return this.#step(this.#m.respond(op, status, retryAfter, body, now, te)); }
  fail(op, name, now) { return this.#step(this.#m.fail(op, name, now)); }
  cancel(op) { return this.#m.cancel(op) ?? undefined; }
  closeIdle() { return this.#m.closeIdle(); }
  woken() { return this.#m.woken(); }

  #step(text) {
    const step = stepFrom(text, this.#m);
    this.#wire = step.wire; // until the next step: it holds the token
    return step;
  }

  /** After a SEND step: its HTTP/1.1 bytes, once (they hold the token); else empty. */
  takeBytes() {
    const wire = this.#wire ?? new Uint8Array(0);
    this.#wire = undefined;
    return wire;
  }

  /** Frees the native machine now (WebAssembly memory; else it goes with this object).
   * Any later use throws here, before the module is entered (a wasm-bindgen error
   * thrown from inside the module leaves some of its stack behind). */
  free() {
    if (this.#m === FREED) return;
    this.#wire = undefined;
    const m = this.#m;
    this.#m = FREED;
    m.free?.();
  }
}

export { Machine, checked, plain };
