'use strict';
// Transports: move a request's bytes and feed back what came of it. No protocol
// decision is made here: the machine says what to send, on which connection, when
// to give up, which connections to close, and what every answer means.

const net = require('node:net');
const { invalidInput } = require('./errors.js');

const READ = 1;
const EMPTY = Buffer.alloc(0);

/** The transport failure a socket error stands for. */
function errorName(err, connected, secure) {
  const code = err && err.code;
  if (!connected) {
    switch (code) {
      case 'ECONNREFUSED':
        return 'refused';
      case 'ETIMEDOUT':
        return 'connect_timeout';
      case 'ECONNRESET':
      case 'ECONNABORTED':
      case 'EPIPE':
        return 'connection_lost';
      default:
        // A TLS handshake failure (bad certificate, wrong name, protocol).
        if (secure && (typeof code !== 'string' || !code.startsWith('E') || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL'))) {
          return 'tls';
        }
        // EHOSTUNREACH, ENETUNREACH, ENOTFOUND, EACCES: not reachable by this route.
        return 'unreachable';
    }
  }
  if (secure && typeof code === 'string' && (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'))) return 'tls';
  return 'connection_lost';
}

/**
 * The built-in transport: the machine's HTTP/1.1 bytes over node:net (node:tls for
 * https), on the connections the machine names (it decides which are kept, reused
 * and closed), never a proxy.
 */
class SocketTransport {
  constructor(m, options) {
    this.host = m.host;
    this.port = m.port;
    this.secure = m.secure;
    this.tls = null;
    if (this.secure) {
      this.tlsOptions = { host: this.host, port: this.port, ALPNProtocols: ['http/1.1'], ca: options.ca };
      if (!net.isIP(this.host)) this.tlsOptions.servername = this.host;
    }
    /** Connection id -> { socket, handler, connected }. */
    this.conns = new Map();
  }

  /** Closes connection `id`, or every idle one. */
  close(id) {
    for (const [key, conn] of this.conns) {
      if (id === undefined ? conn.handler === null : key === id) {
        this.conns.delete(key);
        conn.socket.destroy();
      }
    }
  }

  connect(id) {
    let socket;
    if (this.secure) {
      if (!this.tls) this.tls = require('node:tls');
      socket = this.tls.connect(this.tlsOptions);
    } else {
      socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    }
    const conn = { socket, handler: null, connected: false };
    this.conns.set(id, conn);
    socket.once(this.secure ? 'secureConnect' : 'connect', () => {
      conn.connected = true;
      if (conn.handler) conn.handler.connected();
    });
    socket.on('data', (chunk) => {
      if (conn.handler) conn.handler.data(chunk);
      else socket.destroy(); // bytes nobody asked for: the connection is not trusted
    });
    socket.on('end', () => conn.handler && conn.handler.end());
    socket.on('error', (err) => conn.handler && conn.handler.error(err));
    socket.on('close', () => {
      if (this.conns.get(id) === conn) this.conns.delete(id);
      if (conn.handler) conn.handler.end();
    });
    return conn;
  }

  /**
   * Sends the request of step `s` (operation `op` of machine `m`) and resolves with
   * the machine's next step once the answer (or failure) has been fed. Rejects
   * only when `signal` aborts (the caller cancels the operation).
   */
  exchange(m, op, s, signal, clock) {
    return new Promise((resolve, reject) => {
      if (signal && signal.aborted) return reject(signal.reason);
      const conn = s.fresh ? this.connect(s.conn) : this.conns.get(s.conn);
      // Closed while idle: as a close before any byte (the machine resends once).
      if (!conn || conn.socket.destroyed) return resolve(m.feed(op, clock(), EMPTY));
      let done = false;
      let timer = null;
      const end = () => {
        done = true;
        clearTimeout(timer);
        if (signal) signal.removeEventListener('abort', onAbort);
        conn.handler = null;
        conn.socket.unref();
      };
      const settle = (out) => {
        if (done) return;
        end();
        resolve(out);
      };
      const onAbort = () => {
        if (done) return;
        end();
        reject(signal.reason);
      };
      const fail = (name) => settle(m.fail(op, clock(), name));
      const answerBy = () => setTimeout(() => fail('response_timeout'), Math.max(s.until - clock(), 1));
      conn.handler = {
        connected() {
          clearTimeout(timer);
          timer = answerBy();
        },
        data(chunk) {
          const out = m.feed(op, clock(), chunk);
          if (out.kind !== READ) settle(out);
        },
        end() {
          if (done) return;
          const out = m.feed(op, clock(), EMPTY);
          settle(out.kind === READ ? m.fail(op, clock(), 'connection_lost') : out);
        },
        error: (err) => fail(errorName(err, conn.connected, this.secure)),
      };
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
      conn.socket.ref();
      timer = conn.connected ? answerBy() : setTimeout(() => fail('connect_timeout'), Math.max(s.connectTimeout, 1));
      conn.socket.write(s.wire);
    });
  }
}

/** The header value of `name` from a fetch `Headers`, a plain object or a Map. */
function header(headers, name) {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) {
      const v = headers[key];
      return Array.isArray(v) ? v[0] : v;
    }
  }
  return undefined;
}

const TRANSPORT_ERRORS = new Set(['refused', 'unreachable', 'connect_timeout', 'response_timeout', 'connection_lost', 'tls']);

/** The transport failure a custom transport's exception stands for. */
function thrownName(err, timedOut) {
  if (timedOut) return 'response_timeout';
  if (err && TRANSPORT_ERRORS.has(err.transport)) return err.transport;
  const code = (err && (err.code || (err.cause && err.cause.code))) || '';
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect_timeout';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'response_timeout';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
      return 'unreachable';
    default:
      if (typeof code === 'string' && (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT'))) return 'tls';
      return 'connection_lost';
  }
}

/**
 * Wraps a user's transport function: the machine's request as parts in, a whole
 * response out (see `Transport` in index.d.ts).
 */
class CustomTransport {
  constructor(fn) {
    if (typeof fn !== 'function') throw invalidInput('transport must be a function');
    this.fn = fn;
  }

  close() {}

  async exchange(m, op, s, signal, clock) {
    if (signal && signal.aborted) throw signal.reason;
    const req = s.request;
    const headers = {};
    for (const h of req.headers) headers[h.name] = h.value;
    const controller = new AbortController();
    let timedOut = false;
    let timer;
    let onAbort;
    // The exchange ends at its deadline or on abort even if the transport ignores its signal.
    const ended = new Promise((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
        reject(new Error('deadline'));
      }, Math.max(s.timeout, 1));
      onAbort = () => {
        controller.abort(signal.reason);
        reject(signal.reason);
      };
    });
    ended.catch(() => {});
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
    let res;
    try {
      res = await Promise.race([
        this.fn({
          method: req.method,
          url: req.url,
          headers,
          body: req.body ?? undefined,
          timeout: s.timeout,
          connectTimeout: s.connectTimeout,
          signal: controller.signal,
        }),
        ended,
      ]);
      if (!res || typeof res.status !== 'number') throw Object.assign(new Error('the transport gave no status'), { transport: 'connection_lost' });
    } catch (err) {
      if (signal && signal.aborted) throw signal.reason;
      return m.fail(op, clock(), thrownName(err, timedOut));
    } finally {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', onAbort);
    }
    const body = res.body;
    const bytes =
      body == null
        ? EMPTY
        : typeof body === 'string'
          ? Buffer.from(body, 'utf8')
          : body instanceof ArrayBuffer
            ? Buffer.from(body)
            : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return m.respond(op, clock(), res.status, header(res.headers, 'retry-after'), bytes);
  }
}

/**
 * A transport over `fetch` (Node's built-in undici by default, or yours). The
 * request is never redirected; Node's fetch does not use proxy variables.
 */
function fetchTransport(fetchImpl = globalThis.fetch) {
  if (typeof fetchImpl !== 'function') throw invalidInput('fetchTransport needs a fetch function');
  return async (req) => {
    const res = await fetchImpl(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      redirect: 'manual',
      signal: req.signal,
    });
    return { status: res.status, headers: res.headers, body: new Uint8Array(await res.arrayBuffer()) };
  };
}

module.exports = { SocketTransport, CustomTransport, fetchTransport };
