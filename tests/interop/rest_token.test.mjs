// requestToken / createTokenRequest / authorize with ably-js against rtauthd (RSA8, RSA9,
// RSA10, TK2a, TD, S-17..S-27). Format-sensitive cases run with useBinaryProtocol true and false.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  FORMATS,
  assertErrorReply,
  basicAuth,
  bearer,
  parseCap,
  probeToken,
  raw,
  restClient,
  serverTime,
  signJwt,
  signTokenRequest,
} from './lib/helpers.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const HOUR = 3600000;
const SLACK_MS = 100; // issued vs. server time taken just before (same host clock)

let server;
let app;
let k0; // keys[0], {"*":["*"]}

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
  k0 = app.keys[0];
});

after(async () => {
  if (server) await server.stop();
});

/** The TokenDetails checks shared by every successful requestToken (TD1-TD6, S-26). */
function assertTokenDetails(td, { keyName, ttl = HOUR, t0, capability, clientId }) {
  assert.equal(typeof td.token, 'string');
  assert.ok(td.token.length > 0);
  assert.ok(!td.token.includes(':'), 'a token must never contain ":" (RSC1a)');
  assert.equal(td.keyName, keyName);
  assert.ok(Number.isInteger(td.issued), `issued=${td.issued}`);
  assert.ok(Number.isInteger(td.expires), `expires=${td.expires}`);
  assert.equal(td.expires - td.issued, ttl, 'expires - issued must equal the ttl exactly (TK2a)');
  if (t0 !== undefined) {
    assert.ok(td.issued >= t0 - SLACK_MS, `issued ${td.issued} before server time at test start ${t0}`);
    assert.ok(td.issued <= Date.now() + SLACK_MS, `issued ${td.issued} in the future`);
  }
  assert.equal(typeof td.capability, 'string', 'capability must be a JSON string (TD5)');
  if (capability !== undefined) assert.deepEqual(JSON.parse(td.capability), capability);
  if (clientId === undefined) {
    assert.equal(td.clientId, undefined, 'an anonymous token has no clientId');
    assert.ok(!Object.hasOwn(td, 'clientId'), 'clientId must be omitted, not null (init_key_with_usetokenauth)');
  } else {
    assert.equal(td.clientId, clientId);
  }
}

