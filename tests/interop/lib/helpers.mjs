// Shared helpers: ably-js clients pointed at a local rtauthd, raw HTTP with either format,
// credentials (Basic, Bearer, Ably JWT, hand-signed TokenRequests) and error assertions.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import Ably from 'ably';
import msgpack from '@ably/msgpack-js';

export { Ably, msgpack };

export const FORMATS = [
  { name: 'binary', binary: true },
  { name: 'json', binary: false },
];

const ABLY_LOG_LEVEL = Number(process.env.RTA_ABLY_LOG_LEVEL ?? 0);

/** An ably-js Rest client for the server: only endpoint/port/tls (+ format) are special. */
export function restClient(server, opts = {}, binary = true) {
  return new Ably.Rest({
    endpoint: '127.0.0.1',
    port: server.port,
    tls: false,
    useBinaryProtocol: binary,
    logLevel: ABLY_LOG_LEVEL,
    ...opts,
  });
}

export const basicAuth = (keyStr) => `Basic ${Buffer.from(keyStr, 'utf8').toString('base64')}`;
/** What ably-js sends for token auth on REST (RSA3b): Bearer base64(token). */
export const bearer = (token) => `Bearer ${Buffer.from(token, 'utf8').toString('base64')}`;
export const bearerRaw = (token) => `Bearer ${token}`;

const MIME = { json: 'application/json', msgpack: 'application/x-msgpack' };

/**
 * A raw HTTP request. `format` picks Accept and Content-Type (and how `body` is encoded when
 * it is not already a string/Buffer). The reply is decoded by its Content-Type.
 */
export async function raw(server, method, path, { format = 'json', headers = {}, body } = {}) {
  const h = { accept: MIME[format], ...headers };
  let payload;
  if (body !== undefined) {
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = MIME[format];
    if (typeof body === 'string' || Buffer.isBuffer(body)) payload = body;
    else payload = format === 'msgpack' ? Buffer.from(msgpack.encode(body, true)) : JSON.stringify(body);
  }
  const res = await fetch(server.baseUrl + path, {
    method,
    headers: h,
    body: payload,
    signal: AbortSignal.timeout(10000),
  });
  const buf = Buffer.from(await res.arrayBuffer());
  const contentType = res.headers.get('content-type');
  let decoded;
  if (buf.length && contentType === MIME.msgpack) decoded = msgpack.decode(buf);
  else if (buf.length && contentType === MIME.json) decoded = JSON.parse(buf.toString('utf8'));
  else decoded = buf.toString('utf8');
  return { status: res.status, headers: res.headers, contentType, raw: buf, body: decoded };
}

