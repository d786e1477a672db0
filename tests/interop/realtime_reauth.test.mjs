// In-band reauthentication with ably-js 2.28.0: auth.authorize() on a connected client sends
// AUTH; the gateway swaps token, expiry and capability in place and answers CONNECTED with the
// same connectionId, which ably-js surfaces as a connection `update` and nothing else (RTC8,
// RTC8a, RTC8a1, RTC8a3, RTN24, S-60). Lost channels get channel ERROR 40160 (RTC8a1); an
// incompatible clientId or app is a connection ERROR 40102 (RTC8a2, S-50, S-61); concurrent
// authorize() calls (RSA10, RTC8) and a Basic client switching to tokens (RSA10a).
// Both formats throughout.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';

import { FORMATS, parseCap, randomId, restClient } from './lib/helpers.mjs';
import {
  ACTION,
  Clients,
  RawPeer,
  assertNothingFor,
  assertReason,
  boundedIt,
  recordChannel,
  recordConnection,
  recordMessages,
  tokenCallback,
  waitConnection,
} from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);

let server;
let app;
let otherApp;
let k0;

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
  otherApp = await provisionApp(server);
  k0 = app.keys[0];
});

after(async () => {
  if (server) await server.stop();
});

/** Every connection event from index `from` is an `update` connected -> connected (RTN24). */
function assertOnlyUpdates(conn, from, what) {
  const evs = conn.items.slice(from);
  assert.ok(evs.length >= 1, `${what}: expected an update event, got none`);
  for (const e of evs) {
    assert.equal(e.event, 'update', `${what}: only 'update' may occur, got ${conn.describe()}`);
    assert.equal(e.current, 'connected', what);
    assert.equal(e.previous, 'connected', what);
    assert.equal(e.reason ?? null, null, `${what}: a successful reauth carries no error (RTN24)`);
  }
}

