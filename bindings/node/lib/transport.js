'use strict';
// Transports: move a request's bytes and feed back what came of it. No protocol
// decision is made here: the driver says what to send, when to give up, whether
// a connection may be kept, and what every answer means.

const net = require('node:net');
const { invalidInput } = require('./errors.js');

const READ = 1;
const EMPTY = Buffer.alloc(0);
/** Most idle connections kept for reuse (one per concurrent call). */
const MAX_IDLE = 64;
/** An idle connection is closed after this long (servers close idle ones too). */
const IDLE_MS = 4000;

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
 * The built-in transport: the driver's HTTP/1.1 bytes over node:net (node:tls
 * for https), one kept-alive connection per concurrent call, never a proxy.
 */
class SocketTransport {
  constructor(config, options) {
    this.host = config.host;
    this.port = config.port;
    this.secure = config.secure;
    this.tls = null;
    if (this.secure) {
      this.tlsOptions = {
        host: this.host,
        port: this.port,
        ALPNProtocols: ['http/1.1'],
        ca: options.ca === undefined ? undefined : options.ca,
      };
      if (!net.isIP(this.host)) this.tlsOptions.servername = this.host;
    }
    this.idle = [];
  }

  /** Closes idle connections. */
  close() {
    for (const conn of this.idle) conn.socket.destroy();
    this.idle.length = 0;
  }

  connect() {
    let socket;
    if (this.secure) {
      if (!this.tls) this.tls = require('node:tls');
      socket = this.tls.connect(this.tlsOptions);
    } else {
      socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    }
    const conn = { socket, handler: null, connected: false, idleSince: 0 };
    const ready = this.secure ? 'secureConnect' : 'connect';
    socket.once(ready, () => {
      conn.connected = true;
      if (conn.handler) conn.handler.connected();
    });
    socket.on('data', (chunk) => {
      if (conn.handler) conn.handler.data(chunk);
      else socket.destroy(); // bytes nobody asked for: the connection is not trusted
    });
    socket.on('end', () => {
      if (conn.handler) conn.handler.end();
    });
    socket.on('error', (err) => {
      if (conn.handler) conn.handler.error(err);
    });
    socket.on('timeout', () => {
      if (!conn.handler) socket.destroy(); // idle too long
    });
    socket.on('close', () => {
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      if (conn.handler) conn.handler.end();
    });
    return conn;
  }

  takeIdle(now) {
    while (this.idle.length > 0) {
      const conn = this.idle.pop();
      if (!conn.socket.destroyed && now - conn.idleSince < IDLE_MS) {
        conn.socket.setTimeout(0);
        return conn;
      }
      conn.socket.destroy();
    }
    return null;
  }

  putIdle(conn, now) {
    if (this.idle.length >= MAX_IDLE || conn.socket.destroyed) {
      conn.socket.destroy();
      return;
    }
    conn.idleSince = now;
    conn.socket.setTimeout(IDLE_MS);
    conn.socket.unref();
    this.idle.push(conn);
  }

  /**
   * Sends the request of step `send` and resolves with the driver's next step
   * once its answer (or failure) has been fed. Rejects only when `signal` aborts.
   */
  exchange(clock, driver, send, signal) {
    return new Promise((resolve, reject) => {
      const id = send.id;
      const wire = send.wire;
      let conn = this.takeIdle(clock());
      let reused = conn !== null;
      let received = false;
      let done = false;
      let timer = null;

      const settle = (out, keep) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (signal) signal.removeEventListener('abort', onAbort);
        conn.handler = null;
        if (keep) this.putIdle(conn, clock());
        else conn.socket.destroy();
        resolve(out);
      };
      const fail = (name) => settle(driver.fail(clock(), id, name), false);
      const onAbort = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        conn.handler = null;
        conn.socket.destroy();
        reject(signal.reason);
      };

      const handler = {
        connected() {
          // Connected within the connect timeout: the rest of the request's time.
          clearTimeout(timer);
          timer = setTimeout(() => fail('response_timeout'), Math.max(send.timeout - (clock() - started), 1));
        },
        data(chunk) {
          if (done) return;
          received = true;
          const out = driver.feed(clock(), id, chunk);
          if (out.kind === READ) return;
          settle(out, out.keepAlive);
        },
        end() {
          if (done) return;
          if (!received && reused) return retry();
          // The peer closed: the reader decides whether the response is whole.
          const out = driver.feed(clock(), id, EMPTY);
          settle(out.kind === READ ? driver.fail(clock(), id, 'connection_lost') : out, false);
        },
        error(err) {
          if (done) return;
          if (!received && reused) return retry();
          fail(errorName(err, conn.connected, this.secure));
        },
        secure: this.secure,
      };

      const start = () => {
        conn.handler = handler;
        if (conn.connected) {
          conn.socket.ref();
          timer = setTimeout(() => fail('response_timeout'), Math.max(send.timeout, 1));
        } else {
          timer = setTimeout(() => fail('connect_timeout'), Math.max(send.connectTimeout, 1));
        }
        conn.socket.write(wire);
      };
      // A kept-alive connection found closed before any byte of the answer:
      // replaced once, and the request sent again (not a failure).
      const retry = () => {
        clearTimeout(timer);
        conn.handler = null;
        conn.socket.destroy();
        reused = false;
        conn = this.connect();
        start();
      };

      const started = clock();
      if (signal) {
        if (signal.aborted) {
          done = true;
          if (conn) this.putIdle(conn, started);
          reject(signal.reason);
          return;
        }
        signal.addEventListener('abort', onAbort, { once: true });
      }
      if (conn === null) conn = this.connect();
      start();
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
 * Wraps a user's transport function: the driver's request as parts in, a whole
 * response out (see `Transport` in index.d.ts).
 */
class CustomTransport {
  constructor(fn) {
    if (typeof fn !== 'function') throw invalidInput('transport must be a function');
    this.fn = fn;
  }

  close() {}

  async exchange(clock, driver, send, signal) {
    const req = driver.request();
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
      }, Math.max(req.timeout, 1));
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
          timeout: req.timeout,
          connectTimeout: req.connectTimeout,
          signal: controller.signal,
        }),
        ended,
      ]);
      if (!res || typeof res.status !== 'number') throw Object.assign(new Error('the transport gave no status'), { transport: 'connection_lost' });
    } catch (err) {
      if (signal && signal.aborted) throw signal.reason;
      return driver.fail(clock(), req.id, thrownName(err, timedOut));
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
    return driver.respond(clock(), req.id, res.status, header(res.headers, 'retry-after'), bytes);
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
