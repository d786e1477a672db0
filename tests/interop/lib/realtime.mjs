// Realtime helpers: ably-js Realtime clients pointed at a local rtauthd (tracked so every test
// closes them), recorders of connection/channel state changes and messages with bounded waits,
// a raw WebSocket peer for wire-level checks, and a local authUrl server.
import assert from 'node:assert/strict';
import http from 'node:http';
import { it as nodeIt } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import WebSocket from 'ws';

import { Ably, msgpack } from './helpers.mjs';

const ABLY_LOG_LEVEL = Number(process.env.RTA_ABLY_LOG_LEVEL ?? 0);

export const ACTION = {
  HEARTBEAT: 0,
  ACK: 1,
  NACK: 2,
  CONNECTED: 4,
  DISCONNECT: 5,
  DISCONNECTED: 6,
  CLOSE: 7,
  CLOSED: 8,
  ERROR: 9,
  ATTACH: 10,
  ATTACHED: 11,
  DETACH: 12,
  DETACHED: 13,
  PRESENCE: 14,
  MESSAGE: 15,
  AUTH: 17,
};
export const MODE = { PRESENCE: 1 << 16, PUBLISH: 1 << 17, SUBSCRIBE: 1 << 18, PRESENCE_SUBSCRIBE: 1 << 19 };

/**
 * `it` with a per-test deadline: ably-js's authorize() and publish() have no timeout of their
 * own (they wait for CONNECTED / ACK), so every realtime test is bounded as a whole as well.
 */
export function boundedIt(defaultMs = 30000) {
  return (name, optsOrFn, maybeFn) => {
    const [opts, fn] = typeof optsOrFn === 'function' ? [{}, optsOrFn] : [optsOrFn, maybeFn];
    return nodeIt(name, { timeout: defaultMs, ...opts }, fn);
  };
}

/**
 * Something that waits: resolves with the first recorded item (from index `from`) matching
 * `pred`, or rejects after `ms`.
 */
class Recorder {
  constructor(what) {
    this.what = what;
    this.items = [];
    this.waiters = new Set();
  }

  push(item) {
    this.items.push(item);
    for (const w of [...this.waiters]) w();
  }

  find(pred, from = 0) {
    for (let i = from; i < this.items.length; i++) if (pred(this.items[i])) return this.items[i];
    return undefined;
  }

