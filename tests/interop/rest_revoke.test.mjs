// Token revocation (RSA17, RSA17b-g, TRT2, TRS2, TRF2, BAR2; checklist B10: S-66..S-70).
// Enforcement is proven over raw HTTP: POST /keys/{keyName}/revokeTokens with
// `Authorization: Bearer base64(token)` answers 40141 for a revoked token and 40162 (valid
// token, but revocation needs Basic auth) for a live one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  FORMATS,
  assertErrorReply,
  basicAuth,
  probeToken,
  randomId,
  raw,
  rejectsWith,
  restClient,
  serverTime,
  signJwt,
  waitUntil,
} from './lib/helpers.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const SLACK_MS = 1000;

let server;
let app;
let k0; // not revocable
let k4; // revocableTokens: true

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
  k0 = app.keys[0];
  k4 = app.keys[4];
  assert.equal(k4.revocableTokens, true);
});

after(async () => {
  if (server) await server.stop();
});

async function assertAccepted(token, what) {
  assertErrorReply(await probeToken(server, k4.keyName, token), { status: 401, code: 40162 }, `${what} should be live`);
}

async function assertRevoked(token, what) {
  assertErrorReply(await probeToken(server, k4.keyName, token), { status: 401, code: 40141 }, `${what} should be revoked`);
}

/** TRS2: a success result. */
function assertSuccess(r, target) {
  assert.equal(r.target, target);
  assert.ok(Number.isInteger(r.issuedBefore), `issuedBefore ${r.issuedBefore}`);
  assert.ok(Number.isInteger(r.appliesAt), `appliesAt ${r.appliesAt}`);
  assert.ok(!('error' in r), `unexpected error in ${JSON.stringify(r)}`);
}

/** TRF2: a failure result. */
function assertFailure(r, target, statusCode, code) {
  assert.equal(r.target, target);
  assert.ok(r.error && typeof r.error === 'object', `no error in ${JSON.stringify(r)}`);
  assert.equal(r.error.statusCode, statusCode, JSON.stringify(r));
  if (code !== undefined) assert.equal(r.error.code, code, JSON.stringify(r));
  assert.ok(Number.isInteger(r.error.code), JSON.stringify(r));
  assert.equal(typeof r.error.message, 'string');
}