/** Server time via raw GET /time. */
export async function serverTime(server) {
  const r = await raw(server, 'GET', '/time');
  assert.equal(r.status, 200);
  assert.ok(Array.isArray(r.body) && Number.isInteger(r.body[0]), `GET /time body: ${r.raw}`);
  return r.body[0];
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** An Ably JWT (HS256, kid = keyName), as ably's sandbox generateJWT() builds them. */
export function signJwt({ keyName, keySecret }, claims = {}, { ttlSeconds = 3600, header = {} } = {}) {
  const iat = Math.floor(Date.now() / 1000);
  const head = { typ: 'JWT', alg: 'HS256', kid: keyName, ...header };
  const body = { iat, exp: iat + ttlSeconds, ...claims };
  const input = `${b64url(JSON.stringify(head))}.${b64url(JSON.stringify(body))}`;
  const sig = crypto.createHmac('sha256', keySecret).update(input).digest();
  return `${input}.${b64url(sig)}`;
}

/**
 * A TokenRequest signed by hand with the RSA9g recipe (for cases ably-js refuses to build,
 * e.g. an empty clientId). Fields are written in ably-js's order.
 */
export function signTokenRequest({ keyName, keySecret }, params = {}) {
  const req = { keyName };
  for (const k of ['ttl', 'capability', 'clientId']) if (params[k] !== undefined) req[k] = params[k];
  req.timestamp = params.timestamp ?? Date.now();
  req.nonce = params.nonce ?? crypto.randomBytes(12).toString('hex');
  const text =
    [keyName, req.ttl ?? '', req.capability ?? '', req.clientId ?? '', req.timestamp, req.nonce].join('\n') + '\n';
  req.mac = crypto.createHmac('sha256', keySecret).update(text, 'utf8').digest('base64');
  return req;
}

/** Awaits `promise`, failing after `ms`. */
export async function withTimeout(promise, ms, what = 'operation') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts that `promise` rejects with an ErrorInfo of the given statusCode and code. */
export async function rejectsWith(promise, { statusCode, code, codes }, what = 'request') {
  let err;
  try {
    const value = await withTimeout(promise, 15000, what);
    assert.fail(`${what}: expected an error (${statusCode}/${code ?? codes}), got success: ${JSON.stringify(value)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    err = e;
  }
  const desc = `${what}: got statusCode=${err.statusCode} code=${err.code} message=${JSON.stringify(err.message)}`;
  if (statusCode !== undefined) assert.equal(err.statusCode, statusCode, desc);
  if (code !== undefined) assert.equal(err.code, code, desc);
  if (codes !== undefined) assert.ok(codes.includes(err.code), `${desc}; expected one of ${codes}`);
  return err;
}

/**
 * Asserts a raw reply is an Ably error in the requested format (S-65, wire doc 4.6):
 * exact Content-Type, x-ably-errorcode/x-ably-errormessage headers, body
 * {error:{message, code, statusCode}}.
 */
export function assertErrorReply(r, { status, code, codes, format = 'json' }, what = 'reply') {
  const desc = `${what}: status=${r.status} content-type=${r.contentType} headers errorcode=${r.headers.get(
    'x-ably-errorcode',
  )} body=${Buffer.isBuffer(r.body) ? r.raw.toString('hex') : JSON.stringify(r.body)}`;
  assert.equal(r.status, status, desc);
  assert.equal(r.contentType, MIME[format], desc);
  assert.ok(r.body && typeof r.body === 'object' && r.body.error, desc);
  const e = r.body.error;
  assert.equal(typeof e.message, 'string', desc);
  assert.ok(e.message.length > 0, desc);
  assert.equal(e.statusCode, status, desc);
  if (code !== undefined) assert.equal(e.code, code, desc);
  if (codes !== undefined) assert.ok(codes.includes(e.code), `${desc}; expected one of ${codes}`);
  assert.equal(r.headers.get('x-ably-errorcode'), String(e.code), desc);
  const hm = r.headers.get('x-ably-errormessage');
  assert.ok(typeof hm === 'string' && hm.length > 0, `${desc}: x-ably-errormessage missing`);
  return e;
}

/**
 * Proves a token's status through the server: POST /keys/{keyName}/revokeTokens with
 * `Authorization: Bearer base64(token)`. A valid token passes credential verification and is
 * then refused with 40162 (revocation needs Basic auth, S-66); a revoked token is refused
 * with 40141, an invalid one with another 4014x.
 */
export async function probeToken(server, keyName, token, { rawBearer = false, format = 'json' } = {}) {
  const r = await raw(server, 'POST', `/keys/${keyName}/revokeTokens`, {
    format,
    headers: { authorization: rawBearer ? bearerRaw(token) : bearer(token) },
    body: { targets: ['clientId:nobody-probe'] },
  });
  return r;
}

/** Waits until the local clock is past `t` (server and tests share the host clock). */
export async function waitUntil(t, maxMs = 40000) {
  const delay = t - Date.now();
  assert.ok(delay <= maxMs, `refusing to wait ${delay} ms`);
  if (delay > 0) await sleep(delay);
}

export const parseCap = (c) => (typeof c === 'string' ? JSON.parse(c) : c);
export const randomId = (prefix = 'id') => `${prefix}-${crypto.randomBytes(6).toString('hex')}`;