  waitFor(pred, ms, what = 'event', from = 0) {
    const hit = this.find(pred, from);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      let timer;
      const check = () => {
        const h = this.find(pred, from);
        if (h) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(h);
        }
      };
      timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${this.what}: ${what} not seen within ${ms} ms; seen: ${this.describe()}`));
      }, ms);
      this.waiters.add(check);
    });
  }

  describe() {
    return JSON.stringify(this.items.map((i) => i.summary ?? i));
  }
}

const reasonOf = (r) => (r ? { code: r.code, statusCode: r.statusCode, message: r.message } : null);

/**
 * Records every connection state change (and `update`) with its time. ably-js 2.28 does not
 * put `event` on the ConnectionStateChange object; its EventEmitter passes it as `this.event`
 * (src/common/lib/util/eventemitter.ts callListener), so listeners here are functions.
 */
export function recordConnection(rt, what = 'connection') {
  const rec = new Recorder(what);
  rt.connection.on(function (sc) {
    const event = sc.event ?? this.event;
    rec.push({
      event,
      current: sc.current,
      previous: sc.previous,
      reason: sc.reason,
      retryIn: sc.retryIn,
      at: Date.now(),
      summary: `${event}:${sc.previous}->${sc.current}${sc.reason ? `(${sc.reason.code})` : ''}`,
    });
  });
  return rec;
}

/** Records every channel state change with its time. */
export function recordChannel(channel, what = `channel ${channel.name}`) {
  const rec = new Recorder(what);
  channel.on(function (sc) {
    const event = sc.event ?? this.event;
    rec.push({
      event,
      current: sc.current,
      previous: sc.previous,
      reason: sc.reason,
      resumed: sc.resumed,
      at: Date.now(),
      summary: `${event}:${sc.previous}->${sc.current}${sc.reason ? `(${sc.reason.code})` : ''}`,
    });
  });
  return rec;
}

/** Subscribes and records every message delivered on `channel`. */
export async function recordMessages(channel, what = `messages on ${channel.name}`) {
  const rec = new Recorder(what);
  await channel.subscribe((m) => {
    rec.push(m);
  });
  return rec;
}

/**
 * A set of clients (and other closeables) owned by one test; `closeAll()` in afterEach closes
 * them all with a bounded wait.
 */
export class Clients {
  constructor(server, binary) {
    this.server = server;
    this.binary = binary;
    this.realtimes = [];
    this.closers = [];
  }

  /** An ably-js Realtime client: only endpoint/port/tls (+ format) are special. */
  realtime(opts = {}) {
    const rt = new Ably.Realtime({
      endpoint: '127.0.0.1',
      port: this.server.port,
      tls: false,
      useBinaryProtocol: this.binary,
      logLevel: ABLY_LOG_LEVEL,
      ...opts,
    });
    this.realtimes.push(rt);
    return rt;
  }

  /** A Realtime client plus a recorder started before it can change state. */
  recorded(opts = {}, what = 'connection') {
    const rt = this.realtime(opts);
    return { rt, conn: recordConnection(rt, what) };
  }

  onClose(fn) {
    this.closers.push(fn);
  }

  async closeAll() {
    const rts = this.realtimes.splice(0);
    await Promise.all(rts.map((rt) => closeRealtime(rt)));
    for (const fn of this.closers.splice(0).reverse()) await fn();
  }
}

/** Closes a Realtime client and waits (bounded) for a terminal state. */
export async function closeRealtime(rt, ms = 5000) {
  const state = rt.connection.state;
  if (state === 'closed' || state === 'failed') {
    try {
      rt.close();
    } catch {}
    return;
  }
  const done = new Promise((resolve) => {
    const l = (sc) => {
      if (sc.current === 'closed' || sc.current === 'failed') {
        rt.connection.off(l);
        resolve();
      }
    };
    rt.connection.on(l);
  });
  try {
    rt.close();
  } catch {}
  let timer;
  await Promise.race([done, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** Waits for the connection to reach `state` (now or later), bounded. */
export async function waitConnection(rt, state, ms = 10000) {
  if (rt.connection.state === state) return null;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      rt.connection.off(l);
      reject(
        new Error(
          `connection did not reach ${state} within ${ms} ms (state ${rt.connection.state}, reason ${JSON.stringify(
            reasonOf(rt.connection.errorReason),
          )})`,
        ),
      );
    }, ms);
    const l = (sc) => {
      if (sc.current === state) {
        clearTimeout(timer);
        rt.connection.off(l);
        resolve(sc);
      }
    };
    rt.connection.on(l);
  });
}

/** Asserts an ErrorInfo's code and statusCode, with a readable message. */
export function assertReason(reason, { code, statusCode }, what = 'reason') {
  const desc = `${what}: ${JSON.stringify(reasonOf(reason))}`;
  assert.ok(reason, desc);
  if (code !== undefined) assert.equal(reason.code, code, desc);
  if (statusCode !== undefined) assert.equal(reason.statusCode, statusCode, desc);
}

/** An authCallback that gets tokens from `rest` (a key client) and counts its calls. */
export function tokenCallback(rest, { override = {}, params: paramsOf, tokens } = {}) {
  const cb = (tokenParams, callback) => {
    cb.calls.push({ tokenParams: { ...tokenParams }, at: Date.now() });
    const params = paramsOf ? paramsOf(tokenParams, cb.calls.length) : { ...tokenParams, ...override };
    rest.auth.requestToken(params).then(
      (td) => {
        cb.tokens.push(td);
        if (tokens) tokens.push(td);
        callback(null, td);
      },
      (err) => callback(err, null),
    );
  };
  cb.calls = [];
  cb.tokens = [];
  return cb;
}

// ---- raw WebSocket peer ------------------------------------------------------------------------

/**
 * A raw protocol-v6 WebSocket peer. `params` go into the query string (format and v added,
 * heartbeats=false unless params say). Records every decoded frame with its framing (binary
 * or text).
 */
export class RawPeer {
  static async open(server, params, format = 'json', ms = 5000) {
    const q = new URLSearchParams({ heartbeats: 'false', ...params, format, v: '6' });
    const peer = new RawPeer(new WebSocket(`ws://127.0.0.1:${server.port}/?${q}`), format);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`WebSocket open timed out after ${ms} ms`)), ms);
      peer.ws.once('open', () => {
        clearTimeout(timer);
        resolve();
      });
      peer.ws.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    return peer;
  }

  constructor(ws, format) {
    this.ws = ws;
    this.format = format;
    this.frames = new Recorder('raw peer');
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('message', (data, isBinary) => {
      let msg;
      try {
        msg = format === 'msgpack' ? msgpack.decode(Buffer.from(data)) : JSON.parse(String(data));
      } catch (e) {
        msg = { undecodable: String(e), summary: 'undecodable' };
      }
      msg.__binary = isBinary;
      this.frames.push(msg);
    });
    ws.on('error', () => {});
  }

  send(obj) {
    if (this.format === 'msgpack') this.ws.send(Buffer.from(msgpack.encode(obj, true)), { binary: true });
    else this.ws.send(JSON.stringify(obj));
  }

  waitAction(action, ms = 5000, from = 0, extra = () => true) {
    return this.frames.waitFor((m) => m.action === action && extra(m), ms, `action ${action}`, from);
  }

  async waitClosed(ms = 5000) {
    let timer;
    const t = new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
    try {
      return await Promise.race([this.closed, t]);
    } finally {
      clearTimeout(timer);
    }
  }

  close() {
    try {
      this.ws.terminate();
    } catch {}
  }
}

// ---- authUrl server ------------------------------------------------------------------------------

/**
 * A local HTTP server for authUrl. `handler(url, req)` returns {status, type, body} (body a
 * string or an object sent as JSON). Records each request's URL.
 */
export async function startAuthServer(handler) {
  const requests = [];
  const srv = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    requests.push({ method: req.method, url, headers: req.headers });
    try {
      const r = await handler(url, req);
      const body = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
      res.writeHead(r.status ?? 200, { 'content-type': r.type ?? 'application/json' });
      res.end(body);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(e));
    }
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${srv.address().port}/auth`,
    requests,
    close: () =>
      new Promise((resolve) => {
        srv.closeAllConnections?.();
        srv.close(() => resolve());
      }),
  };
}

/** Asserts that nothing matching `pred` is recorded during the next `ms`. */
export async function assertNothingFor(rec, pred, ms, what) {
  const from = rec.items.length;
  await sleep(ms);
  const hit = rec.find(pred, from);
  assert.equal(hit, undefined, `${what}: unexpected ${JSON.stringify(hit?.summary ?? hit)}`);
}
