// Sandbox provisioning (--sandbox): POST /apps and DELETE /apps/{appId}, the Ably
// test-app-setup.json style API that the interop and UTS suites use (checklist E).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { assertErrorReply, basicAuth, bearer, raw, rejectsWith, restClient } from './lib/helpers.mjs';
import { TEST_APP_KEYS, provisionApp, startServer } from './lib/server.mjs';

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  if (server) await server.stop();
});

/** Capability with each op list sorted: equal as sets of (resource, op). */
const canonical = (cap) => Object.fromEntries(Object.entries(cap).map(([r, ops]) => [r, [...ops].sort()]));

function assertKeyShape(key, appId, spec, what) {
  assert.equal(typeof key.id, 'string', what);
  assert.ok(key.id.length > 0, what);
  assert.equal(key.keyName, `${appId}.${key.id}`, what);
  assert.equal(typeof key.keySecret, 'string', what);
  assert.ok(key.keySecret.length >= 16, `${what}: secret too short`);
  assert.ok(!key.keySecret.includes(':') && !key.keySecret.includes('.'), `${what}: secret must match ably-js's key regex`);
  assert.equal(key.keyStr, `${key.keyName}:${key.keySecret}`, what);
  assert.match(key.keyStr, /^([^:\s]+):([^:.\s]+)$/, `${what}: ably-js rejects keys not matching its regex`);
  assert.equal(typeof key.capability, 'string', `${what}: capability must be a JSON string`);
  const want = spec.capability ? JSON.parse(spec.capability) : { '*': ['*'] };
  assert.deepEqual(canonical(JSON.parse(key.capability)), canonical(want), what);
  assert.equal(key.revocableTokens, !!spec.revocableTokens, what);
}