for (const { name, binary } of FORMATS) {
  describe(`requestToken with a key (${name})`, () => {
    it('rest.time() returns the server time (RSC16)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const before = Date.now();
      const t = await rest.time();
      assert.ok(Number.isInteger(t), `time=${t}`);
      assert.ok(Math.abs(t - before) < 5000, `server time ${t} vs local ${before}`);
    });

    it('default token: keyName, issued, expires = issued + 1 h, capability = key capability, no clientId (RSA8a, TK2a, RSA6)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const t0 = await rest.time();
      const td = await rest.auth.requestToken();
      assertTokenDetails(td, { keyName: k0.keyName, t0, capability: { '*': ['*'] } });
    });

    it('explicit ttl is honoured exactly (RSA8b, TK2a)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const t0 = await serverTime(server);
      const td = await rest.auth.requestToken({ ttl: 100 * 1000 });
      assertTokenDetails(td, { keyName: k0.keyName, ttl: 100000, t0, capability: { '*': ['*'] } });
    });

    it('token with clientId (TK2c, TD6)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const td = await rest.auth.requestToken({ clientId: 'test client id' });
      assertTokenDetails(td, { keyName: k0.keyName, capability: { '*': ['*'] }, clientId: 'test client id' });
    });

    it('wildcard clientId "*" token (S-25)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const td = await rest.auth.requestToken({ clientId: '*' });
      assertTokenDetails(td, { keyName: k0.keyName, clientId: '*' });
    });

    it('non-ASCII clientId round-trips (S-25)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const td = await rest.auth.requestToken({ clientId: 'zoë 测试 🚀' });
      assertTokenDetails(td, { keyName: k0.keyName, clientId: 'zoë 测试 🚀' });
    });

    it('explicit timestamp = server time (RSA9d)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const t0 = await rest.time();
      const td = await rest.auth.requestToken({ timestamp: t0 });
      assertTokenDetails(td, { keyName: k0.keyName, t0, capability: { '*': ['*'] } });
    });

    it('capability that subsets the key capability is granted as requested (S-24)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const td = await rest.auth.requestToken({ capability: { onlythischannel: ['subscribe'] } });
      assertTokenDetails(td, { keyName: k0.keyName, capability: { onlythischannel: ['subscribe'] } });
    });

    it('requestToken with another key in authOptions (RSA8e)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const k1 = app.keys[1];
      const td = await rest.auth.requestToken(null, { key: k1.keyStr });
      assertTokenDetails(td, { keyName: k1.keyName, capability: JSON.parse(k1.capability) });
    });

    it('an extra Basic Authorization header on requestToken is tolerated (wire 4.2, "explicit auth")', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const authHeaders = await rest.auth.getAuthHeaders();
      assert.match(authHeaders.authorization, /^Basic /);
      const td = await rest.auth.requestToken(null, { key: k0.keyStr, requestHeaders: authHeaders });
      assertTokenDetails(td, { keyName: k0.keyName, capability: { '*': ['*'] } });
    });

    it('defaultTokenParams are used when no tokenParams are passed (RSA8e)', async () => {
      const rest = restClient(server, { key: k0.keyStr, defaultTokenParams: { ttl: 123456, clientId: 'foo' } }, binary);
      const td = await rest.auth.requestToken();
      assertTokenDetails(td, { keyName: k0.keyName, ttl: 123456, clientId: 'foo' });
    });

    it('explicit tokenParams replace defaultTokenParams entirely, not merged (RSA8e)', async () => {
      const rest = restClient(server, { key: k0.keyStr, defaultTokenParams: { ttl: 123456, clientId: 'foo' } }, binary);
      const td = await rest.auth.requestToken({ clientId: 'bar' }, null);
      assertTokenDetails(td, { keyName: k0.keyName, ttl: HOUR, clientId: 'bar' });
    });

    it('queryTime: true fetches the server time once and the token request is accepted (RSA9d, RSA10k)', async () => {
      const rest = restClient(server, { key: k0.keyStr, queryTime: true }, binary);
      assert.equal(rest.serverTimeOffset, null);
      const t0 = await serverTime(server);
      const td = await rest.auth.requestToken();
      assert.equal(typeof rest.serverTimeOffset, 'number', 'queryTime must have called GET /time');
      assert.ok(Math.abs(rest.serverTimeOffset) < 5000);
      assertTokenDetails(td, { keyName: k0.keyName, t0, capability: { '*': ['*'] } });
      const td2 = await rest.auth.requestToken({ ttl: 5000 });
      assertTokenDetails(td2, { keyName: k0.keyName, ttl: 5000 });
    });

    it('useTokenAuth with a key: authorize() gets an anonymous token (RSA4, RSA10a)', async () => {
      const rest = restClient(server, { key: k0.keyStr, useTokenAuth: true }, binary);
      const td = await rest.auth.authorize();
      assertTokenDetails(td, { keyName: k0.keyName, capability: { '*': ['*'] } });
      assert.equal(rest.auth.tokenDetails.token, td.token);
      assert.equal(rest.auth.clientId, undefined);
    });

    it('authorize() with no args, null, (null, null) all give tokens (RSA10j)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const results = await Promise.all([rest.auth.authorize(), rest.auth.authorize(null), rest.auth.authorize(null, null)]);
      for (const td of results) assertTokenDetails(td, { keyName: k0.keyName });
    });

    it('createTokenRequest, then an authCallback returning it: the client exchanges it (RSA9a, RSA8d)', async () => {
      const keyRest = restClient(server, { key: k0.keyStr }, binary);
      const tokenRequest = await keyRest.auth.createTokenRequest({ clientId: 'bob', ttl: 60000 });
      assert.equal(tokenRequest.keyName, k0.keyName);
      assert.ok('mac' in tokenRequest && 'nonce' in tokenRequest && 'timestamp' in tokenRequest);
      let calls = 0;
      const rest = restClient(
        server,
        {
          authCallback: (params, cb) => {
            calls++;
            cb(null, tokenRequest);
          },
        },
        binary,
      );
      const td = await rest.auth.authorize({ clientId: 'bob' });
      assert.equal(calls, 1);
      assertTokenDetails(td, { keyName: k0.keyName, ttl: 60000, clientId: 'bob' });
      assert.equal(rest.auth.tokenDetails.token, td.token);
    });

    it('createTokenRequest without params has no ttl/capability; exchanging gives key defaults (RSA5, RSA6)', async () => {
      const keyRest = restClient(server, { key: k0.keyStr }, binary);
      const tokenRequest = await keyRest.auth.createTokenRequest(null, null);
      assert.ok(!('ttl' in tokenRequest) && !('capability' in tokenRequest));
      const rest = restClient(server, { authCallback: (p, cb) => cb(null, tokenRequest) }, binary);
      const td = await rest.auth.requestToken();
      assertTokenDetails(td, { keyName: k0.keyName, ttl: HOUR, capability: { '*': ['*'] } });
    });

    it('authCallback returning a TokenDetails (RSA8d)', async () => {
      const keyRest = restClient(server, { key: k0.keyStr }, binary);
      const issued = await keyRest.auth.requestToken({ clientId: 'carol' });
      const rest = restClient(server, { authCallback: (p, cb) => cb(null, issued) }, binary);
      const td = await rest.auth.authorize();
      assert.deepEqual(td, issued);
      assert.deepEqual(rest.auth.tokenDetails, issued);
      const probe = await probeToken(server, k0.keyName, rest.auth.tokenDetails.token);
      assertErrorReply(probe, { status: 401, code: 40162 }, 'token from authCallback TokenDetails');
    });

    it('authCallback returning a token string (RSA8d)', async () => {
      const keyRest = restClient(server, { key: k0.keyStr }, binary);
      const issued = await keyRest.auth.requestToken();
      const rest = restClient(server, { authCallback: (p, cb) => cb(null, issued.token) }, binary);
      const td = await rest.auth.authorize();
      assert.deepEqual(td, { token: issued.token });
      const probe = await probeToken(server, k0.keyName, td.token);
      assertErrorReply(probe, { status: 401, code: 40162 }, 'token from authCallback string');
    });

    it('clients built with { token } / { tokenDetails } send Bearer base64(token); rest.request works (RSA3b, RSA16b)', async () => {
      const keyRest = restClient(server, { key: k0.keyStr }, binary);
      const issued = await keyRest.auth.requestToken({ clientId: 'dave' });
      for (const opts of [{ token: issued.token }, { tokenDetails: issued }]) {
        const rest = restClient(server, opts, binary);
        assert.equal(rest.auth.tokenDetails.token, issued.token);
        const headers = await rest.auth.getAuthHeaders();
        assert.equal(headers.authorization, bearer(issued.token));
        const timeRes = await rest.request('get', '/time', 3, null, null);
        assert.equal(timeRes.statusCode, 200);
        assert.ok(timeRes.success);
        assert.ok(Number.isInteger(timeRes.items[0]), `GET /time items ${JSON.stringify(timeRes.items)}`);
        // An authenticated route through ably-js itself: the token passes verification and is
        // then refused because revocation needs Basic auth (40162, not a 4014x token error).
        const res = await rest.request('post', `/keys/${k0.keyName}/revokeTokens`, 3, null, {
          targets: ['clientId:nobody'],
        });
        assert.equal(res.statusCode, 401, JSON.stringify(res));
        assert.equal(res.errorCode, 40162, `errorCode=${res.errorCode} message=${res.errorMessage}`);
        assert.equal(res.success, false);
      }
    });
  });
}

