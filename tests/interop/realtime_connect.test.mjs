// Realtime connection establishment and the clientId rules, with ably-js 2.28.0 against the
// gateway: key (Basic, RSA1/RSA11), token literal, authCallback, authUrl (RSA8c), Ably JWT,
// invalid credentials (RTN14a/RTN14b, RSA4a), clientId inheritance (RSA7, RSA12, RSA15, RTC4a,
// wire doc 3.1), CONNECTED/connectionDetails (RTN21, CD2), ping (RTN13), close (RTN12).
// Every scenario runs in msgpack and in JSON. Raw-WebSocket cases check the wire itself.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, afterEach, before, describe } from 'node:test';

import { FORMATS, randomId, restClient, signJwt } from './lib/helpers.mjs';
import {
  ACTION,
  Clients,
  RawPeer,
  assertReason,
  boundedIt,
  recordChannel,
  startAuthServer,
  tokenCallback,
  waitConnection,
} from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);

let server;
let app;
let k0; // default capability {"*":["*"]}
let k2; // channel0..channel6 fixture capability

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
  k0 = app.keys[0];
  k2 = app.keys[2];
});

after(async () => {
  if (server) await server.stop();
});

for (const { name, binary } of FORMATS) {
  describe(`realtime connect (${name})`, () => {
    const clients = new Clients(null, binary);
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());
    const keyRest = (k = k0) => restClient(server, { key: k.keyStr }, binary);

    /** Waits for `connected` and checks the basics every connection has. */
    async function connected(rt, conn, what) {
      await waitConnection(rt, 'connected', 10000);
      assert.equal(typeof rt.connection.id, 'string', `${what}: connection.id`);
      assert.ok(rt.connection.id.length > 0, `${what}: connection.id`);
      assert.equal(typeof rt.connection.key, 'string', `${what}: connection.key`);
      assert.ok(rt.connection.key.length > 0, `${what}: connection.key`);
      assert.equal(rt.connection.errorReason ?? null, null, `${what}: errorReason ${rt.connection.errorReason}`);
      const states = conn.items.map((i) => i.current);
      assert.deepEqual(states, ['connecting', 'connected'], `${what}: states ${conn.describe()}`);
    }

    it('connects with a key (Basic auth over loopback, RSA11, RTN21); ping (RTN13); close (RTN12)', async () => {
      const { rt, conn } = clients.recorded({ key: k0.keyStr });
      await connected(rt, conn, 'key');
      assert.equal(rt.auth.method, 'basic');
      assert.equal(rt.auth.clientId ?? null, null, 'unidentified Basic connection has no clientId');
      const rtt = await rt.connection.ping();
      assert.equal(typeof rtt, 'number', 'ping resolves with the round trip time');
      assert.ok(rtt >= 0 && rtt < 5000, `ping ${rtt} ms`);
      rt.close();
      await conn.waitFor((i) => i.current === 'closed', 5000, 'closed');
      assert.deepEqual(
        conn.items.map((i) => i.current),
        ['connecting', 'connected', 'closing', 'closed'],
      );
    });

    it('connects with a token literal from requestToken (RSA4, RSA3)', async () => {
      const td = await keyRest().auth.requestToken();
      const { rt, conn } = clients.recorded({ token: td.token });
      await connected(rt, conn, 'token');
      assert.equal(rt.auth.clientId ?? null, null, 'anonymous token: no clientId');
      assert.equal(rt.auth.tokenDetails.token, td.token);
      const ch = rt.channels.get(randomId('tok'));
      await ch.attach();
      assert.equal(ch.state, 'attached');
    });

    it('connects with an authCallback returning TokenDetails and one returning a TokenRequest (RSA8d)', async () => {
      const rest = keyRest();
      const cb = tokenCallback(rest);
      const a = clients.recorded({ authCallback: cb });
      await connected(a.rt, a.conn, 'authCallback TokenDetails');
      assert.equal(cb.calls.length, 1, 'authCallback called once');
      assert.equal(a.rt.auth.tokenDetails.token, cb.tokens[0].token);

      let trCalls = 0;
      const b = clients.recorded({
        clientId: 'tr-user',
        authCallback: (params, callback) => {
          trCalls++;
          assert.equal(params.clientId, 'tr-user', 'tokenParams carry the clientId option (RSA7, RSA8)');
          rest.auth.createTokenRequest(params).then((tr) => callback(null, tr), (e) => callback(e, null));
        },
      });
      await connected(b.rt, b.conn, 'authCallback TokenRequest');
      assert.equal(trCalls, 1);
      assert.equal(b.rt.auth.clientId, 'tr-user');
      assert.equal(b.rt.auth.tokenDetails.clientId, 'tr-user');
    });

    it('connects with an authUrl serving a TokenRequest, TokenDetails, or a JWT (RSA8c)', async () => {
      const rest = keyRest();
      const auth = await startAuthServer(async (url) => {
        const clientId = url.searchParams.get('clientId') || undefined;
        switch (url.searchParams.get('kind')) {
          case 'tr':
            return { body: await rest.auth.createTokenRequest({ clientId }) };
          case 'td':
            return { body: await rest.auth.requestToken({ clientId }) };
          case 'jwt':
            return { type: 'application/jwt', body: signJwt(k0, { 'x-ably-clientId': clientId ?? 'jwt-url' }) };
          default:
            return { status: 400, type: 'text/plain', body: 'kind?' };
        }
      });
      clients.onClose(auth.close);

      const tr = clients.recorded({ authUrl: auth.url, authParams: { kind: 'tr' }, clientId: 'url-tr' });
      await connected(tr.rt, tr.conn, 'authUrl TokenRequest');
      assert.equal(tr.rt.auth.clientId, 'url-tr');

      const td = clients.recorded({ authUrl: auth.url, authParams: { kind: 'td' } });
      await connected(td.rt, td.conn, 'authUrl TokenDetails');
      assert.equal(td.rt.auth.clientId ?? null, null);

      const jwt = clients.recorded({ authUrl: auth.url, authParams: { kind: 'jwt' } });
      await connected(jwt.rt, jwt.conn, 'authUrl JWT');
      assert.equal(jwt.rt.auth.clientId, 'jwt-url', 'clientId from the JWT claim, via connectionDetails');

      assert.equal(auth.requests.length, 3, 'one authUrl request per client');
      assert.equal(auth.requests[0].url.searchParams.get('clientId'), 'url-tr', 'tokenParams in the query (RSA8c1a)');
      assert.ok(auth.requests.every((r) => r.method === 'GET'));
    });

    it('connects with an Ably JWT (HS256, kid = keyName): clientId and capability from its claims (RSA3d, 4.7)', async () => {
      const jwt = signJwt(k0, {
        'x-ably-clientId': 'jwt-user',
        'x-ably-capability': JSON.stringify({ 'jwt-ok': ['subscribe', 'publish'] }),
      });
      const { rt, conn } = clients.recorded({ token: jwt });
      await connected(rt, conn, 'JWT');
      assert.equal(rt.auth.clientId, 'jwt-user');
      const ok = rt.channels.get('jwt-ok');
      await ok.attach();
      assert.deepEqual([...ok.modes].sort(), ['presence_subscribe', 'publish', 'subscribe']);
      const denied = rt.channels.get('jwt-other');
      const chRec = recordChannel(denied);
      await assert.rejects(denied.attach(), (e) => e.code === 40160 && e.statusCode === 401);
      assert.equal(denied.state, 'failed');
      assertReason(chRec.items.at(-1).reason, { code: 40160, statusCode: 401 }, 'denied channel');
      assert.equal(rt.connection.state, 'connected', 'a channel ERROR leaves the connection up (RTL14)');

      // The same JWT through an authCallback returning the string.
      const b = clients.recorded({ authCallback: (_p, cb) => cb(null, signJwt(k0, { 'x-ably-clientId': 'jwt-cb' })) });
      await connected(b.rt, b.conn, 'JWT via authCallback');
      assert.equal(b.rt.auth.clientId, 'jwt-cb');
    });

    it('an invalid key fails the connection with 40101 (RTN14a); so does an unknown key name', async () => {
      const [appId] = k0.keyName.split('.');
      for (const [what, key] of [
        ['wrong secret', `${k0.keyName}:not-the-secret`],
        ['unknown key name', `${appId}.nokey:secret`],
      ]) {
        const { rt, conn } = clients.recorded({ key });
        const sc = await waitConnection(rt, 'failed', 10000);
        assertReason(sc.reason, { code: 40101, statusCode: 401 }, what);
        assertReason(rt.connection.errorReason, { code: 40101, statusCode: 401 }, what);
        assert.deepEqual(conn.items.map((i) => i.current), ['connecting', 'failed'], `${what}: ${conn.describe()}`);
        assert.equal(rt.connection.id, undefined, `${what}: no connectionId`);
      }
    });

    it('a JWT with a bad signature fails with 40101; a JWT without exp is a token error 40144, then 40171 (RSA4a, RTN14b)', async () => {
      const bad = signJwt({ keyName: k0.keyName, keySecret: 'wrong' }, { 'x-ably-clientId': 'x' });
      const a = clients.recorded({ token: bad });
      const scA = await waitConnection(a.rt, 'failed', 10000);
      assertReason(scA.reason, { code: 40101, statusCode: 401 }, 'bad signature');

      const b64url = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const input = `${b64url({ typ: 'JWT', alg: 'HS256', kid: k0.keyName })}.${b64url({ iat: Math.floor(Date.now() / 1000) })}`;
      const noExp = `${input}.${crypto.createHmac('sha256', k0.keySecret).update(input).digest('base64url')}`;
      const b = clients.recorded({ token: noExp });
      const scB = await waitConnection(b.rt, 'failed', 10000);
      const disc = b.conn.find((i) => i.current === 'disconnected');
      assert.ok(disc, `a token error first makes the client disconnected: ${b.conn.describe()}`);
      assertReason(disc.reason, { code: 40144, statusCode: 401 }, 'JWT without exp');
      assertReason(scB.reason, { code: 40171, statusCode: 403 }, 'no means to renew');
    });

    it('a garbage token literal: disconnected with a 4014x token error, then failed 40171 (RSA4a2, 3.5)', async () => {
      const { rt, conn } = clients.recorded({ token: 'not-a-valid-token' });
      const sc = await waitConnection(rt, 'failed', 10000);
      const disc = conn.find((i) => i.current === 'disconnected');
      assert.ok(disc, conn.describe());
      assert.ok(disc.reason.code >= 40140 && disc.reason.code < 40150, `token error, got ${disc.reason.code}`);
      assert.equal(disc.reason.statusCode, 401);
      assertReason(sc.reason, { code: 40171, statusCode: 403 });
    });

    describe('clientId inheritance (RSA7, RSA12, RSA15, wire doc 3.1)', () => {
      it('token with clientId X -> auth.clientId X (also with clientId option X)', async () => {
        const td = await keyRest().auth.requestToken({ clientId: 'cx' });
        const a = clients.recorded({ token: td.token });
        await connected(a.rt, a.conn, 'token X');
        assert.equal(a.rt.auth.clientId, 'cx');
        const b = clients.recorded({ token: td.token, clientId: 'cx' });
        await connected(b.rt, b.conn, 'token X + option X');
        assert.equal(b.rt.auth.clientId, 'cx');
      });

      it('wildcard token + clientId option Y -> Y (RSA15b)', async () => {
        const rest = keyRest();
        const cb = tokenCallback(rest, { override: { clientId: '*' } });
        const { rt, conn } = clients.recorded({ authCallback: cb, clientId: 'wy' });
        await connected(rt, conn, 'wildcard + Y');
        assert.equal(cb.tokens[0].clientId, '*');
        assert.equal(rt.auth.clientId, 'wy');
        // and its messages are stamped with Y
        const ch = rt.channels.get(randomId('wy'));
        await ch.attach();
        const got = new Promise((resolve) => ch.subscribe(resolve));
        await ch.publish('n', 'd');
        const m = await Promise.race([got, new Promise((_, rej) => setTimeout(() => rej(new Error('no echo')), 5000))]);
        assert.equal(m.clientId, 'wy');
      });

      it("wildcard token, no clientId option -> '*' (RSA7b4)", async () => {
        const td = await keyRest().auth.requestToken({ clientId: '*' });
        const { rt, conn } = clients.recorded({ token: td.token });
        await connected(rt, conn, 'wildcard');
        assert.equal(rt.auth.clientId, '*');
      });

      it('token X with clientId option Z: the server refuses with ERROR 40102 -> failed (RSA15c)', async () => {
        const td = await keyRest().auth.requestToken({ clientId: 'tx' });
        const { rt, conn } = clients.recorded({ token: td.token, clientId: 'tz' });
        const sc = await waitConnection(rt, 'failed', 10000);
        assertReason(sc.reason, { code: 40102, statusCode: 401 }, 'server-side clientId mismatch');
        assert.deepEqual(conn.items.map((i) => i.current), ['connecting', 'failed'], conn.describe());
      });

      it('tokenDetails X with clientId option Z: ably-js itself fails with 40102 (RSA15c, client side)', async () => {
        const td = await keyRest().auth.requestToken({ clientId: 'tx2' });
        const { rt } = clients.recorded({ tokenDetails: td, clientId: 'tz2' });
        const sc = await waitConnection(rt, 'failed', 10000);
        assertReason(sc.reason, { code: 40102 }, 'client-side clientId mismatch');
      });

      it('anonymous token with a clientId option: refused with 40102 (S-48)', async () => {
        const td = await keyRest().auth.requestToken();
        const { rt } = clients.recorded({ token: td.token, clientId: 'claimed' });
        const sc = await waitConnection(rt, 'failed', 10000);
        assertReason(sc.reason, { code: 40102, statusCode: 401 });
      });

      it('Basic auth + clientId -> identified as that clientId (RSA7, 3.1)', async () => {
        const { rt, conn } = clients.recorded({ key: k0.keyStr, clientId: 'basic-y' });
        await connected(rt, conn, 'basic + clientId');
        assert.equal(rt.auth.clientId, 'basic-y');
      });
    });

    describe('wire level (raw WebSocket)', () => {
      const format = binary ? 'msgpack' : 'json';

      it('CONNECTED carries connectionId and the connectionDetails fields (RTN21, CD2); frames match the format (1.4)', async () => {
        const td = await keyRest().auth.requestToken({ clientId: 'raw-user' });
        const peer = await RawPeer.open(server, { access_token: td.token }, format);
        clients.onClose(() => peer.close());
        const m = await peer.waitAction(ACTION.CONNECTED);
        assert.equal(m.__binary, binary, 'msgpack only in binary frames, JSON in text frames');
        assert.equal(typeof m.connectionId, 'string');
        assert.ok(m.connectionId.length > 0);
        const d = m.connectionDetails;
        assert.ok(d && typeof d === 'object', JSON.stringify(m));
        assert.equal(typeof d.connectionKey, 'string');
        assert.ok(d.connectionKey.length > 0);
        assert.equal(d.clientId, 'raw-user');
        assert.equal(d.maxMessageSize, 65536);
        assert.ok(Number.isInteger(d.maxIdleInterval) && d.maxIdleInterval > 0, `maxIdleInterval ${d.maxIdleInterval}`);
        assert.equal(d.connectionStateTtl, 120000);
        assert.equal(typeof d.serverId, 'string');
        assert.ok(Number.isInteger(d.maxFrameSize) && d.maxFrameSize >= d.maxMessageSize, `maxFrameSize ${d.maxFrameSize}`);
        assert.ok(Number.isInteger(d.maxInboundRate) && d.maxInboundRate > 0, `maxInboundRate ${d.maxInboundRate}`);

        // HEARTBEAT echo (2.5), then CLOSE -> CLOSED and the socket closes (2.9).
        const n = peer.frames.items.length;
        peer.send({ action: ACTION.HEARTBEAT, id: '1234567890123456' });
        const hb = await peer.waitAction(ACTION.HEARTBEAT, 5000, n);
        assert.equal(hb.id, '1234567890123456');
        peer.send({ action: ACTION.CLOSE });
        await peer.waitAction(ACTION.CLOSED, 5000);
        assert.notEqual(await peer.waitClosed(5000), 'timeout', 'socket closed after CLOSED');
      });

      it('the spec spelling accessToken= is accepted (RSA3c); an anonymous Basic connection sends no clientId', async () => {
        const td = await keyRest().auth.requestToken({ clientId: 'spelled' });
        const a = await RawPeer.open(server, { accessToken: td.token }, format);
        clients.onClose(() => a.close());
        const ca = await a.waitAction(ACTION.CONNECTED);
        assert.equal(ca.connectionDetails.clientId, 'spelled');
        const b = await RawPeer.open(server, { key: k2.keyStr }, format);
        clients.onClose(() => b.close());
        const cb = await b.waitAction(ACTION.CONNECTED);
        assert.equal(cb.connectionDetails.clientId ?? null, null);
        assert.notEqual(ca.connectionId, cb.connectionId);
      });

      it("clientId '*' is refused with ERROR 40012/400; no credentials with ERROR 40101 (RSA7c, S-57)", async () => {
        const a = await RawPeer.open(server, { key: k0.keyStr, clientId: '*' }, format);
        clients.onClose(() => a.close());
        const ea = await a.waitAction(ACTION.ERROR);
        assert.equal(ea.channel ?? null, null, 'connection-level ERROR');
        assert.equal(ea.error.code, 40012);
        assert.equal(ea.error.statusCode, 400);
        assert.equal(typeof ea.error.message, 'string');
        assert.equal(a.frames.find((f) => f.action === ACTION.CONNECTED), undefined, 'no CONNECTED before the ERROR');
        assert.notEqual(await a.waitClosed(5000), 'timeout', 'socket closed after the ERROR');

        const b = await RawPeer.open(server, {}, format);
        clients.onClose(() => b.close());
        const eb = await b.waitAction(ACTION.ERROR);
        assert.equal(eb.error.code, 40101);
        assert.equal(eb.error.statusCode, 401);
        assert.notEqual(await b.waitClosed(5000), 'timeout');
      });
    });
  });
}
