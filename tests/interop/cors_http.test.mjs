// CORS on the raw wire (docs/server.md "CORS"; the browser itself is in tests/browser/): on
// every route of rest/routes.c, a preflight from an allowed origin gets 204, the route's
// methods, the request headers it asked for (or ably-js's list when that list is invalid or
// too long), a max-age, the origin echoed with credentials allowed and Vary; an actual
// request gets the origin echoed and the headers ably-js reads exposed (x-ably-errorcode,
// x-ably-errormessage, link); a request without Origin, or from a refused or malformed one,
// gets no CORS headers at all (and the same status: CORS is not access control); and
// --cors-origins with its environment and config-file forms, "none" and bad values.
// Plain node:http, so every header is exactly what the test sets.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { basicAuth } from './lib/helpers.mjs';
import { RTAUTHD, freePort, provisionApp, startServer } from './lib/server.mjs';

const PAGE = 'http://127.0.0.1:5173'; // any origin: the default allows them all
const ABLY_JS_HEADERS = 'ably-agent,authorization,content-type,x-ably-version'; // as Chromium lists them

/** One HTTP/1.1 request; resolves to { status, headers, body }. */
function request(server, method, pathname, { headers = {}, body } = {}) {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const h = { ...headers };
  if (payload !== undefined) {
    h['content-type'] ??= 'application/json';
    h['content-length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, method, path: pathname, headers: h, agent: false, timeout: 10000 },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${pathname}: timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const corsHeaders = (r) => Object.keys(r.headers).filter((h) => h.startsWith('access-control-'));
const list = (v) => (v || '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);

function assertNoCors(r, what) {
  assert.deepEqual(corsHeaders(r), [], `${what}: no CORS headers, got ${JSON.stringify(r.headers)}`);
}

function assertPreflight(r, origin, methods, what) {
  assert.equal(r.status, 204, `${what}: ${r.status} ${r.body}`);
  assert.equal(r.headers['access-control-allow-origin'], origin, what);
  assert.equal(r.headers['access-control-allow-credentials'], 'true', what);
  for (const m of methods) assert.ok(list(r.headers['access-control-allow-methods']).includes(m.toLowerCase()), `${what}: ${m}`);
  assert.ok(Number(r.headers['access-control-max-age']) > 0, `${what}: max-age`);
  assert.ok(list(r.headers.vary).includes('origin'), `${what}: Vary ${r.headers.vary}`);
  assert.equal(r.body, '', what);
}

function assertActual(r, origin, what) {
  assert.equal(r.headers['access-control-allow-origin'], origin, what);
  assert.equal(r.headers['access-control-allow-credentials'], 'true', what);
  const exposed = list(r.headers['access-control-expose-headers']);
  for (const h of ['x-ably-errorcode', 'x-ably-errormessage', 'link']) assert.ok(exposed.includes(h), `${what}: exposes ${h}`);
  assert.ok(list(r.headers.vary).includes('origin'), `${what}: Vary ${r.headers.vary}`);
  assert.equal(r.headers['access-control-allow-methods'], undefined, `${what}: not a preflight`);
}

describe('CORS with the default --cors-origins (any origin)', () => {
  let server;
  let app;
  let spare; // an app for DELETE /apps/{appId}
  let basic;
  let keyName;
  let routes;

  before(async () => {
    server = await startServer();
    app = await provisionApp(server, [{}, { revocableTokens: true }]);
    spare = await provisionApp(server, [{}]);
    basic = basicAuth(app.keys[1].keyStr);
    keyName = app.keys[1].keyName;
    // every route of rest/routes.c (rta_route_dispatch), with a request that reaches it
    routes = [
      { method: 'GET', path: '/time', allow: ['GET'], status: 200 },
      { method: 'GET', path: '/health', allow: ['GET'], status: 200 },
      { method: 'GET', path: '/ready', allow: ['GET'], status: 200 },
      {
        method: 'POST',
        path: `/keys/${keyName}/requestToken`,
        allow: ['POST'],
        headers: { authorization: basic },
        body: { clientId: 'cors' },
        status: 200,
      },
      {
        method: 'POST',
        path: `/keys/${keyName}/revokeTokens`,
        allow: ['POST'],
        headers: { authorization: basic },
        body: { targets: ['clientId:nobody'] },
        status: 201,
      },
      {
        method: 'POST',
        path: '/channels/cors%3Aroom/messages',
        allow: ['GET', 'POST'],
        headers: { authorization: basic },
        body: { name: 'm', data: 'x' },
        status: 201,
      },
      {
        method: 'GET',
        path: '/channels/cors%3Aroom/messages',
        allow: ['GET', 'POST'],
        headers: { authorization: basic },
        status: 200,
      },
      { method: 'POST', path: '/apps', allow: ['POST'], body: { keys: [{}] }, status: 201 },
      {
        method: 'DELETE',
        path: `/apps/${spare.appId}`,
        allow: ['DELETE'],
        headers: { authorization: basicAuth(spare.keys[0].keyStr) },
        status: 204,
      },
      { method: 'GET', path: '/stats', allow: ['GET'], headers: { authorization: basic }, status: 200 },
      // no such route: the preflight still passes, so a page sees the 404's ErrorInfo
      { method: 'GET', path: '/push/channels', allow: ['GET', 'POST', 'DELETE'], status: 404, errorCode: '40400' },
    ];
  });

  after(async () => {
    await server?.stop();
  });

  it('answers a preflight on every route with its methods and the headers asked for', async () => {
    for (const r of routes) {
      const what = `OPTIONS ${r.path}`;
      const res = await request(server, 'OPTIONS', r.path, {
        headers: { origin: PAGE, 'access-control-request-method': r.method, 'access-control-request-headers': ABLY_JS_HEADERS },
      });
      assertPreflight(res, PAGE, r.allow, what);
      assert.equal(res.headers['access-control-allow-headers'], ABLY_JS_HEADERS, what);
      assert.ok(list(res.headers.allow).includes(r.method.toLowerCase()), `${what}: Allow ${res.headers.allow}`);
    }
  });

  it('echoes the origin and exposes the Ably headers on every route, errors included', async () => {
    for (const r of routes) {
      const what = `${r.method} ${r.path}`;
      const res = await request(server, r.method, r.path, { headers: { origin: PAGE, ...r.headers }, body: r.body });
      assert.equal(res.status, r.status, `${what}: ${res.body}`);
      assertActual(res, PAGE, what);
      if (r.errorCode) assert.equal(res.headers['x-ably-errorcode'], r.errorCode, what);
    }
    // an error from an authenticated route: what ably-js must be able to read
    const bad = await request(server, 'GET', '/channels/cors%3Aroom/messages', {
      headers: { origin: PAGE, authorization: basicAuth(`${keyName}:wrongsecret`) },
    });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers['x-ably-errorcode'], '40101');
    assert.ok(bad.headers['x-ably-errormessage']);
    assertActual(bad, PAGE, 'wrong secret');
    // a paged reply: its Link is what the page reads for next()
    await request(server, 'POST', '/channels/cors%3Aroom/messages', {
      headers: { authorization: basic },
      body: { name: 'm', data: 'y' },
    });
    const paged = await request(server, 'GET', '/channels/cors%3Aroom/messages?limit=1', {
      headers: { origin: PAGE, authorization: basic },
    });
    assert.match(paged.headers.link || '', /rel="next"/);
    assertActual(paged, PAGE, 'paged history');
  });

  it('sends no CORS headers to a request without Origin', async () => {
    for (const r of routes.filter((x) => x.method !== 'DELETE')) {
      const res = await request(server, r.method, r.path, { headers: r.headers, body: r.body });
      assert.equal(res.status, r.status, `${r.method} ${r.path}: ${res.body}`);
      assertNoCors(res, `${r.method} ${r.path}`);
      assert.ok(list(res.headers.vary).includes('origin'), 'Vary: Origin all the same (caches)');
      const opt = await request(server, 'OPTIONS', r.path, { headers: { 'access-control-request-method': r.method } });
      assert.equal(opt.status, 204);
      assert.ok(list(opt.headers.allow).includes(r.method.toLowerCase()), `Allow ${opt.headers.allow}`);
      assertNoCors(opt, `OPTIONS ${r.path} without Origin`);
    }
  });

  it('allows the request headers asked for only as a valid, bounded header-name list', async () => {
    const preflight = (acrh) =>
      request(server, 'OPTIONS', '/time', {
        headers: { origin: PAGE, 'access-control-request-method': 'GET', 'access-control-request-headers': acrh },
      });
    const defaults = ['accept', 'authorization', 'content-type', 'x-ably-version', 'ably-agent', 'x-ably-clientid'];
    const custom = await preflight('x-custom-header, ably-agent');
    assert.equal(custom.headers['access-control-allow-headers'], 'x-custom-header, ably-agent');
    for (const bad of ['ably agent', 'a,,b', 'a;b', 'x'.repeat(1025), Array.from({ length: 65 }, (_, i) => `h${i}`).join(',')]) {
      const res = await preflight(bad);
      assertPreflight(res, PAGE, ['GET'], `ACRH ${bad.slice(0, 40)}`);
      assert.deepEqual(list(res.headers['access-control-allow-headers']), defaults, `ACRH ${bad.slice(0, 40)}: ably-js's list`);
    }
    // no Access-Control-Request-Headers: ably-js's list too
    const none = await request(server, 'OPTIONS', '/time', { headers: { origin: PAGE, 'access-control-request-method': 'GET' } });
    assert.deepEqual(list(none.headers['access-control-allow-headers']), defaults);
  });

  it('never echoes a malformed Origin, nor "null" unless it is listed', async () => {
    const malformed = ['http://a.test/path', 'http://a.test:99999', 'not an origin', `http://${'a'.repeat(300)}.test`];
    for (const origin of ['null', ...malformed]) {
      const res = await request(server, 'GET', '/time', { headers: { origin } });
      assert.equal(res.status, 200);
      assertNoCors(res, `Origin ${origin.slice(0, 40)}`);
    }
  });
});

describe('CORS with a list of origins', () => {
  let server;

  before(async () => {
    server = await startServer({ args: ['--cors-origins', 'http://allowed.test:8080, https://*.example.com null'] });
  });

  after(async () => {
    await server?.stop();
  });

  it('answers listed origins (exact, subdomain wildcard, null) and only them', async () => {
    for (const origin of ['http://allowed.test:8080', 'https://app.example.com', 'https://a.b.example.com', 'null']) {
      const pre = await request(server, 'OPTIONS', '/time', { headers: { origin, 'access-control-request-method': 'GET' } });
      assertPreflight(pre, origin, ['GET'], `preflight from ${origin}`);
      assertActual(await request(server, 'GET', '/time', { headers: { origin } }), origin, `GET from ${origin}`);
    }
    const refused = [
      PAGE,
      'http://allowed.test',
      'https://allowed.test:8080',
      'https://example.com',
      'http://app.example.com',
      'https://evil-example.com',
    ];
    for (const origin of refused) {
      const pre = await request(server, 'OPTIONS', '/time', { headers: { origin, 'access-control-request-method': 'GET' } });
      assert.equal(pre.status, 204);
      assertNoCors(pre, `preflight from refused ${origin}`);
      // not access control: the reply is the same, only a browser will not show it to the page
      const res = await request(server, 'GET', '/time', { headers: { origin } });
      assert.equal(res.status, 200);
      assertNoCors(res, `GET from refused ${origin}`);
      assert.ok(list(res.headers.vary).includes('origin'));
    }
  });
});

describe('CORS over TLS, as browsers speak to an https rtauthd (HTTP/1.1 only: no HTTP/2)', () => {
  let dir;
  let proc;
  let port;
  let ca;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtauth-cors-tls-'));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
      '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    port = await freePort();
    proc = spawn(RTAUTHD, ['--listen', `127.0.0.1:${port}`, '--data-dir', path.join(dir, 'data'),
      '--tls-cert', cert, '--tls-key', key, '--log-level', 'warn', '--sandbox'], { stdio: 'ignore' });
    ca = fs.readFileSync(cert);
    for (let attempt = 0; ; attempt++) {
      try {
        await get({ method: 'GET', path: '/time' });
        break;
      } catch (err) {
        if (attempt > 100 || proc.exitCode !== null) throw err;
        await sleep(100);
      }
    }
  });

  after(async () => {
    if (proc && proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((resolve) => proc.once('exit', resolve));
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** One HTTPS request offering h2 and http/1.1 by ALPN: { status, headers, alpn, body }. */
  function get({ method, path: p, headers = {}, body }) {
    return new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, method, path: p, headers, ca, ALPNProtocols: ['h2', 'http/1.1'],
        agent: false, timeout: 5000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, alpn: res.socket.alpnProtocol, body: text }));
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${p}: no reply`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  it('answers preflights and actual requests over TLS; ALPN settles on http/1.1', async () => {
    const origin = 'https://app.example.com';
    const pre = await get({
      method: 'OPTIONS',
      path: '/keys/app.key/requestToken',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'ably-agent,content-type,x-ably-version' },
    });
    assert.equal(pre.alpn, 'http/1.1');
    assertPreflight({ ...pre, body: '' }, origin, ['POST'], 'TLS preflight');
    assert.equal(pre.headers['access-control-allow-headers'], 'ably-agent,content-type,x-ably-version');
    const time = await get({ method: 'GET', path: '/time', headers: { origin } });
    assert.equal(time.status, 200);
    assertActual(time, origin, 'TLS GET /time');
    assertNoCors(await get({ method: 'GET', path: '/time' }), 'TLS without Origin');
  });

  it('X-Ably-ClientId is honoured over TLS (lws 4.1.6 drops it on HTTP/2 streams, which is why there is no HTTP/2)', async () => {
    const res = await get({ method: 'POST', path: '/apps', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys: [{}] }) });
    assert.equal(res.status, 201, res.body);
    const key = JSON.parse(res.body).keys[0];
    const r = await get({
      method: 'POST',
      path: `/keys/${key.keyName}/requestToken`,
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(key.keyStr).toString('base64')}`,
        'x-ably-clientid': Buffer.from('bob').toString('base64'),
      },
      body: JSON.stringify({ clientId: 'alice' }),
    });
    assert.equal(r.status, 401, r.body);
    assert.equal(r.headers['x-ably-errorcode'], '40102');
  });

  it('an h2c upgrade on plain HTTP is refused (the connection closes), a WebSocket upgrade is not', async () => {
    const plain = await startServer();
    try {
      const reply = await new Promise((resolve) => {
        const sock = net.connect(plain.port, '127.0.0.1', () => {
          sock.write('GET /time HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n' +
            'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
        });
        let data = '';
        sock.on('data', (d) => (data += d));
        sock.on('close', () => resolve(data));
        sock.on('error', () => {});
        setTimeout(() => sock.destroy(), 3000);
      });
      assert.doesNotMatch(reply, /101 Switching Protocols/);
    } finally {
      await plain.stop();
    }
  });
});

