// Operations logs (issue 17): rtauthd --log-format json writes one JSON object per line on
// stderr (time RFC 3339 UTC with ms, level, event, and app/keyName/clientId/connectionId/code
// when the event has them) for connections opened and closed, refusals and tokens; the access
// log (--access-log) has one line per REST request with credential query arguments redacted;
// and no key secret, issued token or refused token appears anywhere in either. Real rtauthd,
// real ably-js 2.28.0, both formats (RSA8 requestToken, RSA17 revokeTokens, RTN14 connect).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe } from 'node:test';

import { setTimeout as sleep } from 'node:timers/promises';

import { FORMATS, raw, restClient, signTokenRequest } from './lib/helpers.mjs';
import { Clients, boundedIt, closeRealtime, waitConnection } from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);
const RFC3339_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let server;
let app;
let dir;
let accessLog;
let stderr = '';
const secrets = new Set(); // every key secret and token this file saw: none may be logged

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtauth-ops-logs-'));
  accessLog = path.join(dir, 'access.log');
  server = await startServer({
    args: ['--log-format', 'json', '--log-level', 'debug', '--access-log', accessLog, '--no-dev-app'],
  });
  server.proc.stderr.on('data', (d) => (stderr += d.toString('utf8')));
  app = await provisionApp(server);
  for (const k of app.keys) secrets.add(k.keyStr.split(':')[1]);
});

