// ably-js 2.28.0's browser bundle in a real headless Chromium against rtauthd, across three
// loopback origins: the page on one, the app's auth server on a second, rtauthd on a third,
// so every REST call is cross-origin and preflighted (X-Ably-Version, Ably-Agent, JSON
// bodies, Authorization with credentials) as on a real site. Covers docs/server.md "CORS":
// connect through authUrl, publish and receive, REST with token auth (Link paging) and with
// a key, 40101 readable for a wrong secret, 40141 on revocation, authorize() upgrading the
// same connection, an idle connection kept up by HEARTBEAT messages (a browser cannot see
// WebSocket pings), and an origin rtauthd refuses. Fails when Chromium cannot start
// (RTA_ALLOW_BROWSER_SKIP=1: skips). Run: RTA_BUILD_DIR=$PWD/build node --test tests/browser/
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import Ably from 'ably';

import { provisionApp, startServer } from '../interop/lib/server.mjs';
import { launchChromium, startAuthServer, startPageServer, withPage } from './lib/browser.mjs';

const chromium = await launchChromium();
const TEST = { timeout: 45000, skip: chromium.skip }; // each test skips, so the count shows it

describe('ably-js in Chromium, page, auth server and rtauthd on three origins', () => {
  let rtauthd; // allows any origin (the default)
  let pageSrv;
  let authSrv; // signs with a key with revocable tokens and capability {"*":["*"]}
  let key; // another key of the same app, for REST with a key
  let keyName;
  let cfg; // what page.evaluate() needs

  before(async () => {
    if (chromium.skip) return;
    rtauthd = await startServer();
    const app = await provisionApp(rtauthd, [{}, { revocableTokens: true }]);
    key = app.keys[0].keyStr;
    keyName = app.keys[0].keyName;
    pageSrv = await startPageServer();
    authSrv = await startAuthServer(rtauthd, app.keys[1].keyStr);
    const ports = new Set([pageSrv.port, authSrv.port, rtauthd.port]);
    assert.equal(ports.size, 3, 'three origins');
    cfg = {
      opts: { endpoint: '127.0.0.1', port: rtauthd.port, tls: false, logLevel: 1 },
      authUrl: authSrv.authUrl,
      key,
      keyName,
    };
  });

  after(async () => {
    await authSrv?.close();
    await pageSrv?.close();
    await chromium.close?.();
    await rtauthd?.stop();
  });

  const inPage = (fn) => withPage(chromium.browser, pageSrv.origin, fn);

  it('connects through authUrl with the clientId it asked for, publishes and receives', TEST, () =>
    inPage(async ({ page }) => {
      const asked = authSrv.requests.length;
      const r = await page.evaluate(async (c) => {
        const rt = new Ably.Realtime({ ...c.opts, authUrl: c.authUrl, clientId: 'alice' });
        try {
          await connectionState(rt.connection, ['connected'], 15000);
          const channel = rt.channels.get('browser:room');
          const got = new Promise((resolve) => channel.subscribe('greeting', resolve));
          await withTimeout(channel.attach(), 10000, 'attach');
          await withTimeout(channel.publish('greeting', { text: 'hello from the page' }), 10000, 'publish');
          const m = await withTimeout(got, 10000, 'message');
          return {
            clientId: rt.auth.clientId,
            tokenClientId: rt.auth.tokenDetails && rt.auth.tokenDetails.clientId,
            connectionId: rt.connection.id,
            message: { name: m.name, data: m.data, clientId: m.clientId },
          };
        } finally {
          rt.close();
        }
      }, cfg);
      assert.equal(r.clientId, 'alice');
      assert.equal(r.tokenClientId, 'alice');
      assert.ok(r.connectionId);
      assert.deepEqual(r.message, { name: 'greeting', data: { text: 'hello from the page' }, clientId: 'alice' });
      const q = authSrv.requests.slice(asked);
      assert.ok(q.some((p) => p.clientId === 'alice'), `authUrl asked for alice: ${JSON.stringify(q)}`);
    }));

  it('uses REST with token auth through authUrl: time, publish, paged history', TEST, () =>
    inPage(async ({ page }) => {
      const r = await page.evaluate(async (c) => {
        const rest = new Ably.Rest({ ...c.opts, authUrl: c.authUrl, clientId: 'dave' });
        const time = await rest.time();
        const channel = rest.channels.get('browser:rest-token');
        for (const n of ['one', 'two', 'three']) await channel.publish('n', n);
        const first = await channel.history({ limit: 2, direction: 'forwards' });
        // the next page comes from the Link header: readable only if rtauthd exposes it
        const second = first.hasNext() ? await first.next() : null;
        return {
          time,
          method: rest.auth.method,
          first: first.items.map((m) => [m.data, m.clientId]),
          second: second && second.items.map((m) => [m.data, m.clientId]),
        };
      }, cfg);
      assert.ok(Math.abs(r.time - Date.now()) < 60000, `server time ${r.time}`);
      assert.equal(r.method, 'token');
      assert.deepEqual(r.first, [
        ['one', 'dave'],
        ['two', 'dave'],
      ]);
      assert.deepEqual(r.second, [['three', 'dave']]);
    }));

  it('uses REST with a key (Basic over loopback HTTP): publish, history, requestToken', TEST, () =>
    inPage(async ({ page }) => {
      const r = await page.evaluate(async (c) => {
        const rest = new Ably.Rest({ ...c.opts, key: c.key });
        const channel = rest.channels.get('browser:rest-key');
        await channel.publish('k', 'with a key');
        const history = await channel.history();
        const token = await rest.auth.requestToken({ clientId: 'erin' });
        return {
          method: rest.auth.method,
          history: history.items.map((m) => m.data),
          token: { clientId: token.clientId, keyName: token.keyName, ok: !!token.token },
        };
      }, cfg);
      assert.equal(r.method, 'basic');
      assert.deepEqual(r.history, ['with a key']);
      assert.deepEqual(r.token, { clientId: 'erin', keyName, ok: true });
    }));

  it('sees 40101 (not 40170) for a wrong key secret', TEST, () =>
    inPage(async ({ page }) => {
      const r = await page.evaluate(async (c) => {
        const rest = new Ably.Rest({ ...c.opts, key: c.keyName + ':wrongsecret' });
        const fail = (p) => p.then(() => null, (e) => errorOf(e));
        return {
          basic: await fail(rest.channels.get('browser:x').history()),
          signed: await fail(rest.auth.requestToken({ clientId: 'mallory' })),
        };
      }, cfg);
      // Basic auth: rtauthd's error reply, read through x-ably-errorcode
      assert.equal(r.basic?.code, 40101, JSON.stringify(r.basic));
      assert.equal(r.basic.statusCode, 401);
      // a TokenRequest signed with the wrong secret: requestToken's own error reply
      assert.equal(r.signed?.code, 40101, JSON.stringify(r.signed));
      assert.equal(r.signed.statusCode, 401);
    }));

  it('is disconnected with 40141 when its clientId is revoked, then reconnects', TEST, () =>
    inPage(async ({ page }) => {
      await page.evaluate(async (c) => {
        window.rt = new Ably.Realtime({ ...c.opts, authUrl: c.authUrl, clientId: 'bob' });
        await connectionState(rt.connection, ['connected'], 15000);
        window.dropped = connectionState(rt.connection, ['disconnected'], 20000);
      }, cfg);
      // the app's backend revokes bob's tokens, with the key that issued them
      const backend = new Ably.Rest({ key: authSrv.key, endpoint: '127.0.0.1', port: rtauthd.port, tls: false });
      const result = await backend.auth.revokeTokens([{ type: 'clientId', value: 'bob' }]);
      assert.equal(result.successCount, 1);
      const r = await page.evaluate(async () => {
        try {
          const drop = await window.dropped;
          const back = await connectionState(rt.connection, ['connected'], 20000);
          return { dropped: drop, back: back.state };
        } finally {
          rt.close();
        }
      });
      assert.equal(r.dropped.state, 'disconnected');
      assert.equal(r.dropped.reason?.code, 40141, JSON.stringify(r.dropped));
      assert.equal(r.back, 'connected'); // a new token from authUrl, issued after the revocation
    }));

  it('upgrades its capability with authorize() on the same connection', TEST, () =>
    inPage(async ({ page }) => {
      const asked = authSrv.requests.length;
      const r = await page.evaluate(async (c) => {
        const subscribeOnly = JSON.stringify({ 'up:*': ['subscribe'] });
        const publishToo = JSON.stringify({ 'up:*': ['publish', 'subscribe'] });
        const rt = new Ably.Realtime({
          ...c.opts,
          authUrl: c.authUrl,
          clientId: 'carol',
          defaultTokenParams: { capability: subscribeOnly },
        });
        try {
          await connectionState(rt.connection, ['connected'], 15000);
          const before = rt.connection.id;
          const channel = rt.channels.get('up:room');
          await withTimeout(channel.attach(), 10000, 'attach');
          const refused = await withTimeout(channel.publish('m', 'before'), 10000, 'publish before').then(
            () => null,
            (e) => errorOf(e),
          );
          const details = await withTimeout(
            rt.auth.authorize({ clientId: 'carol', capability: publishToo }),
            15000,
            'authorize',
          );
          const got = new Promise((resolve) => channel.subscribe('m', resolve));
          await withTimeout(channel.publish('m', 'after'), 10000, 'publish after');
          const m = await withTimeout(got, 10000, 'message');
          return {
            refused,
            before,
            after: rt.connection.id,
            state: rt.connection.state,
            capability: JSON.parse(details.capability),
            received: m.data,
          };
        } finally {
          rt.close();
        }
      }, cfg);
      assert.equal(r.refused?.code, 40160, JSON.stringify(r.refused));
      assert.equal(r.state, 'connected');
      assert.equal(r.after, r.before, 'same connectionId after authorize()');
      assert.deepEqual(r.capability, { 'up:*': ['publish', 'subscribe'] });
      assert.equal(r.received, 'after');
      const q = authSrv.requests.slice(asked);
      assert.ok(
        q.some((p) => p.capability && JSON.parse(p.capability)['up:*'].includes('publish')),
        `authUrl asked for the new capability: ${JSON.stringify(q)}`,
      );
    }));

  // RTN23b, wire doc 2.5: ably-js in a browser asks for heartbeats=true and drops a transport
  // silent for maxIdleInterval + realtimeRequestTimeout (1.5 + 1 s here); it cannot see
  // WebSocket pings, so only the server's HEARTBEAT messages keep an idle connection up.
  it('stays connected through 6 s of silence on HEARTBEAT messages (maxIdleInterval 1.5 s)', TEST, async () => {
    const idle = await startServer({ args: ['--max-idle-interval', '1500'] });
    try {
      const app = await provisionApp(idle, [{}]);
      await inPage(async ({ page }) => {
        const r = await page.evaluate(async (c) => {
          const rt = new Ably.Realtime({ ...c.opts, key: c.key, realtimeRequestTimeout: 1000 });
          const states = [];
          rt.connection.on((s) => states.push(s.current));
          try {
            await connectionState(rt.connection, ['connected'], 15000);
            const maxIdle = rt.connection.connectionManager.connectionDetails?.maxIdleInterval;
            await new Promise((ok) => setTimeout(ok, 6000));
            return { maxIdle, states: [...states], state: rt.connection.state };
          } finally {
            rt.close();
          }
        }, { ...cfg, key: app.keys[0].keyStr, opts: { ...cfg.opts, port: idle.port } });
        assert.equal(r.maxIdle, 1500);
        assert.equal(r.state, 'connected');
        assert.deepEqual(r.states, ['connecting', 'connected'], 'never dropped for inactivity');
      });
    } finally {
      await idle.stop();
    }
  });

  it('cannot read replies from an rtauthd whose --cors-origins leaves its origin out', TEST, async () => {
    const refusing = await startServer({ args: ['--cors-origins', 'https://app.example.com'] });
    try {
      await inPage(async ({ page, log }) => {
      const r = await page.evaluate(
        async (c) => {
          const rest = new Ably.Rest({ ...c.opts, key: c.key });
          return rest.time().then(
            (t) => ({ time: t }),
            (e) => ({ error: errorOf(e) }),
          );
        },
        { ...cfg, opts: { ...cfg.opts, port: refusing.port } },
      );
      assert.ok(r.error, `time() from a refused origin: ${JSON.stringify(r)}`);
      assert.match(r.error.message, /XHR error/);
      assert.ok(
        log.some((l) => /CORS policy/.test(l)),
        `Chromium blocked it by CORS policy; page log:\n${log.join('\n')}`,
      );
      });
    } finally {
      await refusing.stop();
    }
  });
});