for (const { name, binary } of FORMATS) {
  describe(`revokeTokens (${name})`, () => {
    const keyRest = () => restClient(server, { key: k4.keyStr }, binary);

    it('revokes by clientId; invalidType gives a per-target 400 failure (RSA17c, TRS2, TRF2, BAR2, S-68, S-69)', async () => {
      const rest = keyRest();
      const cA = randomId('cA');
      const cB = randomId('cB');
      const cOther = randomId('cOther');
      const [tA, tA2, tB, tOther] = await Promise.all([
        rest.auth.requestToken({ clientId: cA }),
        rest.auth.requestToken({ clientId: cA, ttl: 60000 }),
        rest.auth.requestToken({ clientId: cB }),
        rest.auth.requestToken({ clientId: cOther }),
      ]);
      for (const t of [tA, tA2, tB, tOther]) await assertAccepted(t.token, `token of ${t.clientId}`);
      await sleep(5); // tokens are revoked when issued strictly before issuedBefore

      const before = Date.now();
      const result = await rest.auth.revokeTokens([
        { type: 'clientId', value: cA },
        { type: 'clientId', value: cB },
        { type: 'invalidType', value: 'abc' },
      ]);
      const afterCall = Date.now();
      assert.equal(result.successCount, 2, JSON.stringify(result));
      assert.equal(result.failureCount, 1, JSON.stringify(result));
      assert.equal(result.results.length, 3);
      assertSuccess(result.results[0], `clientId:${cA}`);
      assertSuccess(result.results[1], `clientId:${cB}`);
      assertFailure(result.results[2], 'invalidType:abc', 400);
      const r0 = result.results[0];
      assert.ok(r0.issuedBefore >= before - SLACK_MS && r0.issuedBefore <= afterCall + SLACK_MS, 'issuedBefore defaults to now (S-67)');
      // The default boundary covers the millisecond the request was received (issuedBefore is
      // that millisecond + 1, docs/server.md); without a margin it applies from that millisecond.
      assert.ok(r0.appliesAt >= r0.issuedBefore - 1 && r0.appliesAt <= afterCall + SLACK_MS, 'no margin: applies ~now (S-67)');

      await waitUntil(Math.max(r0.appliesAt, result.results[1].appliesAt) + 2);
      await assertRevoked(tA.token, 'first token of cA');
      await assertRevoked(tA2.token, 'second token of cA');
      await assertRevoked(tB.token, 'token of cB');
      await assertAccepted(tOther.token, 'token of an unrelated clientId');

      // S-69: tokens issued after the revocation are unaffected; revocation is not a ban.
      await sleep(5);
      const fresh = await rest.auth.requestToken({ clientId: cA });
      await assertAccepted(fresh.token, 'token of cA issued after the revocation');
    });

    it('revokes by revocationKey (JWT x-ably-revocation-key) (S-68)', async () => {
      const rest = keyRest();
      const rk = randomId('rk');
      const jwt = signJwt(k4, { 'x-ably-revocation-key': rk, 'x-ably-clientId': randomId('jwtc') }, { ttlSeconds: 1800 });
      const other = signJwt(k4, { 'x-ably-revocation-key': randomId('rk-other') }, { ttlSeconds: 1800 });
      await assertAccepted(jwt, 'JWT with the revocation key');
      await assertAccepted(other, 'JWT with another revocation key');
      await sleep(5);
      const result = await rest.auth.revokeTokens([{ type: 'revocationKey', value: rk }]);
      assert.equal(result.successCount, 1, JSON.stringify(result));
      assert.equal(result.failureCount, 0);
      assertSuccess(result.results[0], `revocationKey:${rk}`);
      await waitUntil(result.results[0].appliesAt + 2);
      await assertRevoked(jwt, 'JWT with the revoked revocation key');
      await assertAccepted(other, 'JWT with another revocation key');
    });

    it('revokes a single token with the rtauth "token:<token>" target', async () => {
      const rest = keyRest();
      const clientId = randomId('tok');
      const [t1, t2] = await Promise.all([rest.auth.requestToken({ clientId }), rest.auth.requestToken({ clientId })]);
      await sleep(5);
      const result = await rest.auth.revokeTokens([{ type: 'token', value: t1.token }]);
      assert.equal(result.successCount, 1, JSON.stringify(result));
      assert.equal(result.failureCount, 0);
      assertSuccess(result.results[0], `token:${t1.token}`);
      await waitUntil(result.results[0].appliesAt + 2);
      await assertRevoked(t1.token, 'the revoked token');
      await assertAccepted(t2.token, 'another token with the same clientId');
    });

    it('"token:" targets: a token of another key -> per-target 40133; garbage -> per-target 400', async () => {
      const rest = keyRest();
      const foreign = await restClient(server, { key: k0.keyStr }, binary).auth.requestToken();
      const result = await rest.auth.revokeTokens([
        { type: 'token', value: foreign.token },
        { type: 'token', value: 'not-a-token' },
      ]);
      assert.equal(result.successCount, 0, JSON.stringify(result));
      assert.equal(result.failureCount, 2);
      assertFailure(result.results[0], `token:${foreign.token}`, 401, 40133);
      assertFailure(result.results[1], 'token:not-a-token', 400);
    });

    it('issuedBefore is echoed, and tokens issued after it are not revoked (RSA17e, TRS2c)', async () => {
      const rest = keyRest();
      const clientId = randomId('ib');
      const t0 = await rest.time();
      const issuedBefore = t0 - 20 * 60 * 1000;
      const td = await rest.auth.requestToken({ clientId });
      const result = await rest.auth.revokeTokens([{ type: 'clientId', value: clientId }], { issuedBefore });
      assert.equal(result.successCount, 1, JSON.stringify(result));
      assertSuccess(result.results[0], `clientId:${clientId}`);
      assert.equal(result.results[0].issuedBefore, issuedBefore);
      await waitUntil(result.results[0].appliesAt + 2);
      await assertAccepted(td.token, 'token issued after issuedBefore');
    });

    it('allowReauthMargin: appliesAt > now + 25 s and the token stays valid until then (RSA17f, S-67)', async () => {
      const rest = keyRest();
      const clientId = randomId('margin');
      const td = await rest.auth.requestToken({ clientId });
      await sleep(5);
      const t0 = await rest.time();
      const result = await rest.auth.revokeTokens([{ type: 'clientId', value: clientId }], { allowReauthMargin: true });
      const t1 = Date.now();
      assert.equal(result.successCount, 1, JSON.stringify(result));
      const r = result.results[0];
      assertSuccess(r, `clientId:${clientId}`);
      assert.ok(r.appliesAt > t0 + 25000, `appliesAt ${r.appliesAt} not > server time ${t0} + 25 s`);
      assert.ok(r.appliesAt <= t1 + 30000 + SLACK_MS, `appliesAt ${r.appliesAt} more than 30 s ahead`);
      await assertAccepted(td.token, 'token within the reauth margin');
    });

    it('issuedBefore in the future or more than 1 h ago -> 400/40003 (S-67)', async () => {
      const rest = keyRest();
      const t = await rest.time();
      await rejectsWith(
        rest.auth.revokeTokens([{ type: 'clientId', value: 'x' }], { issuedBefore: t + 60000 }),
        { statusCode: 400, code: 40003 },
        'issuedBefore +60 s',
      );
      await rejectsWith(
        rest.auth.revokeTokens([{ type: 'clientId', value: 'x' }], { issuedBefore: t - 2 * 3600000 }),
        { statusCode: 400, code: 40003 },
        'issuedBefore -2 h',
      );
    });

    it('a key without revocableTokens -> 401/40163 (S-66)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      await rejectsWith(rest.auth.revokeTokens([{ type: 'clientId', value: 'x' }]), { statusCode: 401, code: 40163 }, 'non-revocable key');
    });

    it('token auth -> 40162/401, client-side (RSA17d)', async () => {
      const td = await keyRest().auth.requestToken();
      const rest = restClient(server, { token: td.token }, binary);
      await rejectsWith(rest.auth.revokeTokens([{ type: 'clientId', value: 'x' }]), { statusCode: 401, code: 40162 }, 'token client');
      const rest2 = restClient(server, { key: k4.keyStr, useTokenAuth: true }, binary);
      await rejectsWith(rest2.auth.revokeTokens([{ type: 'clientId', value: 'x' }]), { statusCode: 401, code: 40162 }, 'useTokenAuth client');
    });
  });
}

