// The socket transport of both npm packages under Node (node:net, node:tls): moves a
// request's bytes and feeds back what came of it. No protocol decision is made here:
// the machine says what to send, on which connection, when to give up, which
// connections to close, and what every answer means.

import { setMaxListeners } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { onAbort } from './abort.js';

const READ = 1;
const EMPTY = Buffer.alloc(0);

/** The transport failure a socket error stands for: node's TLS errors here, an errno by
 * the core's table (`failure`, the backend's `transportFailure`). */
function errorName(failure, err, connected, secure) {
  const code = typeof err?.code === 'string' ? err.code : '';
  if (secure && (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL'))) return 'tls';
  // OpenSSL's verdicts during the handshake (CERT_HAS_EXPIRED, ...): not errno names.
  if (secure && !connected && !code.startsWith('E')) return 'tls';
  return failure(code, connected);
}

/**
 * The built-in transport: the machine's HTTP/1.1 bytes over node:net (node:tls for
 * https), on the connections the machine names (it decides which are kept, reused
 * and closed), never a proxy.
 */
class SocketTransport {
  /** `options`: `ca`, and `failure(code, connected)`, the core's errno table. */
  constructor(m, options, clock) {
    this.m = m;
    this.clock = clock;
    this.failure = options.failure;
    this.host = m.host;
    this.port = m.port;
    this.secure = m.secure;
    if (this.secure) {
      this.tlsOptions = { host: this.host, port: this.port, ALPNProtocols: ['http/1.1'], ca: options.ca };
      if (!net.isIP(this.host)) this.tlsOptions.servername = this.host;
    }
    /** Connection id -> { socket, handler, connected }. */
    this.conns = new Map();
  }

  /** Lets any number of listeners wait on `signal`, one of the client's own (Node
   * warns past ten by default). */
  static quiet(signal) {
    try {
      setMaxListeners(0, signal);
    } catch {
      // a host whose node:events takes no AbortSignal here: no limit to lift
    }
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
      socket = tls.connect(this.tlsOptions);
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
   * Sends the request of step `s` (operation `op`) and resolves with the machine's
   * next step once the answer (or failure) has been fed. Rejects only when `signal`
   * aborts (the caller cancels the operation).
   */
  exchange(op, s, signal) {
    const { m, clock } = this;
    return new Promise((resolve, reject) => {
      if (signal && signal.aborted) return reject(signal.reason);
      const conn = s.fresh ? this.connect(s.conn) : this.conns.get(s.conn);
      // Closed while idle: as a close before any byte (the machine resends once).
      if (!conn || conn.socket.destroyed) return resolve(m.feed(op, EMPTY, clock()));
      let done = false;
      let timer = null;
      let off;
      const end = () => {
        done = true;
        clearTimeout(timer);
        off?.();
        conn.handler = null;
        conn.socket.unref();
      };
      const settle = (out) => {
        if (done) return;
        end();
        resolve(out);
      };
      const aborted = () => {
        if (done) return;
        end();
        reject(signal.reason);
      };
      const fail = (name) => settle(m.fail(op, name, clock()));
      const answerBy = () => setTimeout(() => fail('response_timeout'), Math.max(s.until - clock(), 1));
      conn.handler = {
        connected() {
          clearTimeout(timer);
          timer = answerBy();
        },
        data(chunk) {
          const out = m.feed(op, chunk, clock());
          if (out.kind !== READ) settle(out);
        },
        end() {
          if (done) return;
          const out = m.feed(op, EMPTY, clock());
          settle(out.kind === READ ? m.fail(op, 'connection_lost', clock()) : out);
        },
        error: (err) => fail(errorName(this.failure, err, conn.connected, this.secure)),
      };
      if (signal) off = onAbort(signal, aborted);
      conn.socket.ref();
      // A connect ends by the request's deadline too (a resend keeps the first
      // attempt's connect timeout, whatever is left of the deadline).
      const connectBy = Math.max(Math.min(s.connectTimeout, s.until - clock()), 1);
      timer = conn.connected ? answerBy() : setTimeout(() => fail('connect_timeout'), connectBy);
      conn.socket.write(s.wire);
    });
  }
}

export { SocketTransport };
