// authUrl (RSA8c, RSA8c1a-c, RSA8c2, RSA8g, RSA4f) with a real local auth server in front of
// rtauthd: replies as JSON TokenDetails, JSON TokenRequest (the client exchanges it with
// rtauthd), text/plain token string and application/jwt Ably JWT. Tokens the client ends up
// with are then proven against rtauthd (401/40162 on revokeTokens = credential accepted).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import { FORMATS, assertErrorReply, probeToken, restClient, signJwt } from './lib/helpers.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

let server;
let app;
let k0;
let keyRest; // the auth server's own Ably client (holds the key)
let authServer;
let authBase;
const recorded = [];

/** TokenParams as the auth server receives them (strings) -> ably-js TokenParams. */
function tokenParamsFrom(all) {
  const tp = {};
  if (all.ttl !== undefined) tp.ttl = Number(all.ttl);
  if (all.clientId !== undefined) tp.clientId = all.clientId;
  if (all.capability !== undefined) tp.capability = all.capability;
  return tp;
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  let body = '';
  for await (const chunk of req) body += chunk;
  const query = Object.fromEntries(url.searchParams);
  const form = req.method === 'POST' ? Object.fromEntries(new URLSearchParams(body)) : null;
  recorded.push({ method: req.method, path: url.pathname, query, form, headers: req.headers });
  const all = { ...query, ...(form || {}) };
  const tp = tokenParamsFrom(all);
  switch (url.pathname) {
    case '/details': {
      const td = await keyRest.auth.requestToken(tp);
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(td));
    }
    case '/request': {
      const tr = await keyRest.auth.createTokenRequest(tp);
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(tr));
    }
    case '/text': {
      const td = await keyRest.auth.requestToken(tp);
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end(td.token);
    }
    case '/jwt': {
      const claims = { 'x-ably-capability': tp.capability ?? JSON.stringify({ '*': ['*'] }) };
      if (tp.clientId !== undefined) claims['x-ably-clientId'] = tp.clientId;
      const jwt = signJwt(k0, claims, { ttlSeconds: tp.ttl ? Math.ceil(tp.ttl / 1000) : 3600 });
      res.writeHead(200, { 'content-type': 'application/jwt' });
      return res.end(jwt);
    }
    default:
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
  }
}

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
  k0 = app.keys[0];
  keyRest = restClient(server, { key: k0.keyStr }, false);
  authServer = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      recorded.push({ error: String(err) });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise((resolve, reject) => {
    authServer.once('error', reject);
    authServer.listen(0, '127.0.0.1', resolve);
  });
  authBase = `http://127.0.0.1:${authServer.address().port}`;
});

after(async () => {
  if (authServer) {
    authServer.closeAllConnections();
    await new Promise((resolve) => authServer.close(resolve));
  }
  if (server) await server.stop();
});

/** The last request the auth server saw for `path`. */
function lastRequest(path) {
  const r = recorded.filter((x) => x.path === path).at(-1);
  assert.ok(r, `the auth server saw no request for ${path}; recorded: ${JSON.stringify(recorded)}`);
  return r;
}

/** The client's token, used by ably-js itself on an authenticated route. */
async function assertClientTokenAccepted(rest) {
  const res = await rest.request('post', `/keys/${k0.keyName}/revokeTokens`, 3, null, { targets: ['clientId:nobody'] });
  assert.equal(res.statusCode, 401, `status ${res.statusCode} code ${res.errorCode} ${res.errorMessage}`);
  assert.equal(res.errorCode, 40162, `the client's token was not accepted: ${res.errorCode} ${res.errorMessage}`);
}

