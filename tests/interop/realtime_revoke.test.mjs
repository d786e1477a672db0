// Token revocation reaching live realtime connections, with ably-js 2.28.0 (RSA17, RSA17f,
// TRS2; S-59, S-64, S-67; wire doc 3.4, 3.5, 4.4). keys[4] has revocableTokens. A revokeTokens
// call matching a connection's token disconnects it with DISCONNECTED 40141 (ably-js renews
// and reconnects); connections that do not match are untouched. With allowReauthMargin the
// gateway first sends AUTH: a client that renews stays connected; one still on the revoked
// token is disconnected at appliesAt and not before. Targets: clientId, revocationKey (JWT
// claim x-ably-revocation-key) and rtauth's token:<token>. Both formats throughout.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { FORMATS, randomId, restClient, signJwt } from './lib/helpers.mjs';
import {
  Clients,
  assertNothingFor,
  assertReason,
  boundedIt,
  recordConnection,
  tokenCallback,
  waitConnection,
} from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);

const DISCONNECT_WITHIN_MS = 2000; // issue 5 targets 100 ms; this bound only catches a miss
const EARLY_SLACK_MS = 150;

let server;
let app;
let k4;

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
  k4 = app.keys[4];
  assert.equal(k4.revocableTokens, true);
});

after(async () => {
  if (server) await server.stop();
});