for (const { name, binary } of FORMATS) {
  describe(`realtime authorize() (${name})`, () => {
    const clients = new Clients(null, binary);
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());
    const keyRest = (k = k0) => restClient(server, { key: k.keyStr }, binary);

    /** A client whose authCallback mints tokens from keys[0] with the tokenParams it is given. */
    async function tokenClient(opts = {}, defaultTokenParams) {
      const cb = tokenCallback(keyRest());
      const rt = clients.realtime({ authCallback: cb, ...(defaultTokenParams ? { defaultTokenParams } : {}), ...opts });
      const conn = recordConnection(rt);
      await waitConnection(rt, 'connected', 10000);
      return { rt, conn, cb };
    }

    it('capability upgrade while attached: only `update`, same connectionId, publish and new channels allowed (RTC8a, RTN24)', async () => {
      const chA = randomId('upA');
      const chB = randomId('upB');
      const { rt, conn, cb } = await tokenClient({}, { capability: { [chA]: ['subscribe'] } });
      const a = rt.channels.get(chA);
      await a.attach();
      assert.deepEqual([...a.modes].sort(), ['presence_subscribe', 'subscribe']);
      await assert.rejects(a.publish('before', 'x'), (e) => e.code === 40160 && e.statusCode === 401);
      const b = rt.channels.get(chB);
      await assert.rejects(b.attach(), (e) => e.code === 40160);
      const idBefore = rt.connection.id;
      const keyBefore = rt.connection.key;
      const from = conn.items.length;
      const aRec = recordChannel(a);

      const td = await rt.auth.authorize({ capability: { [chA]: ['subscribe', 'publish'], [chB]: ['*'] } });
      assert.deepEqual(parseCap(td.capability), { [chA]: ['publish', 'subscribe'], [chB]: ['*'] });
      assert.equal(cb.calls.length, 2, 'authorize() fetched a new token');
      assert.equal(rt.auth.tokenDetails.token, td.token);
      assert.equal(rt.connection.state, 'connected');
      assert.equal(rt.connection.id, idBefore, 'same connectionId (RTC8a)');
      assert.equal(rt.connection.key, keyBefore);
      assertOnlyUpdates(conn, from, 'upgrade');

      // newly granted: publish on the attached channel, and the other channel
      const sub = clients.realtime({ key: k0.keyStr });
      await waitConnection(sub, 'connected');
      const subCh = sub.channels.get(chA);
      await subCh.attach();
      const rec = await recordMessages(subCh);
      await a.publish('after', 'y');
      assert.equal((await rec.waitFor((m) => m.name === 'after', 5000, 'after')).data, 'y');
      await b.attach();
      assert.equal(b.state, 'attached');
      await b.publish('onB', 'z');
      assert.equal(aRec.items.length, 0, `attached channel saw no state change: ${aRec.describe()}`);
      assertOnlyUpdates(conn, from, 'after using the new capability');
    });

    it('capability downgrade: a channel no longer allowed goes failed 40160; the connection stays connected (RTC8a1)', async () => {
      const chA = randomId('downA');
      const chB = randomId('downB');
      const { rt, conn } = await tokenClient();
      const a = rt.channels.get(chA);
      const b = rt.channels.get(chB);
      await a.attach();
      await b.attach();
      await b.publish('pre', 'ok');
      const aRec = recordChannel(a);
      const bRec = recordChannel(b);
      const idBefore = rt.connection.id;
      const from = conn.items.length;

      await rt.auth.authorize({ capability: { [chB]: ['subscribe'] } });
      const failed = await aRec.waitFor((e) => e.current === 'failed', 5000, 'channel A failed');
      assertReason(failed.reason, { code: 40160, statusCode: 401 }, 'channel A');
      assert.equal(a.state, 'failed');
      assertReason(a.errorReason, { code: 40160, statusCode: 401 });
      assert.equal(rt.connection.state, 'connected');
      assert.equal(rt.connection.id, idBefore);
      assertOnlyUpdates(conn, from, 'downgrade');
      assert.equal(b.state, 'attached');
      assert.equal(bRec.items.length, 0, `channel B still allowed (subscribe): ${bRec.describe()}`);

      // publish permission follows the new token; subscribe still works
      await assert.rejects(b.publish('post', 'x'), (e) => {
        assertReason(e, { code: 40160, statusCode: 401 }, 'publish after downgrade');
        return true;
      });
      const bMsgs = await recordMessages(b);
      const other = clients.realtime({ key: k0.keyStr });
      await other.channels.get(chB).publish('from-other', 'still');
      assert.equal((await bMsgs.waitFor((m) => m.name === 'from-other', 5000, 'from-other')).data, 'still');
      // a channel never allowed by the new token can't be attached
      await assert.rejects(rt.channels.get(randomId('downC')).attach(), (e) => e.code === 40160);
      assertOnlyUpdates(conn, from, 'after downgrade');
    });

    it('authorize() with a token for another clientId: connection ERROR 40102 -> failed; authorize() rejects (RTC8a2, S-50)', async () => {
      const rest = keyRest();
      const alice = await rest.auth.requestToken({ clientId: 'alice' });
      const bob = await rest.auth.requestToken({ clientId: 'bob' });
      let calls = 0;
      // token strings: ably-js cannot know their clientId, so only the server can refuse
      const rt = clients.realtime({ authCallback: (_p, cb) => cb(null, ++calls === 1 ? alice.token : bob.token) });
      const conn = recordConnection(rt);
      await waitConnection(rt, 'connected');
      assert.equal(rt.auth.clientId, 'alice');
      const ch = rt.channels.get(randomId('cid'));
      await ch.attach();
      await assert.rejects(rt.auth.authorize(), (e) => {
        assertReason(e, { code: 40102, statusCode: 401 }, 'authorize() rejection');
        return true;
      });
      await conn.waitFor((e) => e.current === 'failed', 5000, 'failed');
      assert.equal(rt.connection.state, 'failed');
      assertReason(rt.connection.errorReason, { code: 40102, statusCode: 401 });
      assert.equal(calls, 2);
    });

    it('authorize() with a token of another app: connection ERROR 40102 -> failed (S-50)', async () => {
      const mine = await keyRest().auth.requestToken();
      const foreign = await restClient(server, { key: otherApp.keys[0].keyStr }, binary).auth.requestToken();
      let calls = 0;
      const rt = clients.realtime({ authCallback: (_p, cb) => cb(null, ++calls === 1 ? mine.token : foreign.token) });
      await waitConnection(rt, 'connected');
      await assert.rejects(rt.auth.authorize(), (e) => e.code === 40102);
      await waitConnection(rt, 'failed', 5000);
      assertReason(rt.connection.errorReason, { code: 40102, statusCode: 401 });
    });

    it('authorize() with a compatible token keeps the clientId (same id; wildcard token with clientId option)', async () => {
      const rest = keyRest();
      const cb = tokenCallback(rest, { override: { clientId: '*' } });
      const rt = clients.realtime({ authCallback: cb, clientId: 'keep-me' });
      const conn = recordConnection(rt);
      await waitConnection(rt, 'connected');
      assert.equal(rt.auth.clientId, 'keep-me');
      const from = conn.items.length;
      await rt.auth.authorize();
      assert.equal(cb.tokens.length, 2);
      assertOnlyUpdates(conn, from, 'wildcard reauth');
      assert.equal(rt.auth.clientId, 'keep-me');

      const ident = await tokenClient({ clientId: 'same-id' });
      const from2 = ident.conn.items.length;
      await ident.rt.auth.authorize();
      assertOnlyUpdates(ident.conn, from2, 'same clientId reauth');
      assert.equal(ident.rt.auth.clientId, 'same-id');
      // messages are still stamped with the connection's clientId
      const ch = ident.rt.channels.get(randomId('stamp'));
      await ch.attach();
      const rec = await recordMessages(ch);
      await ch.publish('n', 'd');
      assert.equal((await rec.waitFor((m) => m.name === 'n', 5000, 'n')).clientId, 'same-id');
    });

    it('a Basic-auth client calling authorize() switches to token auth in place (RSA10a)', async () => {
      const rt = clients.realtime({ key: k0.keyStr });
      const conn = recordConnection(rt);
      await waitConnection(rt, 'connected');
      assert.equal(rt.auth.method, 'basic');
      const ch = rt.channels.get(randomId('b2t'));
      await ch.attach();
      const id = rt.connection.id;
      const from = conn.items.length;
      const td = await rt.auth.authorize({ capability: { [ch.name]: ['*'] } });
      assert.equal(rt.auth.method, 'token');
      assert.equal(typeof td.token, 'string');
      assert.equal(rt.connection.id, id);
      assertOnlyUpdates(conn, from, 'basic -> token');
      assert.equal(ch.state, 'attached');
      await assert.rejects(rt.channels.get(randomId('b2t-other')).attach(), (e) => e.code === 40160);
    });

    it('concurrent authorize() calls all resolve with the last token; its capability applies (RSA10, RTC8)', async () => {
      const [c1, c2, c3] = [randomId('cc1'), randomId('cc2'), randomId('cc3')];
      const { rt, conn, cb } = await tokenClient();
      const id = rt.connection.id;
      const from = conn.items.length;
      const results = await Promise.all([
        rt.auth.authorize({ capability: { [c1]: ['*'] } }),
        rt.auth.authorize({ capability: { [c2]: ['*'] } }),
        rt.auth.authorize({ capability: { [c3]: ['*'] } }),
      ]);
      assert.equal(cb.calls.length, 4, 'one token request per authorize() (plus the first connect)');
      const tokens = new Set(results.map((r) => r.token));
      assert.equal(tokens.size, 1, `all calls resolve with one token, got ${tokens.size}`);
      assert.equal(results[0].token, rt.auth.tokenDetails.token);
      assert.deepEqual(parseCap(results[0].capability), { [c3]: ['*'] });
      assert.equal(rt.connection.id, id);
      // let any further CONNECTED replies to the queued AUTHs arrive, then check continuity
      await assertNothingFor(conn, (e) => e.event !== 'update', 300, 'concurrent authorize');
      assertOnlyUpdates(conn, from, 'concurrent authorize');
      await rt.channels.get(c3).attach();
      await assert.rejects(rt.channels.get(c1).attach(), (e) => e.code === 40160);
    });

    describe('wire level (raw WebSocket)', () => {
      const format = binary ? 'msgpack' : 'json';

      it('every AUTH is answered with CONNECTED, same connectionId and key; a garbage token gets ERROR 4014x (RTC8a, S-61)', async () => {
        const rest = keyRest();
        const [t1, t2, t3, t4] = await Promise.all([0, 1, 2, 3].map(() => rest.auth.requestToken({ clientId: 'rawr' })));
        const peer = await RawPeer.open(server, { access_token: t1.token }, format);
        clients.onClose(() => peer.close());
        const first = await peer.waitAction(ACTION.CONNECTED);
        for (const t of [t2, t3, t4]) peer.send({ action: ACTION.AUTH, auth: { accessToken: t.token } });
        const deadline = Date.now() + 5000;
        while (peer.frames.items.filter((f) => f.action === ACTION.CONNECTED).length < 4 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
        }
        const replies = peer.frames.items.filter((f) => f.action === ACTION.CONNECTED);
        assert.equal(replies.length, 4, `CONNECTED per AUTH: ${peer.frames.describe()}`);
        for (const r of replies.slice(1)) {
          assert.equal(r.connectionId, first.connectionId);
          assert.equal(r.connectionDetails.connectionKey, first.connectionDetails.connectionKey);
          assert.equal(r.connectionDetails.clientId, 'rawr');
        }
        peer.send({ action: ACTION.AUTH, auth: { accessToken: 'garbage' } });
        const err = await peer.waitAction(ACTION.ERROR);
        assert.equal(err.channel ?? null, null);
        assert.ok(err.error.code >= 40140 && err.error.code < 40150, `token error code, got ${err.error.code}`);
        assert.equal(err.error.statusCode, 401);
        assert.notEqual(await peer.waitClosed(5000), 'timeout', 'socket closed after the ERROR');
      });
    });
  });
}