for (const { name, binary } of FORMATS) {
  describe(`authUrl (${name})`, () => {
    it('GET: authParams, tokenParams and the URL query reach the server; authHeaders sent; JSON TokenDetails used (RSA8c1a, RSA8c1c, RSA8c2)', async () => {
      const rest = restClient(
        server,
        {
          authUrl: `${authBase}/details?fixed=1&p1=fromurl`,
          authParams: { p1: 'fromauthparams', p2: 'v2', clientId: 'loses-to-tokenparams' },
          authHeaders: { 'X-Test-Header': 'header-value' },
        },
        binary,
      );
      const td = await rest.auth.authorize({ clientId: 'alice', ttl: 60000 });
      const req = lastRequest('/details');
      assert.equal(req.method, 'GET');
      assert.equal(req.query.fixed, '1');
      assert.equal(req.query.p1, 'fromauthparams', 'authParams win over the URL query (RSA8c1c)');
      assert.equal(req.query.p2, 'v2');
      assert.equal(req.query.clientId, 'alice', 'TokenParams win over authParams (RSA8c2)');
      assert.equal(req.query.ttl, '60000');
      assert.equal(req.headers['x-test-header'], 'header-value');
      assert.equal(req.headers.accept, 'application/json, text/plain');

      assert.equal(td.keyName, k0.keyName);
      assert.equal(td.clientId, 'alice');
      assert.equal(td.expires - td.issued, 60000);
      assert.deepEqual(rest.auth.tokenDetails, td);
      await assertClientTokenAccepted(rest);
    });

    it('POST: form-encoded authParams + tokenParams, URL query kept, authHeaders sent (RSA8c1b)', async () => {
      const rest = restClient(
        server,
        {
          authUrl: `${authBase}/details?fixed=2`,
          authMethod: 'POST',
          authParams: { p1: 'posted' },
          authHeaders: { 'X-Test-Header': 'post-header' },
        },
        binary,
      );
      const td = await rest.auth.authorize({ clientId: 'bob', ttl: 90000 });
      const req = lastRequest('/details');
      assert.equal(req.method, 'POST');
      assert.match(req.headers['content-type'], /^application\/x-www-form-urlencoded/);
      assert.equal(req.query.fixed, '2');
      assert.equal(req.form.p1, 'posted');
      assert.equal(req.form.clientId, 'bob');
      assert.equal(req.form.ttl, '90000');
      assert.equal(req.headers['x-test-header'], 'post-header');
      assert.equal(td.clientId, 'bob');
      assert.equal(td.expires - td.issued, 90000);
      await assertClientTokenAccepted(rest);
    });

    it('JSON TokenRequest reply: the client exchanges it with rtauthd (RSA8c, RSA8d)', async () => {
      const rest = restClient(server, { authUrl: `${authBase}/request` }, binary);
      const cap = { 'foo:*': ['publish', 'subscribe'] };
      const td = await rest.auth.authorize({ clientId: 'carol', capability: cap, ttl: 120000 });
      const req = lastRequest('/request');
      assert.equal(req.query.clientId, 'carol');
      assert.deepEqual(JSON.parse(req.query.capability), cap);
      assert.equal(td.keyName, k0.keyName);
      assert.equal(td.clientId, 'carol');
      assert.equal(td.expires - td.issued, 120000);
      assert.deepEqual(JSON.parse(td.capability), cap);
      assert.deepEqual(rest.auth.tokenDetails, td);
      await assertClientTokenAccepted(rest);
    });

    it('JSON TokenRequest reply via POST, anonymous: no clientId in the TokenDetails', async () => {
      const rest = restClient(server, { authUrl: `${authBase}/request`, authMethod: 'POST' }, binary);
      const td = await rest.auth.authorize();
      assert.equal(lastRequest('/request').method, 'POST');
      assert.equal(td.keyName, k0.keyName);
      assert.equal(td.clientId, undefined);
      assert.equal(td.expires - td.issued, 3600000);
      assert.deepEqual(JSON.parse(td.capability), { '*': ['*'] });
      await assertClientTokenAccepted(rest);
    });

    it('text/plain token string reply (RSA8c, RSA8g)', async () => {
      const rest = restClient(server, { authUrl: `${authBase}/text` }, binary);
      const td = await rest.auth.authorize({ clientId: 'dave' });
      assert.equal(lastRequest('/text').query.clientId, 'dave');
      assert.deepEqual(Object.keys(td), ['token']);
      assert.equal(typeof td.token, 'string');
      assert.ok(td.token.includes('.') && !td.token.includes(':'));
      assert.equal(rest.auth.tokenDetails.token, td.token);
      await assertClientTokenAccepted(rest);
    });

    it('application/jwt reply: an Ably JWT signed by the auth server is used and accepted (RSA8g, wire 4.7)', async () => {
      const rest = restClient(server, { authUrl: `${authBase}/jwt`, clientId: 'jwtuser' }, binary);
      const td = await rest.auth.authorize();
      const req = lastRequest('/jwt');
      assert.equal(req.query.clientId, 'jwtuser', 'the clientId option is sent as a TokenParam');
      assert.equal(td.token.split('.').length, 3, `not a JWT: ${td.token}`);
      const claims = JSON.parse(Buffer.from(td.token.split('.')[1], 'base64url').toString());
      assert.equal(claims['x-ably-clientId'], 'jwtuser');
      assert.equal(rest.auth.tokenDetails.token, td.token);
      assert.equal(rest.auth.clientId, 'jwtuser');
      await assertClientTokenAccepted(rest);
    });

    it('application/jwt reply without clientId: anonymous JWT accepted', async () => {
      const rest = restClient(server, { authUrl: `${authBase}/jwt` }, binary);
      const td = await rest.auth.authorize();
      assert.equal(lastRequest('/jwt').query.clientId, undefined);
      assert.equal(td.token.split('.').length, 3);
      assert.equal(rest.auth.clientId, undefined);
      await assertClientTokenAccepted(rest);
    });

    it('authCallback returning a JWT string (RSA8g)', async () => {
      const jwt = signJwt(k0, { 'x-ably-capability': JSON.stringify({ '*': ['*'] }), 'x-ably-clientId': 'cb-jwt' });
      const rest = restClient(server, { authCallback: (p, cb) => cb(null, jwt) }, binary);
      const td = await rest.auth.authorize();
      assert.deepEqual(td, { token: jwt });
      await assertClientTokenAccepted(rest);
    });
  });
}

