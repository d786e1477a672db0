// requestToken failures (checklist B3: S-18..S-25; RSA9, TK2a; error codes from part C) and
// the REST error format (S-65, wire doc 4.6: exact Content-Type, x-ably-errorcode and
// x-ably-errormessage headers, {error:{message,code,statusCode}}).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  FORMATS,
  assertErrorReply,
  basicAuth,
  raw,
  rejectsWith,
  restClient,
  serverTime,
  signTokenRequest,
} from './lib/helpers.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const HOUR = 3600000;
const DAY = 24 * HOUR;

let server;
let app;
let k0;
let k4; // revocableTokens: true

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
  k0 = app.keys[0];
  k4 = app.keys[4];
});

after(async () => {
  if (server) await server.stop();
});

for (const { name, binary } of FORMATS) {
  describe(`requestToken errors through ably-js (${name})`, () => {
    it('invalid mac -> 401/40101 (S-19)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      await rejectsWith(rest.auth.requestToken({ mac: '12345' }), { statusCode: 401, code: 40101 }, 'mac 12345');
    });

    it('TokenRequest with a tampered mac via authCallback -> 401/40101 (S-19)', async () => {
      const keyRest = restClient(server, { key: k0.keyStr }, binary);
      const tr = await keyRest.auth.createTokenRequest({ clientId: 'alice' });
      const mac = Buffer.from(tr.mac, 'base64');
      mac[0] ^= 1;
      const rest = restClient(server, { authCallback: (p, cb) => cb(null, { ...tr, mac: mac.toString('base64') }) }, binary);
      await rejectsWith(rest.auth.requestToken(), { statusCode: 401, code: 40101 }, 'tampered mac');
    });

    it('TokenRequest whose fields were changed after signing -> 401/40101 (S-19)', async () => {
      const keyRest = restClient(server, { key: k0.keyStr }, binary);
      const tr = await keyRest.auth.createTokenRequest({ clientId: 'alice', ttl: 60000 });
      const rest = restClient(server, { authCallback: (p, cb) => cb(null, { ...tr, clientId: 'mallory' }) }, binary);
      await rejectsWith(rest.auth.requestToken(), { statusCode: 401, code: 40101 }, 'clientId changed after signing');
      const rest2 = restClient(server, { authCallback: (p, cb) => cb(null, { ...tr, ttl: 120000 }) }, binary);
      await rejectsWith(rest2.auth.requestToken(), { statusCode: 401, code: 40101 }, 'ttl changed after signing');
    });

    it('right key name, wrong secret -> 401/40101 (S-19)', async () => {
      const rest = restClient(server, { key: `${k0.keyName}:wrongsecretwrongsecret` }, binary);
      await rejectsWith(rest.auth.requestToken(), { statusCode: 401, code: 40101 }, 'wrong secret');
    });

    it('timestamp 30 min old -> 401/40104 (S-20)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const badTime = Date.now() - 30 * 60 * 1000;
      await rejectsWith(rest.auth.requestToken({ timestamp: badTime }), { statusCode: 401, code: 40104 }, 'old timestamp');
    });

    it('timestamp 30 min in the future -> 401/40104 (S-20)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const badTime = Date.now() + 30 * 60 * 1000;
      await rejectsWith(rest.auth.requestToken({ timestamp: badTime }), { statusCode: 401, code: 40104 }, 'future timestamp');
    });

    it('duplicate nonce via ably-js -> 401/40105 (S-21, RSA9c)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const t = await rest.time();
      const nonce = `${binary ? 1 : 2}234567890123456`;
      const td = await rest.auth.requestToken({ timestamp: t, nonce });
      assert.ok(td.token);
      await rejectsWith(rest.auth.requestToken({ timestamp: t, nonce }), { statusCode: 401, code: 40105 }, 'replayed nonce');
    });

    it('negative ttl -> 400/40003 (S-22)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      await rejectsWith(rest.auth.requestToken({ ttl: -1 }), { statusCode: 400, code: 40003 }, 'ttl -1');
    });

    it('ttl of 365 days -> 400/40003 (S-22: max 24 h)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      await rejectsWith(rest.auth.requestToken({ ttl: 365 * DAY }), { statusCode: 400, code: 40003 }, 'ttl 365 d');
    });

    it('ttl "notanumber" -> 400/40003 (S-22)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      await rejectsWith(rest.auth.requestToken({ ttl: 'notanumber' }), { statusCode: 400, code: 40003 }, 'ttl string');
    });

    it('ttl of exactly 24 h is accepted; 24 h + 1 ms -> 400/40003 (S-22)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const td = await rest.auth.requestToken({ ttl: DAY });
      assert.equal(td.expires - td.issued, DAY);
      await rejectsWith(rest.auth.requestToken({ ttl: DAY + 1 }), { statusCode: 400, code: 40003 }, 'ttl 24h+1');
    });

    it('ttl 1 ms is accepted (already-expired tokens in ably-js tests)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const td = await rest.auth.requestToken({ ttl: 1 });
      assert.equal(typeof td.token, 'string');
      assert.equal(td.expires - td.issued, 1);
    });

    it('revocable key: ttl > 1 h -> 400/40003; 1 h and default accepted (S-22, REV)', async () => {
      const rest = restClient(server, { key: k4.keyStr }, binary);
      await rejectsWith(rest.auth.requestToken({ ttl: HOUR + 1 }), { statusCode: 400, code: 40003 }, 'revocable ttl 1h+1');
      await rejectsWith(rest.auth.requestToken({ ttl: 2 * HOUR }), { statusCode: 400, code: 40003 }, 'revocable ttl 2h');
      const td = await rest.auth.requestToken({ ttl: HOUR });
      assert.equal(td.expires - td.issued, HOUR);
      const td2 = await rest.auth.requestToken();
      assert.equal(td2.expires - td2.issued, HOUR);
      assert.equal(td2.keyName, k4.keyName);
    });

    it("clientId '' is rejected client-side with 40012/400 (RSA7c, TK2c)", async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      await rejectsWith(rest.auth.requestToken({ clientId: '' }), { statusCode: 400, code: 40012 }, "clientId ''");
    });

    it('unknown key id in a known app -> 404/40400', async () => {
      const rest = restClient(server, { key: `${app.appId}.nosuchkey:secretsecretsecret` }, binary);
      await rejectsWith(rest.auth.requestToken(), { statusCode: 404, code: 40400 }, 'unknown key');
    });

    it('unknown app -> 404/40400', async () => {
      const rest = restClient(server, { key: 'noSuchApp.noSuchKey:secretsecretsecret' }, binary);
      await rejectsWith(rest.auth.requestToken(), { statusCode: 404, code: 40400 }, 'unknown app');
    });
  });
}