describe('token acceptance through raw HTTP (S-3, S-27)', () => {
  it('Bearer base64(token) to revokeTokens gives 401/40162: the token was parsed and accepted', async () => {
    const rest = restClient(server, { key: k0.keyStr }, false);
    const td = await rest.auth.requestToken();
    for (const format of ['json', 'msgpack']) {
      const r = await probeToken(server, k0.keyName, td.token, { format });
      assertErrorReply(r, { status: 401, code: 40162, format }, `probe (${format})`);
    }
  });

  it('a raw (non-base64) Bearer token is accepted too (S-3, D2)', async () => {
    const rest = restClient(server, { key: k0.keyStr }, false);
    const td = await rest.auth.requestToken();
    const r = await probeToken(server, k0.keyName, td.token, { rawBearer: true });
    assertErrorReply(r, { status: 401, code: 40162 }, 'raw bearer probe');
  });

  it('a garbage token gives a 4014x token error, not 40162', async () => {
    const r = await probeToken(server, k0.keyName, `${app.appId}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`);
    const e = assertErrorReply(r, { status: 401 }, 'garbage token');
    assert.ok(e.code >= 40140 && e.code <= 40149, `code ${e.code} must be a token error`);
  });

  it('a tampered token (one character changed) is rejected with a 4014x token error', async () => {
    const rest = restClient(server, { key: k0.keyStr }, false);
    const { token } = await rest.auth.requestToken();
    const i = token.length - 5;
    const tampered = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
    const r = await probeToken(server, k0.keyName, tampered);
    const e = assertErrorReply(r, { status: 401 }, 'tampered token');
    assert.ok(e.code >= 40140 && e.code <= 40149, `code ${e.code} must be a token error`);
  });

  it('an expired token (ttl 1 ms) gives 40142 (S-22, RSA4b)', async () => {
    const rest = restClient(server, { key: k0.keyStr }, false);
    const td = await rest.auth.requestToken({ ttl: 1 });
    assert.equal(td.expires - td.issued, 1);
    await new Promise((r) => setTimeout(r, 20));
    const r = await probeToken(server, k0.keyName, td.token);
    assertErrorReply(r, { status: 401, code: 40142 }, 'expired token');
  });

  it('a JWT signed with the key is accepted; a bad signature gives 40101; an unknown kid gives 40400/404 (S-31, S-32)', async () => {
    const good = signJwt(k0, { 'x-ably-capability': JSON.stringify({ '*': ['*'] }), 'x-ably-clientId': 'jwt-user' });
    assertErrorReply(await probeToken(server, k0.keyName, good), { status: 401, code: 40162 }, 'valid JWT');
    const bad = signJwt({ keyName: k0.keyName, keySecret: 'not-the-secret' }, {});
    assertErrorReply(await probeToken(server, k0.keyName, bad), { status: 401, code: 40101 }, 'JWT with bad signature');
    const unknown = signJwt({ keyName: 'invalid.invalid', keySecret: 'invalidinvalid' }, {});
    assertErrorReply(await probeToken(server, k0.keyName, unknown), { status: 404, code: 40400 }, 'JWT with unknown kid');
  });

  it('msgpack requestToken (S-17): TokenDetails in msgpack, no clientId key for an anonymous token', async () => {
    const t0 = await serverTime(server);
    const req = signTokenRequest(k0, { ttl: 60000, timestamp: t0 });
    const r = await raw(server, 'POST', `/keys/${k0.keyName}/requestToken`, { format: 'msgpack', body: req });
    assert.ok(r.status >= 200 && r.status < 300, `status ${r.status} body ${JSON.stringify(r.body)}`);
    assert.equal(r.contentType, 'application/x-msgpack');
    assertTokenDetails(r.body, { keyName: k0.keyName, ttl: 60000, t0, capability: { '*': ['*'] } });
  });

  it('JSON requestToken reply is application/json with a JSON-string capability (S-26)', async () => {
    const req = signTokenRequest(k0, { clientId: 'eve', capability: JSON.stringify({ foo: ['subscribe'] }) });
    const r = await raw(server, 'POST', `/keys/${k0.keyName}/requestToken`, { format: 'json', body: req });
    assert.ok(r.status >= 200 && r.status < 300, `status ${r.status} body ${JSON.stringify(r.body)}`);
    assert.equal(r.contentType, 'application/json');
    assertTokenDetails(r.body, { keyName: k0.keyName, clientId: 'eve', capability: { foo: ['subscribe'] } });
    assert.deepEqual(parseCap(r.body.capability), { foo: ['subscribe'] });
  });

  it('50 concurrent requestToken calls from ably-js all succeed with distinct tokens (async nonce store)', async () => {
    const rest = restClient(server, { key: k0.keyStr }, true);
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => rest.auth.requestToken({ clientId: `c${i}`, ttl: 60000 + i })));
    all.forEach((td, i) => assertTokenDetails(td, { keyName: k0.keyName, ttl: 60000 + i, clientId: `c${i}` }));
    assert.equal(new Set(all.map((td) => td.token)).size, 50);
  });

  it('unsigned TokenParams with Basic auth (S-17, S-25): token issued; X-Ably-ClientId used, a mismatch -> 401/40102', async () => {
    const headers = { authorization: basicAuth(k0.keyStr) };
    const path = `/keys/${k0.keyName}/requestToken`;
    for (const format of ['json', 'msgpack']) {
      const r = await raw(server, 'POST', path, { format, headers, body: { ttl: 30000, clientId: 'basic-user' } });
      assert.ok(r.status >= 200 && r.status < 300, `status ${r.status} ${JSON.stringify(r.body)}`);
      assertTokenDetails(r.body, { keyName: k0.keyName, ttl: 30000, clientId: 'basic-user', capability: { '*': ['*'] } });
    }
    const idHeader = { ...headers, 'x-ably-clientid': Buffer.from('hdr-user').toString('base64') };
    const r2 = await raw(server, 'POST', path, { headers: idHeader, body: {} });
    assert.ok(r2.status >= 200 && r2.status < 300, `status ${r2.status} ${JSON.stringify(r2.body)}`);
    assert.equal(r2.body.clientId, 'hdr-user');
    const r3 = await raw(server, 'POST', path, { headers: idHeader, body: { clientId: 'someone-else' } });
    assertErrorReply(r3, { status: 401, code: 40102 }, 'X-Ably-ClientId vs body clientId');
    const r4 = await raw(server, 'POST', path, { body: { ttl: 30000 } });
    const e = assertErrorReply(r4, { status: 401 }, 'unsigned, no credentials');
    assert.ok(e.code < 40140 || e.code > 40149, `code ${e.code} must not be a token error`);
  });
});