describe('JWT checks by rtauthd (raw HTTP, wire 4.7, B5)', () => {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

  it('a JWT whose signature does not verify -> 401/40101 (S-32)', async () => {
    const jwt = signJwt({ keyName: k0.keyName, keySecret: 'wrong' }, { 'x-ably-capability': '{"*":["*"]}' });
    assertErrorReply(await probeToken(server, k0.keyName, jwt), { status: 401, code: 40101 }, 'bad signature');
  });

  it('an expired JWT -> 401/40142 (S-33)', async () => {
    const iat = Math.floor(Date.now() / 1000) - 600;
    const jwt = signJwt(k0, { iat, exp: iat + 60 });
    assertErrorReply(await probeToken(server, k0.keyName, jwt), { status: 401, code: 40142 }, 'expired JWT');
  });

  it('a JWT without exp -> 401/40144 (S-33)', async () => {
    const iat = Math.floor(Date.now() / 1000);
    const head = b64({ typ: 'JWT', alg: 'HS256', kid: k0.keyName });
    const body = b64({ iat });
    const sig = crypto.createHmac('sha256', k0.keySecret).update(`${head}.${body}`).digest('base64url');
    assertErrorReply(await probeToken(server, k0.keyName, `${head}.${body}.${sig}`), { status: 401, code: 40144 }, 'no exp');
  });

  it('a JWT with an unsupported alg (HS512, correctly signed) -> 401/40144 (S-32)', async () => {
    const iat = Math.floor(Date.now() / 1000);
    const head = b64({ typ: 'JWT', alg: 'HS512', kid: k0.keyName });
    const body = b64({ iat, exp: iat + 600 });
    const sig = crypto.createHmac('sha512', k0.keySecret).update(`${head}.${body}`).digest('base64url');
    assertErrorReply(await probeToken(server, k0.keyName, `${head}.${body}.${sig}`), { status: 401, code: 40144 }, 'HS512');
  });

  it('a JWT with alg "none" and no signature -> 401 token error (40144, or 40145 if not seen as a JWT)', async () => {
    const iat = Math.floor(Date.now() / 1000);
    const jwt = `${b64({ typ: 'JWT', alg: 'none', kid: k0.keyName })}.${b64({ iat, exp: iat + 600 })}.`;
    assertErrorReply(await probeToken(server, k0.keyName, jwt), { status: 401, codes: [40144, 40145] }, 'alg none');
  });

  it('a JWT lifetime over 24 h -> 401/40144 (S-33)', async () => {
    const jwt = signJwt(k0, {}, { ttlSeconds: 24 * 3600 + 60 });
    assertErrorReply(await probeToken(server, k0.keyName, jwt), { status: 401, code: 40144 }, 'JWT lifetime > 24 h');
  });
});