describe('revokeTokens, raw HTTP', () => {
  for (const format of ['json', 'msgpack']) {
    it(`reply in the request's format (${format}): 2xx, exact Content-Type, BatchResult body (S-70)`, async () => {
      const target = `clientId:${randomId('raw')}`;
      const r = await raw(server, 'POST', `/keys/${k4.keyName}/revokeTokens`, {
        format,
        headers: { authorization: basicAuth(k4.keyStr), 'x-ably-version': '6' },
        body: { targets: [target, 'invalidType:abc'] },
      });
      assert.ok(r.status >= 200 && r.status < 300, `status ${r.status} body ${JSON.stringify(r.body)}`);
      assert.equal(r.contentType, format === 'json' ? 'application/json' : 'application/x-msgpack');
      assert.equal(r.body.successCount, 1);
      assert.equal(r.body.failureCount, 1);
      assertSuccess(r.body.results[0], target);
      assertFailure(r.body.results[1], 'invalidType:abc', 400);
    });

    it(`Basic auth with a different key than the path -> 401/40133 (${format}, S-66)`, async () => {
      const r = await raw(server, 'POST', `/keys/${k4.keyName}/revokeTokens`, {
        format,
        headers: { authorization: basicAuth(k0.keyStr) },
        body: { targets: ['clientId:x'] },
      });
      assertErrorReply(r, { status: 401, code: 40133, format }, 'wrong key');
    });

    it(`empty targets -> 400 (${format})`, async () => {
      const r = await raw(server, 'POST', `/keys/${k4.keyName}/revokeTokens`, {
        format,
        headers: { authorization: basicAuth(k4.keyStr) },
        body: { targets: [] },
      });
      assertErrorReply(r, { status: 400, format }, 'empty targets');
    });

    it(`more than 100 targets -> 400 (${format}, S-67)`, async () => {
      const targets = Array.from({ length: 101 }, (_, i) => `clientId:many-${i}`);
      const r = await raw(server, 'POST', `/keys/${k4.keyName}/revokeTokens`, {
        format,
        headers: { authorization: basicAuth(k4.keyStr) },
        body: { targets },
      });
      assertErrorReply(r, { status: 400, format }, '101 targets');
    });
  }

  it('a revoked token presented with a raw (non-base64) Bearer header is refused with 40141 too', async () => {
    const rest = restClient(server, { key: k4.keyStr }, false);
    const td = await rest.auth.requestToken({ clientId: randomId('rawbearer') });
    await sleep(5);
    const res = await rest.auth.revokeTokens([{ type: 'clientId', value: td.clientId }]);
    await waitUntil(res.results[0].appliesAt + 2);
    const r = await probeToken(server, k4.keyName, td.token, { rawBearer: true });
    assertErrorReply(r, { status: 401, code: 40141 }, 'raw bearer revoked token');
  });

  it('revocations, keys and issued tokens survive a server restart (durable store)', async () => {
    const rest = restClient(server, { key: k4.keyStr }, false);
    const revoked = await rest.auth.requestToken({ clientId: randomId('durable') });
    const live = await rest.auth.requestToken({ clientId: randomId('durable-live') });
    await sleep(5);
    const res = await rest.auth.revokeTokens([{ type: 'clientId', value: revoked.clientId }]);
    await waitUntil(res.results[0].appliesAt + 2);
    await assertRevoked(revoked.token, 'revoked token before restart');

    server = await server.restart();
    await assertRevoked(revoked.token, 'revoked token after restart');
    await assertAccepted(live.token, 'live token after restart');
    const again = await restClient(server, { key: k4.keyStr }, false).auth.requestToken({ ttl: 60000 });
    assert.equal(again.keyName, k4.keyName);
  });
});
