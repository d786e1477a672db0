// Token expiry on live connections with ably-js 2.28.0 (RTN22, RTN22a, RTN15h, RTN14b, RSA4a,
// RSA4b; S-58, S-59; wire doc 3.4, 3.5): at `expires` the gateway sends DISCONNECTED 40142 and
// closes; a renewable client (authCallback) fetches a new token and is connected again; a
// token literal ends `failed` 40171. With a token that expires more than 30 s ahead the gateway
// asks for a new token first (AUTH), and the client renews in place (`update`).
// Short ttls (3-5 s) keep this file quick. Both formats throughout.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { FORMATS, randomId, restClient, signJwt } from './lib/helpers.mjs';
import {
  Clients,
  assertReason,
  boundedIt,
  recordConnection,
  recordMessages,
  tokenCallback,
  waitConnection,
} from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);

const TTL = 4000;
const EARLY_SLACK_MS = 150; // the gateway and the tests share the host clock

let server;
let app;
let k0;

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
  k0 = app.keys[0];
});

after(async () => {
  if (server) await server.stop();
});

for (const { name, binary } of FORMATS) {
  describe(`realtime token expiry (${name})`, () => {
    const clients = new Clients(null, binary);
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());
    const keyRest = () => restClient(server, { key: k0.keyStr }, binary);

    it('authCallback renewal: DISCONNECTED 40142 at expiry, a new token, connected again (RTN22a, RTN15h2, S-58)', async () => {
      const cb = tokenCallback(keyRest(), { override: { ttl: TTL } });
      const rt = clients.realtime({ authCallback: cb, disconnectedRetryTimeout: 1000 });
      const conn = recordConnection(rt);
      await waitConnection(rt, 'connected');
      const first = cb.tokens[0];
      assert.equal(first.expires - first.issued, TTL);
      const chName = randomId('exp');
      const ch = rt.channels.get(chName);
      await ch.attach();
      const rec = await recordMessages(ch);

      const disc = await conn.waitFor((e) => e.current === 'disconnected', TTL + 3000, 'disconnected');
      assertReason(disc.reason, { code: 40142, statusCode: 401 }, 'expiry');
      assert.ok(disc.at >= first.expires - EARLY_SLACK_MS, `disconnected ${first.expires - disc.at} ms before expires`);
      assert.ok(disc.at <= first.expires + 2000, `disconnected ${disc.at - first.expires} ms after expires`);
      const beforeExpiry = conn.items.slice(0, conn.items.indexOf(disc));
      assert.deepEqual(
        beforeExpiry.map((e) => e.current),
        ['connecting', 'connected'],
        `no AUTH hint (expiry - 30 s is in the past): ${conn.describe()}`,
      );

      await conn.waitFor((e) => e.current === 'connected' && e.at > disc.at, 5000, 'connected again');
      assert.equal(rt.connection.state, 'connected');
      assert.ok(cb.calls.length >= 2, `authCallback called ${cb.calls.length} times`);
      assert.notEqual(rt.auth.tokenDetails.token, first.token, 'a new token');
      // the channel re-attaches (RTN15c) and works on the new token
      if (ch.state !== 'attached') await new Promise((resolve) => ch.once('attached', resolve));
      await ch.publish('after-renewal', 'ok');
      assert.equal((await rec.waitFor((m) => m.name === 'after-renewal', 5000, 'after-renewal')).data, 'ok');
    });

    it('a token literal cannot be renewed: disconnected 40142 at expiry, then failed 40171 (RSA4a2, 3.5)', async () => {
      const td = await keyRest().auth.requestToken({ ttl: TTL });
      const rt = clients.realtime({ token: td.token, disconnectedRetryTimeout: 1000 });
      const conn = recordConnection(rt);
      await waitConnection(rt, 'connected');
      const failed = await conn.waitFor((e) => e.current === 'failed', TTL + 5000, 'failed');
      assertReason(failed.reason, { code: 40171, statusCode: 403 }, 'no means to renew');
      const disc = conn.find((e) => e.current === 'disconnected');
      assert.ok(disc, conn.describe());
      assertReason(disc.reason, { code: 40142, statusCode: 401 }, 'expiry');
      assert.ok(disc.at >= td.expires - EARLY_SLACK_MS, `disconnected ${td.expires - disc.at} ms before expires`);
      const states = conn.items.map((e) => e.current);
      assert.deepEqual(states.slice(0, 2), ['connecting', 'connected']);
      assert.ok(states.indexOf('disconnected') < states.indexOf('failed'), conn.describe());
      assert.equal(rt.connection.state, 'failed');
    });

    it('an Ably JWT expires too: DISCONNECTED 40142, a new JWT from the authCallback, connected again', async () => {
      const jwts = [];
      const rt = clients.realtime({
        authCallback: (_p, cb) => {
          const j = signJwt(k0, { 'x-ably-clientId': 'jwt-exp' }, { ttlSeconds: 3 });
          jwts.push(j);
          cb(null, j);
        },
        disconnectedRetryTimeout: 1000,
      });
      const conn = recordConnection(rt);
      await waitConnection(rt, 'connected');
      assert.equal(rt.auth.clientId, 'jwt-exp');
      const disc = await conn.waitFor((e) => e.current === 'disconnected', 6000, 'disconnected');
      assertReason(disc.reason, { code: 40142, statusCode: 401 });
      await conn.waitFor((e) => e.current === 'connected' && e.at > disc.at, 5000, 'connected again');
      assert.ok(jwts.length >= 2);
      assert.equal(rt.auth.clientId, 'jwt-exp');
    });

    it('RTN22: with a token expiring > 30 s ahead the gateway sends AUTH 30 s early; the client renews in place (`update`)', async () => {
      const ttl = 35000;
      const cb = tokenCallback(keyRest(), { override: { ttl } });
      const rt = clients.realtime({ authCallback: cb });
      const conn = recordConnection(rt);
      await waitConnection(rt, 'connected');
      const first = cb.tokens[0];
      const id = rt.connection.id;
      const from = conn.items.length;
      const upd = await conn.waitFor((e) => e.event === 'update', ttl - 30000 + 3000, 'update', from);
      const hintAt = first.expires - 30000;
      assert.ok(upd.at >= hintAt - EARLY_SLACK_MS, `update ${hintAt - upd.at} ms before expires - 30 s`);
      assert.equal(cb.calls.length, 2, 'the AUTH made the client fetch a token');
      assert.equal(cb.calls[1].at >= hintAt - EARLY_SLACK_MS, true);
      assert.notEqual(rt.auth.tokenDetails.token, first.token);
      assert.equal(rt.connection.id, id, 'same connection');
      const evs = conn.items.slice(from);
      assert.ok(evs.every((e) => e.event === 'update'), `only update: ${conn.describe()}`);
    });

    it('authorize() with a longer-lived token before expiry: no disconnect at the old expiry (RTC8a, RTN22)', async () => {
      const cb = tokenCallback(keyRest(), { params: (tp) => ({ ttl: 2500, ...tp }) });
      const rt = clients.realtime({ authCallback: cb });
      const conn = recordConnection(rt);
      await waitConnection(rt, 'connected');
      const first = cb.tokens[0];
      const td = await rt.auth.authorize({ ttl: 60000 });
      assert.equal(td.expires - td.issued, 60000);
      const from = conn.items.length;
      await sleep(first.expires - Date.now() + 1000);
      assert.equal(conn.find((e) => e.current !== 'connected', from), undefined, `no state change: ${conn.describe()}`);
      assert.equal(rt.connection.state, 'connected');
      await rt.connection.ping();
    });

    it('authorize() with a shorter-lived token: DISCONNECTED 40142 at the new expiry (RTC8a, RTN22a)', async () => {
      const cb = tokenCallback(keyRest(), { params: (tp) => ({ ttl: 60000, ...tp }) });
      const rt = clients.realtime({ authCallback: cb, disconnectedRetryTimeout: 1000 });
      const conn = recordConnection(rt);
      await waitConnection(rt, 'connected');
      const td = await rt.auth.authorize({ ttl: 2500 });
      assert.equal(td.expires - td.issued, 2500);
      const disc = await conn.waitFor((e) => e.current === 'disconnected', 6000, 'disconnected');
      assertReason(disc.reason, { code: 40142, statusCode: 401 });
      assert.ok(disc.at >= td.expires - EARLY_SLACK_MS, `${td.expires - disc.at} ms early`);
      assert.ok(disc.at <= td.expires + 2000, `${disc.at - td.expires} ms late`);
    });

    it('RTN14b: a renewed token that is rejected again -> disconnected, retried after disconnectedRetryTimeout', async () => {
      const expired = await keyRest().auth.requestToken({ ttl: 1000 });
      await sleep(expired.expires - Date.now() + 50);
      let calls = 0;
      const t0 = Date.now();
      const rt = clients.realtime({
        authCallback: (_p, cb) => {
          calls++;
          cb(null, expired); // always the same expired token
        },
        disconnectedRetryTimeout: 2000,
      });
      const conn = recordConnection(rt);
      // the first token error is retried at once with a forced renewal (a second `connecting`);
      // the error that follows it is the one that must wait disconnectedRetryTimeout
      const first = await conn.waitFor((e) => e.current === 'connecting', 5000, 'connecting');
      const renewal = await conn.waitFor((e) => e.current === 'connecting', 5000, 'forced renewal', conn.items.indexOf(first) + 1);
      const disc = await conn.waitFor(
        (e) => e.current === 'disconnected' && e.retryIn > 0,
        5000,
        'disconnected with retryIn after the renewal',
        conn.items.indexOf(renewal) + 1,
      );
      assertReason(disc.reason, { code: 40142, statusCode: 401 });
      assert.ok(disc.at - t0 < 1500, `second token error came ${disc.at - t0} ms after start`);
      assert.equal(calls, 2, 'one forced renewal before backing off (RTN14b)');
      assert.ok(conn.items.every((e) => e.current !== 'connected' && e.current !== 'failed'), conn.describe());
      const retry = await conn.waitFor((e) => e.current === 'connecting' && e.at > disc.at, 4000, 'the retry');
      assert.ok(retry.at - disc.at >= 2000 * 0.8 - EARLY_SLACK_MS, `retried ${retry.at - disc.at} ms after the backoff started`);
      for (let i = 0; i < 50 && calls < 3; i++) await sleep(20);
      assert.equal(calls, 3, 'the retry fetched a token again');
    });
  });
}
