// GET /metrics (issue 17): Prometheus text format 0.0.4, parsed strictly (lib/promtext.mjs:
// names, HELP/TYPE, label syntax, histograms with cumulative buckets and +Inf); the families
// the operator console charts exist with their types; counters move after real actions with
// ably-js 2.28.0 in both formats (a token issued, a token refused with its code, a realtime
// client connected and closed, a revocation disconnecting a client, a message in and out);
// access: open on a loopback listener, refused on 0.0.0.0 (40300) unless the bearer token of
// --metrics-token-file is presented (40101 otherwise), and rtauthd refuses to start with a
// token file that others can read.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { FORMATS, assertErrorReply, raw, randomId, rejectsWith, restClient } from './lib/helpers.mjs';
import { parsePromText, sampleValue } from './lib/promtext.mjs';
import { Clients, boundedIt, recordConnection, waitConnection } from './lib/realtime.mjs';
import { RTAUTHD, provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);

/** The console's contract (docs/operations.md): name -> type. */
const FAMILIES = {
  rtauthd_connections: 'gauge',
  rtauthd_connections_opened_total: 'counter',
  rtauthd_connections_closed_total: 'counter',
  rtauthd_connections_refused_total: 'counter',
  rtauthd_token_requests_total: 'counter',
  rtauthd_request_token_duration_seconds: 'histogram',
  rtauthd_revocations_total: 'counter',
  rtauthd_revocation_disconnects_total: 'counter',
  rtauthd_revocation_apply_duration_seconds: 'histogram',
  rtauthd_revocation_index_records: 'gauge',
  rtauthd_revocation_index_bytes: 'gauge',
  rtauthd_nonce_check_duration_seconds: 'histogram',
  rtauthd_store_op_duration_seconds: 'histogram',
  rtauthd_gateway_queue_drops_total: 'counter',
  rtauthd_messages_total: 'counter',
  rtauthd_build_info: 'gauge',
  process_start_time_seconds: 'gauge',
};

async function scrape(server, headers = {}) {
  const res = await fetch(`${server.baseUrl}/metrics`, { headers, signal: AbortSignal.timeout(10000) });
  const text = await res.text();
  assert.equal(res.status, 200, `GET /metrics -> ${res.status}: ${text}`);
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  return parsePromText(text);
}

/** Scrapes until pred(families) holds (the gateway frees a closed connection a bit later). */
async function scrapeUntil(server, pred, what, ms = 5000) {
  const deadline = Date.now() + ms;
  let m;
  for (;;) {
    m = await scrape(server);
    if (pred(m)) return m;
    if (Date.now() > deadline) assert.fail(`${what}: not seen within ${ms} ms`);
    await sleep(50);
  }
}