describe('requestToken errors, raw HTTP', () => {
  const path = () => `/keys/${k0.keyName}/requestToken`;

  it('duplicate nonce: one createTokenRequest exchanged twice -> 2xx then 401/40105 (S-21)', async () => {
    const keyRest = restClient(server, { key: k0.keyStr }, false);
    const tr = await keyRest.auth.createTokenRequest({ clientId: 'dup' });
    const first = await raw(server, 'POST', `/keys/${tr.keyName}/requestToken`, { body: tr });
    assert.ok(first.status >= 200 && first.status < 300, `first exchange: ${first.status} ${JSON.stringify(first.body)}`);
    assert.equal(first.body.clientId, 'dup');
    const second = await raw(server, 'POST', `/keys/${tr.keyName}/requestToken`, { body: tr });
    assertErrorReply(second, { status: 401, code: 40105 }, 'second exchange');
  });

  it('a request refused for another reason does not burn its nonce (S-21)', async () => {
    const t = await serverTime(server);
    const nonce = '9876543210987654';
    const bad = signTokenRequest(k0, { timestamp: t, nonce, ttl: -5 });
    assertErrorReply(await raw(server, 'POST', path(), { body: bad }), { status: 400, code: 40003 }, 'negative ttl');
    const good = signTokenRequest(k0, { timestamp: t, nonce });
    const r = await raw(server, 'POST', path(), { body: good });
    assert.ok(r.status >= 200 && r.status < 300, `same nonce after a refused request: ${r.status} ${JSON.stringify(r.body)}`);
  });

  it("server side: a signed TokenRequest with clientId '' -> 400/40012 (S-25)", async () => {
    const tr = signTokenRequest(k0, { clientId: '' });
    assertErrorReply(await raw(server, 'POST', path(), { body: tr }), { status: 400, code: 40012 }, "clientId ''");
  });

  it('a nonce shorter than 16 characters -> 400 (S-21, RSA9c)', async () => {
    const tr = signTokenRequest(k0, { nonce: 'short' });
    assertErrorReply(await raw(server, 'POST', path(), { body: tr }), { status: 400 }, 'short nonce');
  });

  it('a signed request without timestamp -> 400/40001 (S-18)', async () => {
    const tr = signTokenRequest(k0, {});
    delete tr.timestamp;
    assertErrorReply(await raw(server, 'POST', path(), { body: tr }), { status: 400, code: 40001 }, 'no timestamp');
  });

  it('body keyName different from the path keyName -> 401/40101 (S-18)', async () => {
    const tr = signTokenRequest(k0, {});
    const other = app.keys[1].keyName;
    assertErrorReply(await raw(server, 'POST', `/keys/${other}/requestToken`, { body: tr }), { status: 401, code: 40101 }, 'keyName mismatch');
  });

  it('malformed JSON body -> 400', async () => {
    const r = await raw(server, 'POST', path(), { body: '{"keyName": ', headers: { 'content-type': 'application/json' } });
    const e = assertErrorReply(r, { status: 400 }, 'malformed JSON');
    assert.ok(e.code >= 40000 && e.code < 40100);
  });

  for (const format of ['json', 'msgpack']) {
    it(`error format (${format}): bad mac -> exact Content-Type, x-ably-error* headers, {error:{message,code,statusCode}} (S-65)`, async () => {
      const tr = signTokenRequest(k0, {});
      tr.mac = Buffer.alloc(32, 7).toString('base64');
      const r = await raw(server, 'POST', path(), { format, body: tr });
      assertErrorReply(r, { status: 401, code: 40101, format }, `bad mac (${format})`);
    });

    it(`error format (${format}): old timestamp -> 40104 with headers (S-20, S-65)`, async () => {
      const tr = signTokenRequest(k0, { timestamp: Date.now() - 30 * 60 * 1000 });
      const r = await raw(server, 'POST', path(), { format, body: tr });
      assertErrorReply(r, { status: 401, code: 40104, format }, `old timestamp (${format})`);
    });

    it(`error format (${format}): ttl "notanumber" signed as text -> 400/40003 (S-22)`, async () => {
      const tr = signTokenRequest(k0, { ttl: 'notanumber' });
      const r = await raw(server, 'POST', path(), { format, body: tr });
      assertErrorReply(r, { status: 400, code: 40003, format }, `ttl notanumber (${format})`);
    });

    it(`error format (${format}): unknown key -> 404/40400`, async () => {
      const tr = signTokenRequest({ keyName: `${app.appId}.nokey`, keySecret: 'x' }, {});
      const r = await raw(server, 'POST', `/keys/${app.appId}.nokey/requestToken`, { format, body: tr });
      assertErrorReply(r, { status: 404, code: 40400, format }, `unknown key (${format})`);
    });

    it(`error format (${format}): unknown route -> 404/40400`, async () => {
      const r = await raw(server, 'GET', '/no/such/route', { format });
      assertErrorReply(r, { status: 404, code: 40400, format }, `unknown route (${format})`);
    });

    it(`error format (${format}): revokeTokens without credentials -> 401 (not a token error)`, async () => {
      const r = await raw(server, 'POST', `/keys/${k4.keyName}/revokeTokens`, { format, body: { targets: ['clientId:x'] } });
      const e = assertErrorReply(r, { status: 401, format }, `no credentials (${format})`);
      assert.ok(e.code < 40140 || e.code > 40149, `code ${e.code} must not be a token error (S-65)`);
    });

    it(`error format (${format}): revokeTokens with a wrong secret -> 401/40101`, async () => {
      const r = await raw(server, 'POST', `/keys/${k4.keyName}/revokeTokens`, {
        format,
        headers: { authorization: basicAuth(`${k4.keyName}:wrongsecretwrongsecret`) },
        body: { targets: ['clientId:x'] },
      });
      assertErrorReply(r, { status: 401, code: 40101, format }, `wrong secret (${format})`);
    });
  }
});