describe('POST /apps', () => {
  it('201 with appId, accountId and the keys in request order (fixture keys)', async () => {
    const r = await raw(server, 'POST', '/apps', { body: { keys: TEST_APP_KEYS } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.contentType, 'application/json');
    const app = r.body;
    assert.equal(typeof app.appId, 'string');
    assert.ok(app.appId.length > 0 && !app.appId.includes('.') && !app.appId.includes(':'));
    assert.equal(typeof app.accountId, 'string');
    assert.ok(app.accountId.length > 0);
    assert.equal(app.keys.length, TEST_APP_KEYS.length);
    TEST_APP_KEYS.forEach((spec, i) => assertKeyShape(app.keys[i], app.appId, spec, `keys[${i}]`));
    assert.equal(new Set(app.keys.map((k) => k.keyName)).size, app.keys.length, 'key names must be unique');
    assert.equal(new Set(app.keys.map((k) => k.keySecret)).size, app.keys.length, 'secrets must be unique');
  });

  it('capability given as an object is accepted too and returned as a JSON string', async () => {
    const cap = { 'a:*': ['publish'], b: ['subscribe'] };
    const r = await raw(server, 'POST', '/apps', { body: { keys: [{ capability: cap }] } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(typeof r.body.keys[0].capability, 'string');
    assert.deepEqual(canonical(JSON.parse(r.body.keys[0].capability)), canonical(cap));
  });

  it('no keys given: one default key with {"*":["*"]}', async () => {
    const r = await raw(server, 'POST', '/apps', { body: {} });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.keys.length, 1);
    assertKeyShape(r.body.keys[0], r.body.appId, {}, 'default key');
  });

  it('namespaces and channels are echoed (test-app-setup.json)', async () => {
    const namespaces = [{ id: 'persisted', persisted: true }];
    const channels = [{ name: 'persisted:presence_fixtures', presence: [{ clientId: 'client_bool', data: 'true' }] }];
    const r = await raw(server, 'POST', '/apps', { body: { keys: [{}], namespaces, channels } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body.namespaces, namespaces);
    assert.deepEqual(r.body.channels, channels);
  });

  it('msgpack request -> msgpack 201 reply', async () => {
    const r = await raw(server, 'POST', '/apps', { format: 'msgpack', body: { keys: [{ revocableTokens: true }] } });
    assert.equal(r.status, 201);
    assert.equal(r.contentType, 'application/x-msgpack');
    assertKeyShape(r.body.keys[0], r.body.appId, { revocableTokens: true }, 'msgpack key');
  });

  it('invalid bodies -> 400 with an Ably error', async () => {
    assertErrorReply(await raw(server, 'POST', '/apps', { body: { keys: 'nope' } }), { status: 400 }, 'keys not an array');
    assertErrorReply(await raw(server, 'POST', '/apps', { body: { keys: [{ revocableTokens: 'yes' }] } }), { status: 400 }, 'revocableTokens not a bool');
    assertErrorReply(await raw(server, 'POST', '/apps', { body: { keys: [{ capability: 42 }] } }), { status: 400 }, 'capability a number');
    assertErrorReply(
      await raw(server, 'POST', '/apps', { body: { keys: [{ capability: '{"x":["publish_"]}' }] } }),
      { status: 400 },
      'invalid capability string',
    );
  });

  it('the new app works with ably-js at once', async () => {
    const app = await provisionApp(server);
    const td = await restClient(server, { key: app.keys[2].keyStr }).auth.requestToken();
    assert.equal(td.keyName, app.keys[2].keyName);
    assert.deepEqual(JSON.parse(td.capability), JSON.parse(app.keys[2].capability));
  });
});

describe('DELETE /apps/{appId}', () => {
  it("with Basic auth of one of its keys -> 2xx; afterwards requestToken with its keys -> 404/40400", async () => {
    const app = await provisionApp(server);
    const rest = restClient(server, { key: app.keys[0].keyStr });
    const td = await rest.auth.requestToken();
    assert.equal(td.keyName, app.keys[0].keyName);

    const r = await raw(server, 'DELETE', `/apps/${app.appId}`, { headers: { authorization: basicAuth(app.keys[1].keyStr) } });
    assert.ok(r.status >= 200 && r.status < 300, `DELETE -> ${r.status} ${JSON.stringify(r.body)}`);

    for (const binary of [true, false]) {
      for (const i of [0, 1]) {
        const c = restClient(server, { key: app.keys[i].keyStr }, binary);
        await rejectsWith(c.auth.requestToken(), { statusCode: 404, code: 40400 }, `requestToken with deleted keys[${i}]`);
      }
    }
    // its keys no longer authenticate (Basic), and a second DELETE is refused
    const again = await raw(server, 'DELETE', `/apps/${app.appId}`, { headers: { authorization: basicAuth(app.keys[0].keyStr) } });
    assertErrorReply(again, { status: 401 }, 'second DELETE with a deleted key');
  });

  it("with another app's key -> 403, and the app keeps working", async () => {
    const victim = await provisionApp(server);
    const other = await provisionApp(server);
    const r = await raw(server, 'DELETE', `/apps/${victim.appId}`, { headers: { authorization: basicAuth(other.keys[0].keyStr) } });
    assertErrorReply(r, { status: 403, code: 40300 }, "DELETE with another app's key");
    const td = await restClient(server, { key: victim.keys[0].keyStr }).auth.requestToken();
    assert.equal(td.keyName, victim.keys[0].keyName);
  });

  it('without credentials -> 401; with a wrong secret -> 401/40101', async () => {
    const app = await provisionApp(server);
    assertErrorReply(await raw(server, 'DELETE', `/apps/${app.appId}`), { status: 401 }, 'no credentials');
    const wrong = basicAuth(`${app.keys[0].keyName}:wrongsecretwrongsecret`);
    assertErrorReply(await raw(server, 'DELETE', `/apps/${app.appId}`, { headers: { authorization: wrong } }), { status: 401, code: 40101 }, 'wrong secret');
    const td = await restClient(server, { key: app.keys[0].keyStr }).auth.requestToken();
    assert.equal(td.keyName, app.keys[0].keyName);
  });

  it("with a token of the app itself (not Basic) -> 403", async () => {
    const app = await provisionApp(server);
    const td = await restClient(server, { key: app.keys[0].keyStr }).auth.requestToken();
    const r = await raw(server, 'DELETE', `/apps/${app.appId}`, { headers: { authorization: bearer(td.token) } });
    assertErrorReply(r, { status: 403, code: 40300 }, 'DELETE with token auth');
  });

  it('tokens issued before the delete stop working', async () => {
    const app = await provisionApp(server);
    const td = await restClient(server, { key: app.keys[0].keyStr }).auth.requestToken();
    const r = await raw(server, 'DELETE', `/apps/${app.appId}`, { headers: { authorization: basicAuth(app.keys[0].keyStr) } });
    assert.ok(r.status >= 200 && r.status < 300, `DELETE -> ${r.status}`);
    const probe = await raw(server, 'POST', `/keys/${app.keys[0].keyName}/revokeTokens`, {
      headers: { authorization: bearer(td.token) },
      body: { targets: ['clientId:x'] },
    });
    const e = assertErrorReply(probe, { status: 401 }, 'token of a deleted app');
    assert.ok(e.code >= 40140 && e.code <= 40149, `code ${e.code}: a token of a deleted key should be a token error`);
  });
});