describe('GET /metrics on a loopback listener', () => {
  let server;
  let app;
  before(async () => {
    server = await startServer();
    app = await provisionApp(server);
  });
  after(async () => {
    if (server) await server.stop();
  });

  it('is open, strict text format 0.0.4, and has every family the console charts with its type', async () => {
    const m = await scrape(server);
    for (const [name, type] of Object.entries(FAMILIES)) {
      assert.ok(m.has(name), `family ${name} missing`);
      assert.equal(m.get(name).type, type, `type of ${name}`);
    }
    assert.equal(sampleValue(m, 'rtauthd_build_info'), 1);
    assert.match(m.get('rtauthd_build_info').samples[0].labels.version, /^\d+\.\d+\.\d+/);
    const start = sampleValue(m, 'process_start_time_seconds');
    assert.ok(start > Date.now() / 1000 - 600 && start <= Date.now() / 1000 + 1, `start time ${start}`);
    // store latency: the sandbox app was written by the store thread
    assert.ok(sampleValue(m, 'rtauthd_store_op_duration_seconds_count') >= 1);
    // no label anywhere outside the bounded sets
    const allowed = new Set(['app', 'state', 'reason', 'result', 'code', 'direction', 'version', 'le']);
    for (const [name, f] of m)
      for (const s of f.samples)
        for (const k of Object.keys(s.labels)) assert.ok(allowed.has(k), `${name}: label ${k}`);
  });

  for (const { name, binary } of FORMATS) {
    describe(`counters move after real actions (${name})`, () => {
      const clients = new Clients(null, binary);
      before(() => {
        clients.server = server;
      });
      afterEach(() => clients.closeAll());

      it('requestToken: issued counts result="issued",code="0"; a refusal counts its Ably code (40160); both in the latency histogram', async () => {
        const before = await scrape(server);
        const issued0 = sampleValue(before, 'rtauthd_token_requests_total', { result: 'issued', code: '0' });
        const refused0 = sampleValue(before, 'rtauthd_token_requests_total', { result: 'refused', code: '40160' });
        const lat0 = sampleValue(before, 'rtauthd_request_token_duration_seconds_count');
        // a signed TokenRequest through ably-js (nonce made durable: the nonce histogram too)
        const nonce0 = sampleValue(before, 'rtauthd_nonce_check_duration_seconds_count');
        const keyRest = restClient(server, { key: app.keys[0].keyStr }, binary);
        const tr = await keyRest.auth.createTokenRequest({ clientId: 'metrics' });
        const td = await restClient(server, { authCallback: (_, cb) => cb(null, tr) }, binary).auth.requestToken();
        assert.ok(td.token);
        await keyRest.auth.requestToken({ clientId: 'metrics2' }); // ably-js signs one itself
        // keys[3] may only subscribe: asking for publish is refused with 40160
        await rejectsWith(
          restClient(server, { key: app.keys[3].keyStr }, binary).auth.requestToken({ capability: { x: ['publish'] } }),
          { statusCode: 401, code: 40160 },
          'capability beyond the key',
        );
        const m = await scrape(server);
        assert.equal(sampleValue(m, 'rtauthd_token_requests_total', { result: 'issued', code: '0' }), issued0 + 2);
        assert.equal(sampleValue(m, 'rtauthd_token_requests_total', { result: 'refused', code: '40160' }), refused0 + 1);
        assert.equal(sampleValue(m, 'rtauthd_request_token_duration_seconds_count'), lat0 + 3);
        assert.equal(sampleValue(m, 'rtauthd_nonce_check_duration_seconds_count'), nonce0 + 2);
      });

      it('a realtime client: connections{state="connected"} and opened_total of its app go up; after close(), the gauge goes back and closed_total{reason="normal"} counts it', async () => {
        const appLabel = { app: app.appId };
        const m0 = await scrape(server);
        const opened0 = sampleValue(m0, 'rtauthd_connections_opened_total', appLabel);
        const normal0 = sampleValue(m0, 'rtauthd_connections_closed_total', { reason: 'normal' });
        // earlier tests may have left connections awaiting resume (a revoked one): deltas only
        const live0 = sampleValue(m0, 'rtauthd_connections', { ...appLabel, state: 'connected' });
        const waiting0 = sampleValue(m0, 'rtauthd_connections', { ...appLabel, state: 'awaiting_resume' });
        const rt = clients.realtime({ key: app.keys[0].keyStr, clientId: randomId('m') });
        await waitConnection(rt, 'connected');
        const m1 = await scrape(server);
        assert.equal(sampleValue(m1, 'rtauthd_connections', { ...appLabel, state: 'connected' }), live0 + 1);
        assert.equal(sampleValue(m1, 'rtauthd_connections', { ...appLabel, state: 'awaiting_resume' }), waiting0);
        assert.equal(sampleValue(m1, 'rtauthd_connections_opened_total', appLabel), opened0 + 1);
        rt.close();
        await waitConnection(rt, 'closed');
        await scrapeUntil(
          server,
          (m) =>
            sampleValue(m, 'rtauthd_connections', { ...appLabel, state: 'connected' }) === live0 &&
            sampleValue(m, 'rtauthd_connections_closed_total', { reason: 'normal' }) === normal0 + 1,
          'gauge back and closed_total{reason="normal"} + 1',
        );
      });

      it('a realtime connect with a wrong key secret counts in connections_refused_total{code="40101"}', async () => {
        const m0 = await scrape(server);
        const refused0 = sampleValue(m0, 'rtauthd_connections_refused_total', { code: '40101' });
        const rt = clients.realtime({ key: `${app.keys[0].keyName}:wrongsecret` });
        await waitConnection(rt, 'failed');
        await scrapeUntil(
          server,
          (m) => sampleValue(m, 'rtauthd_connections_refused_total', { code: '40101' }) === refused0 + 1,
          'one refusal counted',
        );
      });

      it('a message published with a subscriber attached counts one in and one out', async () => {
        const rt = clients.realtime({ key: app.keys[0].keyStr });
        await waitConnection(rt, 'connected');
        const ch = rt.channels.get(randomId('mch'));
        await ch.attach();
        const got = new Promise((resolve) => ch.subscribe(resolve));
        const m0 = await scrape(server);
        await ch.publish('e', 'hello'); // echo: the publisher is the subscriber
        await got;
        const m1 = await scrape(server);
        assert.equal(sampleValue(m1, 'rtauthd_messages_total', { direction: 'in' }), sampleValue(m0, 'rtauthd_messages_total', { direction: 'in' }) + 1);
        assert.equal(sampleValue(m1, 'rtauthd_messages_total', { direction: 'out' }), sampleValue(m0, 'rtauthd_messages_total', { direction: 'out' }) + 1);
      });

      it('revokeTokens: revocations_total, revocation_disconnects_total and the apply histogram count the revocation and the client it disconnected (RSA17)', async () => {
        const k4 = app.keys[4];
        const clientId = randomId('mrev');
        const keyRest = restClient(server, { key: k4.keyStr }, binary);
        const td = await keyRest.auth.requestToken({ clientId });
        const rt = clients.realtime({ token: td.token });
        const conn = recordConnection(rt);
        await waitConnection(rt, 'connected');
        await sleep(5); // issued strictly before issuedBefore
        const m0 = await scrape(server);
        const result = await keyRest.auth.revokeTokens([{ type: 'clientId', value: clientId }]);
        assert.equal(result.successCount, 1);
        await conn.waitFor((e) => e.current === 'disconnected' || e.current === 'failed', 5000, 'disconnected');
        const m1 = await scrape(server);
        for (const n of ['rtauthd_revocations_total', 'rtauthd_revocation_disconnects_total', 'rtauthd_revocation_apply_duration_seconds_count'])
          assert.equal(sampleValue(m1, n), sampleValue(m0, n) + 1, n);
        // its transport goes after the DISCONNECTED: it waits (resumable) until connectionStateTtl
        await scrapeUntil(
          server,
          (m) =>
            sampleValue(m, 'rtauthd_connections', { app: app.appId, state: 'awaiting_resume' }) ===
            sampleValue(m0, 'rtauthd_connections', { app: app.appId, state: 'awaiting_resume' }) + 1,
          'the revoked connection awaiting resume',
        );
        const sum = sampleValue(m1, 'rtauthd_revocation_apply_duration_seconds_sum') - sampleValue(m0, 'rtauthd_revocation_apply_duration_seconds_sum');
        assert.ok(sum >= 0 && sum < 2, `apply took ${sum} s`);
        // the index holds it (until its tokens expire) in memory of its own (issue 19)
        assert.equal(sampleValue(m1, 'rtauthd_revocation_index_records'), sampleValue(m0, 'rtauthd_revocation_index_records') + 1);
        assert.ok(sampleValue(m1, 'rtauthd_revocation_index_bytes') >= 64 * 1024, 'at least one pool chunk');
      });
    });
  }
});