for (const { name, binary } of FORMATS) {
  describe(`realtime revocation (${name})`, () => {
    const clients = new Clients(null, binary);
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());
    const keyRest = () => restClient(server, { key: k4.keyStr }, binary);

    /** A connected client whose authCallback mints keys[4] tokens for `clientId`. */
    async function tokenClient(clientId, extra = {}) {
      const cb = tokenCallback(keyRest(), { override: clientId ? { clientId } : {} });
      const rt = clients.realtime({ authCallback: cb, disconnectedRetryTimeout: 1000, ...extra });
      const conn = recordConnection(rt, `connection of ${clientId}`);
      await waitConnection(rt, 'connected');
      return { rt, conn, cb, id: rt.connection.id };
    }

    /** The first `disconnected` after index `from` must carry 40141 and come within the bound. */
    async function assertRevokedDisconnect(c, t0, what, from = 0) {
      const d = await c.conn.waitFor((e) => e.current === 'disconnected', DISCONNECT_WITHIN_MS + 3000, `${what} disconnected`, from);
      assertReason(d.reason, { code: 40141, statusCode: 401 }, what);
      assert.ok(d.at - t0 <= DISCONNECT_WITHIN_MS, `${what}: disconnected ${d.at - t0} ms after revokeTokens started`);
      return d;
    }

    it('by clientId: exactly the matching token connections get DISCONNECTED 40141, then renew and reconnect (RSA17c, S-64)', async (t) => {
      const x = randomId('rx');
      const y = randomId('ry');
      const a1 = await tokenClient(x);
      const a2 = await tokenClient(x);
      const b = await tokenClient(y);
      const anon = await tokenClient(null);
      const basic = clients.realtime({ key: k4.keyStr, clientId: x }); // Basic: no token to revoke
      const basicConn = recordConnection(basic);
      await waitConnection(basic, 'connected');
      const basicId = basic.connection.id;
      await sleep(5); // tokens issued strictly before issuedBefore are revoked

      const t0 = Date.now();
      const result = await keyRest().auth.revokeTokens([{ type: 'clientId', value: x }]);
      assert.equal(result.successCount, 1, JSON.stringify(result));
      assert.equal(result.results[0].target, `clientId:${x}`);
      const d1 = await assertRevokedDisconnect(a1, t0, 'first client of x');
      const d2 = await assertRevokedDisconnect(a2, t0, 'second client of x');
      t.diagnostic(`40141 seen ${d1.at - t0} and ${d2.at - t0} ms after revokeTokens() was called`);

      // ably-js renews (RSA4a) and reconnects with a token issued after issuedBefore
      for (const [c, d] of [[a1, d1], [a2, d2]]) {
        await c.conn.waitFor((e) => e.current === 'connected' && e.at > d.at, 5000, 'reconnected');
        assert.ok(c.cb.calls.length >= 2, `authCallback calls ${c.cb.calls.length}`);
      }
      // nobody else noticed anything
      await assertNothingFor(b.conn, () => true, 300, 'other clientId');
      for (const [c, what] of [[b, 'other clientId'], [anon, 'anonymous token']]) {
        assert.deepEqual(c.conn.items.map((e) => e.current), ['connecting', 'connected'], `${what}: ${c.conn.describe()}`);
        assert.equal(c.rt.connection.id, c.id);
        await c.rt.connection.ping();
      }
      assert.deepEqual(basicConn.items.map((e) => e.current), ['connecting', 'connected'], `Basic: ${basicConn.describe()}`);
      assert.equal(basic.connection.id, basicId);
    });

    it('a revoked token literal: disconnected 40141, then failed 40171; it cannot connect again (S-64, 3.5)', async () => {
      const clientId = randomId('lit');
      const td = await keyRest().auth.requestToken({ clientId });
      const rt = clients.realtime({ token: td.token });
      const conn = recordConnection(rt);
      await waitConnection(rt, 'connected');
      await sleep(5);
      const t0 = Date.now();
      await keyRest().auth.revokeTokens([{ type: 'clientId', value: clientId }]);
      const d = await conn.waitFor((e) => e.current === 'disconnected', DISCONNECT_WITHIN_MS + 3000, 'disconnected');
      assertReason(d.reason, { code: 40141, statusCode: 401 });
      assert.ok(d.at - t0 <= DISCONNECT_WITHIN_MS, `${d.at - t0} ms`);
      const f = await conn.waitFor((e) => e.current === 'failed', 5000, 'failed');
      assertReason(f.reason, { code: 40171, statusCode: 403 });

      const again = clients.realtime({ token: td.token });
      const conn2 = recordConnection(again);
      const f2 = await conn2.waitFor((e) => e.current === 'failed', 10000, 'failed again');
      assertReason(f2.reason, { code: 40171, statusCode: 403 });
      const d2 = conn2.find((e) => e.current === 'disconnected');
      assert.ok(d2, conn2.describe());
      assertReason(d2.reason, { code: 40141, statusCode: 401 }, 'connect with a revoked token');
      assert.equal(conn2.find((e) => e.current === 'connected'), undefined, 'never connected');
    });

    it('by revocationKey: a JWT with x-ably-revocation-key is disconnected; other keys are not (S-68)', async () => {
      const rk = randomId('rk');
      const jwtClient = async (firstKey) => {
        const used = [];
        const clientId = randomId('jc'); // a connection's clientId never changes (S-50)
        const rt = clients.realtime({
          authCallback: (_p, cb) => {
            const key = used.length === 0 ? firstKey : randomId('rk-renewed');
            used.push(key);
            cb(null, signJwt(k4, { 'x-ably-revocation-key': key, 'x-ably-clientId': clientId }, { ttlSeconds: 600 }));
          },
          disconnectedRetryTimeout: 1000,
        });
        const conn = recordConnection(rt);
        await waitConnection(rt, 'connected');
        return { rt, conn, used, id: rt.connection.id };
      };
      const hit = await jwtClient(rk);
      const miss = await jwtClient(randomId('rk-other'));
      await sleep(5);
      const t0 = Date.now();
      const result = await keyRest().auth.revokeTokens([{ type: 'revocationKey', value: rk }]);
      assert.equal(result.successCount, 1, JSON.stringify(result));
      const d = await assertRevokedDisconnect(hit, t0, 'JWT with the revoked revocationKey');
      await hit.conn.waitFor((e) => e.current === 'connected' && e.at > d.at, 5000, 'reconnected with a new JWT');
      assert.ok(hit.used.length >= 2);
      await assertNothingFor(miss.conn, () => true, 300, 'other revocation key');
      assert.deepEqual(miss.conn.items.map((e) => e.current), ['connecting', 'connected'], miss.conn.describe());
      assert.equal(miss.rt.connection.id, miss.id);
    });

    it('by token (rtauth "token:<token>" target): only the connection using that token; a JWT too', async () => {
      const clientId = randomId('bytok');
      const one = await tokenClient(clientId);
      const two = await tokenClient(clientId);
      const jwt = signJwt(k4, { 'x-ably-clientId': clientId }, { ttlSeconds: 600 });
      let jwtCalls = 0;
      const jrt = clients.realtime({
        authCallback: (_p, cb) =>
          cb(null, ++jwtCalls === 1 ? jwt : signJwt(k4, { 'x-ably-clientId': clientId, jti: randomId('j') }, { ttlSeconds: 600 })),
        disconnectedRetryTimeout: 1000,
      });
      const jconn = recordConnection(jrt);
      await waitConnection(jrt, 'connected');
      await sleep(5);
      const t0 = Date.now();
      const result = await keyRest().auth.revokeTokens([
        { type: 'token', value: one.cb.tokens[0].token },
        { type: 'token', value: jwt },
      ]);
      assert.equal(result.successCount, 2, JSON.stringify(result));
      const d = await assertRevokedDisconnect(one, t0, 'connection on the revoked token');
      await assertRevokedDisconnect({ conn: jconn }, t0, 'connection on the revoked JWT');
      await one.conn.waitFor((e) => e.current === 'connected' && e.at > d.at, 5000, 'reconnected');
      await assertNothingFor(two.conn, () => true, 300, 'same clientId, other token');
      assert.deepEqual(two.conn.items.map((e) => e.current), ['connecting', 'connected'], two.conn.describe());
      assert.equal(two.rt.connection.id, two.id);
    });

    it('allowReauthMargin: AUTH first; a renewing client stays connected, one still on the revoked token is disconnected 40141 at appliesAt (RSA17f, S-59, S-64)', { timeout: 60000 }, async () => {
      const m = randomId('margin');
      const rest = keyRest();
      // renews properly on the AUTH hint
      const renew = await tokenClient(m, { disconnectedRetryTimeout: 5000 });
      // answers the hint with its old token (still valid until appliesAt), fresh ones later
      let staleCalls = 0;
      let staleToken;
      const stale = clients.realtime({
        authCallback: (_p, cb) => {
          staleCalls++;
          if (staleCalls <= 2 && staleToken) return cb(null, staleToken);
          rest.auth.requestToken({ clientId: m }).then((td) => {
            if (!staleToken) staleToken = td;
            cb(null, td);
          }, (e) => cb(e, null));
        },
        disconnectedRetryTimeout: 5000,
      });
      const staleConn = recordConnection(stale, 'stale');
      // cannot get a token on the hint (authCallback error, not 403: the connection stays up)
      let failCalls = 0;
      const failing = clients.realtime({
        authCallback: (_p, cb) => {
          failCalls++;
          if (failCalls === 2) return cb({ message: 'auth server down', code: 50000, statusCode: 500 }, null);
          rest.auth.requestToken({ clientId: m }).then((td) => cb(null, td), (e) => cb(e, null));
        },
        disconnectedRetryTimeout: 5000,
      });
      const failConn = recordConnection(failing, 'failing');
      const other = await tokenClient(randomId('margin-other'));
      await waitConnection(stale, 'connected');
      await waitConnection(failing, 'connected');
      const lateToken = await rest.auth.requestToken({ clientId: m }); // connects only after the revocation
      await sleep(5);

      const t0 = Date.now();
      const result = await rest.auth.revokeTokens([{ type: 'clientId', value: m }], { allowReauthMargin: true });
      const r = result.results[0];
      assert.equal(result.successCount, 1, JSON.stringify(result));
      assert.ok(r.appliesAt > t0 + 25000, `appliesAt ${r.appliesAt - t0} ms ahead`);

      // a connection opened during the margin with a token under the revocation (its first two
      // authCallback answers are that token, so an AUTH hint would not save it either)
      let lateCalls = 0;
      const late = clients.realtime({
        authCallback: (_p, cb) => {
          if (++lateCalls <= 2) return cb(null, lateToken);
          rest.auth.requestToken({ clientId: m }).then((td) => cb(null, td), (e) => cb(e, null));
        },
        disconnectedRetryTimeout: 5000,
      });
      const lateConn = recordConnection(late, 'late');
      await waitConnection(late, 'connected');

      // the AUTH hint: renew and stale answer it (update), failing tries (authCallback called)
      const u1 = await renew.conn.waitFor((e) => e.event === 'update', 3000, 'renew update');
      const u2 = await staleConn.waitFor((e) => e.event === 'update', 3000, 'stale update');
      assert.ok(u1.at - t0 < DISCONNECT_WITHIN_MS && u2.at - t0 < DISCONNECT_WITHIN_MS);
      assert.equal(renew.cb.calls.length, 2, 'renew fetched a new token on the AUTH');
      assert.equal(staleCalls, 2);
      for (let i = 0; i < 100 && failCalls < 2; i++) await sleep(20);
      assert.equal(failCalls, 2, 'failing client was asked to reauthenticate');
      assert.equal(stale.auth.tokenDetails.token, staleToken.token);

      // nothing disconnects before appliesAt
      const disconnectedYet = (c) => c.find((e) => e.current === 'disconnected');
      const untilApplies = r.appliesAt - Date.now() - 300;
      assert.ok(untilApplies > 20000, `${untilApplies} ms left`);
      await sleep(untilApplies);
      for (const [c, what] of [
        [renew.conn, 'renew'],
        [staleConn, 'stale'],
        [failConn, 'failing'],
        [lateConn, 'late'],
        [other.conn, 'other'],
      ]) {
        assert.equal(disconnectedYet(c), undefined, `${what} disconnected before appliesAt: ${c.describe()}`);
      }

      // at appliesAt: the two still holding the revoked token go, 40141
      for (const [c, what] of [
        [staleConn, 'stale (re-sent the revoked token)'],
        [failConn, 'failing (kept the revoked token)'],
        [lateConn, 'late (connected during the margin with a token under the revocation)'],
      ]) {
        const d = await c.waitFor((e) => e.current === 'disconnected', 3000, `${what} disconnected`);
        assertReason(d.reason, { code: 40141, statusCode: 401 }, what);
        assert.ok(d.at >= r.appliesAt - EARLY_SLACK_MS, `${what}: ${r.appliesAt - d.at} ms before appliesAt`);
      }
      await sleep(500);
      for (const [c, what] of [[renew.conn, 'renew'], [other.conn, 'other']]) {
        assert.equal(disconnectedYet(c), undefined, `${what} must stay connected: ${c.describe()}`);
      }
      assert.equal(renew.rt.connection.id, renew.id);
      assert.ok(other.conn.items.every((e) => e.event !== 'update'), `no AUTH for a non-matching client: ${other.conn.describe()}`);
      // the disconnected ones renew with fresh tokens and come back
      await waitConnection(failing, 'connected', 8000);
      await waitConnection(stale, 'connected', 8000);
      await waitConnection(late, 'connected', 8000);
    });
  });
}