after(async () => {
  try {
    if (server) await server.stop();
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Every JSON log line so far (the first ones come from the start, in server.output). */
function events() {
  const text = `${server.output}\n${stderr}`;
  const seen = new Set();
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{') || seen.has(line)) continue;
    seen.add(line);
    out.push(JSON.parse(line));
  }
  return out;
}

/** Polls cond() until it holds, for at most ms. */
async function poll(cond, ms) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timeout');
    await sleep(25);
  }
}

async function waitEvent(pred, what) {
  let hit;
  await poll(() => (hit = events().find(pred)) !== undefined, 5000).catch(() => {
    throw new Error(`no log event ${what}; events: ${JSON.stringify(events().map((e) => e.event))}`);
  });
  return hit;
}

for (const { name, binary } of FORMATS) {
  describe(`json log and access log (${name})`, () => {
    const clients = new Clients(null, binary);
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());

    it('every stderr line is one JSON object with time (RFC 3339, ms, UTC), level and event', async () => {
      await raw(server, 'GET', '/time');
      const lines = `${stderr}`.split('\n').filter((l) => l.length);
      assert.ok(lines.length > 0);
      for (const line of lines) {
        const o = JSON.parse(line); // throws on anything else
        assert.match(o.time, RFC3339_MS, line);
        assert.ok(['error', 'warn', 'info', 'debug'].includes(o.level), line);
        assert.equal(typeof o.event, 'string', line);
        assert.equal(typeof o.msg, 'string', line);
      }
      const started = events().find((e) => e.event === 'server.started');
      assert.ok(started, 'server.started');
    });

    it('RSA8: token.issued names the key and clientId; a forged MAC is token.refused with 40101', async () => {
      const k0 = app.keys[0];
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const td = await rest.auth.requestToken({ clientId: `alice-${name}` });
      secrets.add(td.token);
      const issued = await waitEvent((e) => e.event === 'token.issued' && e.clientId === `alice-${name}`, 'token.issued');
      assert.equal(issued.keyName, k0.keyName);
      assert.equal(issued.app, app.appId);
      assert.equal(issued.level, 'info');

      const tr = signTokenRequest({ keyName: k0.keyName, keySecret: 'not-the-secret' }, { clientId: 'mallory' });
      const r = await raw(server, 'POST', `/keys/${k0.keyName}/requestToken`, { body: tr });
      assert.equal(r.status, 401);
      const refused = await waitEvent((e) => e.event === 'token.refused' && e.code === 40101, 'token.refused 40101');
      assert.equal(refused.keyName, k0.keyName);
      assert.equal(refused.app, app.appId);
    });

    it('RTN14: connection.opened and connection.closed carry connectionId, app, keyName and clientId', async () => {
      const k0 = app.keys[0];
      const td = await restClient(server, { key: k0.keyStr }, binary).auth.requestToken({ clientId: `carol-${name}` });
      secrets.add(td.token);
      const rt = clients.realtime({ tokenDetails: td });
      await waitConnection(rt, 'connected');
      const id = rt.connection.id;
      const opened = await waitEvent((e) => e.event === 'connection.opened' && e.connectionId === id, 'connection.opened');
      assert.equal(opened.keyName, k0.keyName);
      assert.equal(opened.app, app.appId);
      assert.equal(opened.clientId, `carol-${name}`);
      await closeRealtime(rt);
      const closed = await waitEvent((e) => e.event === 'connection.closed' && e.connectionId === id, 'connection.closed');
      assert.equal(closed.keyName, k0.keyName);
      assert.equal(closed.clientId, `carol-${name}`);
    });

    it('RTN14b: a connection with a bad token is auth.refused with its code; a revoked one closes with 40141 (RSA17)', async () => {
      const bad = `${app.keys[0].keyName}-not-a-token-${name}`;
      secrets.add(bad);
      const rt = clients.realtime({ token: bad, disconnectedRetryTimeout: 60000 });
      await waitConnection(rt, 'failed').catch(() => waitConnection(rt, 'disconnected'));
      const refused = await waitEvent((e) => e.event === 'auth.refused' && e.connectionId && e.code >= 40100 && e.code < 40200, 'auth.refused');
      assert.equal(typeof refused.code, 'number');

      const k4 = app.keys[4]; // revocableTokens
      const keyRest = restClient(server, { key: k4.keyStr }, binary);
      const td = await keyRest.auth.requestToken({ clientId: `dave-${name}` });
      secrets.add(td.token);
      const live = clients.realtime({ tokenDetails: td, disconnectedRetryTimeout: 60000 });
      await waitConnection(live, 'connected');
      const id = live.connection.id;
      await keyRest.auth.revokeTokens([{ type: 'clientId', value: `dave-${name}` }]);
      const applied = await waitEvent((e) => e.event === 'revocation.applied' && e.keyName === k4.keyName, 'revocation.applied');
      assert.equal(applied.app, app.appId);
      const closed = await waitEvent((e) => e.event === 'connection.closed' && e.connectionId === id, 'connection.closed 40141');
      assert.equal(closed.code, 40141);
    });

    it('a connection over its app\'s cap is connection.refused with 40111, not auth.refused', async () => {
      const made = await raw(server, 'POST', '/apps', { body: { keys: [{}], limits: { maxConnectionsPerClient: 1 } } });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const res = made.body;
      const keyStr = res.keys[0].keyStr;
      secrets.add(keyStr.split(':')[1]);
      const a = clients.realtime({ key: keyStr, clientId: `cap-${name}` });
      await waitConnection(a, 'connected');
      const b = clients.realtime({ key: keyStr, clientId: `cap-${name}`, disconnectedRetryTimeout: 60000 });
      await waitConnection(b, 'disconnected');
      const refused = await waitEvent((e) => e.event === 'connection.refused' && e.code === 40111 && e.clientId === `cap-${name}`, 'connection.refused 40111');
      assert.equal(refused.app, res.appId);
      assert.ok(!events().some((e) => e.event === 'auth.refused' && e.code === 40111));
    });

    it('access log: one line per REST request with status, bytes, duration; credentials in the query redacted', async () => {
      const k0 = app.keys[0];
      const td = await restClient(server, { key: k0.keyStr }, binary).auth.requestToken({ clientId: `erin-${name}` });
      secrets.add(td.token);
      const q = new URLSearchParams({ access_token: td.token, key: k0.keyStr, accessToken: td.token, format: name });
      const r = await raw(server, 'GET', `/time?${q}`);
      assert.equal(r.status, 200);
      const nf = await raw(server, 'GET', `/no/such/path-${name}`);
      assert.equal(nf.status, 404);
      await poll(() => fs.readFileSync(accessLog, 'utf8').includes(`path-${name}`), 5000);
      const lines = fs.readFileSync(accessLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      const time = lines.find((l) => l.path.startsWith('/time?') && l.path.includes(`format=${name}`));
      assert.ok(time, JSON.stringify(lines));
      assert.equal(time.path, `/time?access_token=REDACTED&key=REDACTED&accessToken=REDACTED&format=${name}`);
      assert.equal(time.method, 'GET');
      assert.equal(time.status, 200);
      assert.ok(time.bytes > 0);
      assert.equal(typeof time.durationMs, 'number');
      assert.match(time.time, RFC3339_MS);
      assert.match(time.remote, /127\.0\.0\.1/);
      const missing = lines.find((l) => l.path === `/no/such/path-${name}`);
      assert.equal(missing.status, 404);
      assert.equal(missing.code, 40400);
      // an authenticated request names its key and the token's clientId
      const token = lines.find((l) => l.path === `/keys/${k0.keyName}/requestToken` && l.clientId === `erin-${name}`);
      assert.ok(token, 'requestToken line');
      assert.equal(token.keyName, k0.keyName);
      assert.equal(token.status, 200);
    });
  });
}

describe('--no-dev-app, and the access log under logrotate', () => {
  it('--no-dev-app: the first start made no dev app and said how to make one', () => {
    assert.ok(!fs.existsSync(path.join(server.dataDir, 'dev-key')), 'no dev-key');
    assert.match(server.output, /no app created \(--no-dev-app\)/);
    assert.match(server.output, /rtauth --data-dir \S+ app create/);
    assert.doesNotMatch(server.output, /created app "dev"/);
  });

  it('SIGHUP reopens the access log: after a rename, new lines go to a new file at the path', async () => {
    const rotated = `${accessLog}.1`;
    fs.renameSync(accessLog, rotated);
    await raw(server, 'GET', '/time?rotation=old-file-still-open');
    const from = stderr.length;
    server.proc.kill('SIGHUP');
    await poll(() => stderr.slice(from).includes('"event":"reload.done"'), 5000);
    await raw(server, 'GET', '/time?rotation=new-file');
    await poll(() => fs.existsSync(accessLog) && fs.readFileSync(accessLog, 'utf8').includes('new-file'), 5000);
    assert.ok(fs.readFileSync(rotated, 'utf8').includes('old-file-still-open'));
    assert.ok(!fs.readFileSync(rotated, 'utf8').includes('new-file'));
    // the rest of this file reads both
    fs.writeFileSync(accessLog, fs.readFileSync(rotated, 'utf8') + fs.readFileSync(accessLog, 'utf8'));
  });
});

describe('no secret in any log', () => {
  it('neither stderr, stdout nor the access log holds a key secret or a token this file used', async () => {
    await raw(server, 'GET', '/time'); // the last lines are flushed (line-buffered writes)
    const logs = { stderr: `${server.output}\n${stderr}`, access: fs.readFileSync(accessLog, 'utf8') };
    assert.ok(secrets.size >= app.keys.length + 4, `secrets seen: ${secrets.size}`);
    for (const [where, text] of Object.entries(logs)) {
      assert.ok(text.length > 0, where);
      for (const s of secrets) assert.ok(!text.includes(s), `${where} holds a secret or token (${s.slice(0, 6)}...)`);
    }
  });
});