describe('GET /metrics on a non-loopback listener', () => {
  let tmp;
  const servers = [];
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rtauth-metrics-'));
  });
  after(async () => {
    for (const s of servers) await s.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('without --metrics-token-file: refused with 403/40300 whoever asks, even from loopback', async () => {
    const server = await startServer({ listenHost: '0.0.0.0' });
    servers.push(server);
    for (const { name } of FORMATS) {
      const format = name === 'binary' ? 'msgpack' : 'json';
      const r = await raw(server, 'GET', '/metrics', { format });
      // the error is JSON whatever the Accept: the metrics route speaks text or JSON
      assertErrorReply(r, { status: 403, code: 40300 }, `GET /metrics on 0.0.0.0 (${name})`);
    }
    // the other routes are unaffected
    assert.equal((await raw(server, 'GET', '/time')).status, 200);
  });

  it('with --metrics-token-file: 401/40101 without or with a wrong bearer token, 200 with it', async () => {
    const token = `${randomId('tok')}${randomId('x')}`;
    const file = path.join(tmp, 'metrics-token');
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
    const server = await startServer({ listenHost: '0.0.0.0', args: ['--metrics-token-file', file] });
    servers.push(server);
    assertErrorReply(await raw(server, 'GET', '/metrics'), { status: 401, code: 40101 }, 'no credential');
    for (const authorization of [`Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, `Basic ${token}`])
      assertErrorReply(await raw(server, 'GET', '/metrics', { headers: { authorization } }), { status: 401, code: 40101 }, authorization.split(' ')[0]);
    const r = await raw(server, 'GET', '/metrics', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    const m = parsePromText(r.body);
    assert.equal(m.get('rtauthd_connections').type, 'gauge');
    assert.ok(!server.output.includes(token), 'token in the log');
  });

  it('refuses to start with a token file that group or others can read', async () => {
    const file = path.join(tmp, 'metrics-token-open');
    fs.writeFileSync(file, 'a-long-enough-metrics-token\n', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const { spawnSync } = await import('node:child_process');
    const dataDir = fs.mkdtempSync(path.join(tmp, 'data-'));
    const res = spawnSync(RTAUTHD, ['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--metrics-token-file', file], {
      encoding: 'utf8',
      timeout: 10000,
    });
    assert.notEqual(res.status, 0, `rtauthd started: ${res.stdout}${res.stderr}`);
    assert.match(res.stderr + res.stdout, /metrics token file .* mode 0644/);
    assert.ok(!(res.stderr + res.stdout).includes('a-long-enough-metrics-token'), 'token content in the error');
  });
});

