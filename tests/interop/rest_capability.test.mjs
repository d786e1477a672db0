// Capability intersection on requestToken, mirroring ably-js test/rest/capability.test.js
// (RSA6, TK2b, TD5; checklist S-23, S-24, S-44, B6). requestToken is always JSON on the wire,
// but the cases run under both client formats since the client option is what users set.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { FORMATS, rejectsWith, restClient } from './lib/helpers.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

let server;
let app;

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
});

after(async () => {
  if (server) await server.stop();
});

async function granted(binary, keyIndex, capability) {
  const key = app.keys[keyIndex];
  // Like the ably-js suite: a queryTime client on keys[0], the key under test in authOptions.
  const rest = restClient(server, { key: app.keys[0].keyStr, queryTime: true }, binary);
  const params = capability === undefined ? null : { capability };
  const td = await rest.auth.requestToken(params, { key: key.keyStr });
  assert.equal(td.keyName, key.keyName);
  assert.equal(typeof td.capability, 'string', 'capability must be a JSON string (TD5)');
  return JSON.parse(td.capability);
}

async function refused(binary, keyIndex, capability, expected) {
  const rest = restClient(server, { key: app.keys[0].keyStr }, binary);
  const opts = keyIndex === 0 ? null : { key: app.keys[keyIndex].keyStr };
  return rejectsWith(rest.auth.requestToken({ capability }, opts), expected, `capability ${JSON.stringify(capability)}`);
}

for (const { name, binary } of FORMATS) {
  describe(`capability intersection (${name})`, () => {
    it('blanket intersection with specified key: no capability -> key capability (RSA6, TK2b, S-23)', async () => {
      assert.deepEqual(await granted(binary, 1), JSON.parse(app.keys[1].capability));
    });

    it('blanket intersection for every fixture key, including "[*]*" (S-23)', async () => {
      for (const i of [0, 2, 3, 4, 5]) {
        assert.deepEqual(await granted(binary, i), JSON.parse(app.keys[i].capability), `keys[${i}]`);
      }
    });

    it('equal intersection with specified key (RSA6, TK2b)', async () => {
      const cap = JSON.parse(app.keys[1].capability);
      assert.deepEqual(await granted(binary, 1, cap), cap);
    });

    it('empty ops intersection -> 401 (S-24: 40160)', async () => {
      await refused(binary, 1, { 'canpublish:test': ['subscribe'] }, { statusCode: 401, code: 40160 });
    });

    it('empty paths intersection -> 401 (S-24: 40160)', async () => {
      await refused(binary, 2, { channelx: ['publish'] }, { statusCode: 401, code: 40160 });
    });

    it('ops intersection non-empty: channel2 [presence,subscribe] ∩ [publish,subscribe] = [subscribe] (S-44)', async () => {
      assert.deepEqual(await granted(binary, 2, { channel2: ['presence', 'subscribe'] }), { channel2: ['subscribe'] });
    });

    it('paths intersection non-empty: uncovered channelx dropped (S-44)', async () => {
      const cap = { channel2: ['presence', 'subscribe'], channelx: ['presence', 'subscribe'] };
      assert.deepEqual(await granted(binary, 2, cap), { channel2: ['subscribe'] });
    });

    it('wildcard token with publish and subscribe key: ["*"] -> key ops (S-44)', async () => {
      assert.deepEqual(await granted(binary, 2, { channel2: ['*'] }), { channel2: ['publish', 'subscribe'] });
    });

    it('publish and subscribe token with wildcard key: key ["*"] -> requested ops (S-44)', async () => {
      const cap = { channel6: ['publish', 'subscribe'] };
      assert.deepEqual(await granted(binary, 2, cap), cap);
    });

    it('resources wildcard matching 1: key "*" covers "cansubscribe" (S-44)', async () => {
      const cap = { cansubscribe: ['subscribe'] };
      assert.deepEqual(await granted(binary, 3, cap), cap);
    });

    it('resources wildcard matching 2: key "canpublish:*" covers "canpublish:check" (S-44)', async () => {
      const cap = { 'canpublish:check': ['publish'] };
      assert.deepEqual(await granted(binary, 1, cap), cap);
    });

    it('resources wildcard matching 3: key "*" covers "cansubscribe:*" (S-44)', async () => {
      const cap = { 'cansubscribe:*': ['subscribe'] };
      assert.deepEqual(await granted(binary, 3, cap), cap);
    });

    it('{"*":["*"]} ∩ {"*":["*"]} = {"*":["*"]}', async () => {
      assert.deepEqual(await granted(binary, 0, { '*': ['*'] }), { '*': ['*'] });
    });

    it('subset of the "*" key: {onlythischannel:[subscribe]} granted as requested', async () => {
      const cap = { onlythischannel: ['subscribe'] };
      assert.deepEqual(await granted(binary, 0, cap), cap);
    });

    it('"[*]*" key grants any channel and any op, ops sorted canonically (S-44, TD5)', async () => {
      const cap = { foo: ['subscribe'], 'bar:baz': ['push-admin', 'history'] };
      const got = await granted(binary, 5, cap);
      assert.deepEqual(got, { foo: ['subscribe'], 'bar:baz': ['history', 'push-admin'] });
    });

    it('keys[1] push namespace: pushenabled:foo gets [publish,push-subscribe,subscribe]', async () => {
      const got = await granted(binary, 1, { 'pushenabled:foo': ['*'] });
      assert.deepEqual(got, { 'pushenabled:foo': ['publish', 'push-subscribe', 'subscribe'] });
    });

    it('docs example intersection (S-44)', async () => {
      // key {"*":["subscribe"]} (keys[3]): only subscribe survives, resources kept as requested
      const got = await granted(binary, 3, { 'ns:user-123': ['subscribe', 'publish'], notifications: ['*'] });
      assert.deepEqual(got, { 'ns:user-123': ['subscribe'], notifications: ['subscribe'] });
    });

    it('invalid capabilities 1: unknown op "publish_" -> 400', async () => {
      await refused(binary, 0, { channel0: ['publish_'] }, { statusCode: 400 });
    });

    it('invalid capabilities 2: "*" mixed with "publish" -> 400', async () => {
      await refused(binary, 0, { channel0: ['*', 'publish'] }, { statusCode: 400 });
    });

    it('invalid capabilities 3: empty op list -> 400', async () => {
      await refused(binary, 0, { channel0: [] }, { statusCode: 400 });
    });

    it('invalid capability codes are 40000-range, not token errors (S-24, S-65)', async () => {
      for (const cap of [{ channel0: ['publish_'] }, { channel0: ['*', 'publish'] }, { channel0: [] }]) {
        const err = await refused(binary, 0, cap, { statusCode: 400 });
        assert.ok(err.code >= 40000 && err.code < 40100, `code ${err.code} for ${JSON.stringify(cap)}`);
      }
    });
  });
}