describe('--cors-origins from the environment and the config file; none; bad values', () => {
  const servers = [];
  let conf;

  after(async () => {
    for (const s of servers) await s.stop();
    if (conf) fs.rmSync(conf, { force: true });
  });

  it('RTAUTHD_CORS_ORIGINS=none: no CORS headers for anyone, and no Vary', async () => {
    const s = await startServer({ env: { RTAUTHD_CORS_ORIGINS: 'none' } });
    servers.push(s);
    const res = await request(s, 'GET', '/time', { headers: { origin: PAGE } });
    assertNoCors(res, 'none');
    assert.equal(res.headers.vary, undefined);
    const pre = await request(s, 'OPTIONS', '/time', { headers: { origin: PAGE, 'access-control-request-method': 'GET' } });
    assert.equal(pre.status, 204);
    assertNoCors(pre, 'none, preflight');
  });

  it('the config file sets it, the environment overrides the file, the flag both', async () => {
    conf = path.join(os.tmpdir(), `rtauth-cors-${process.pid}.conf`);
    fs.writeFileSync(conf, '# rtauthd\ncors_origins = http://from-file.test   # one origin\n');
    const fromFile = await startServer({ args: ['--config', conf] });
    servers.push(fromFile);
    const FILE_ORIGIN = 'http://from-file.test';
    assertActual(await request(fromFile, 'GET', '/time', { headers: { origin: FILE_ORIGIN } }), FILE_ORIGIN, 'file');
    assertNoCors(await request(fromFile, 'GET', '/time', { headers: { origin: PAGE } }), 'file, other origin');

    const fromEnv = await startServer({ args: ['--config', conf], env: { RTAUTHD_CORS_ORIGINS: PAGE } });
    servers.push(fromEnv);
    assertActual(await request(fromEnv, 'GET', '/time', { headers: { origin: PAGE } }), PAGE, 'env');
    assertNoCors(await request(fromEnv, 'GET', '/time', { headers: { origin: FILE_ORIGIN } }), 'env over file');

    const fromFlag = await startServer({
      args: ['--config', conf, '--cors-origins', '*'],
      env: { RTAUTHD_CORS_ORIGINS: 'none' },
    });
    servers.push(fromFlag);
    assertActual(await request(fromFlag, 'GET', '/time', { headers: { origin: FILE_ORIGIN } }), FILE_ORIGIN, 'flag');
  });

  it('refuses bad values at start, naming the setting', () => {
    const bad = ['https://app.example.com/', 'app.example.com', '* https://a.test', 'https://a.*.test', 'none,https://a.test'];
    for (const value of bad) {
      const r = spawnSync(RTAUTHD, ['--cors-origins', value, '--data-dir', path.join(os.tmpdir(), 'rtauth-never')], {
        encoding: 'utf8',
        timeout: 10000,
      });
      assert.equal(r.status, 2, `--cors-origins '${value}': ${r.stderr}`);
      assert.match(r.stderr, /cors_origins/);
    }
  });
});
