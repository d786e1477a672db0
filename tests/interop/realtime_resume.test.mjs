// Connection resume (RTN15, wire doc 2.9) and the gateway's limits, with ably-js 2.28.0 and raw
// WebSocket peers, both formats.
//   - A dropped transport is resumed: same connectionId, channels stay attached (RESUMED, no
//     `update`), and messages published meanwhile arrive once, in order (RTN15c6, RTL4j).
//   - Renew-and-resume after DISCONNECTED 40142 (RTN15h2).
//   - Failed resume is a new connection whose CONNECTED carries 80008 (RTN15c7): unknown key,
//     wrong secret, other clientId, after CLOSE, after connectionStateTtl.
//   - Messages re-sent after a resume with their old msgSerial are ACKed, not delivered twice.
//   - Limits: max connections (DISCONNECTED 40111), inbound rate (NACK 42910, then
//     DISCONNECTED 42910), maxMessageSize (NACK 40009), maxFrameSize (ERROR 40009).
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';

import { FORMATS, randomId, restClient } from './lib/helpers.mjs';
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
const RESUMED = 1 << 2;

let server, app, k0;
let shortTtl, shortApp; // --connection-state-ttl 600
let limited, limitedApp; // small limits
let idle, idleApp; // --max-idle-interval 1500

before(async () => {
  [server, shortTtl, limited, idle] = await Promise.all([
    startServer(),
    startServer({ args: ['--connection-state-ttl', '600'] }),
    startServer({
      args: ['--max-connections', '3', '--max-inbound-rate', '5', '--max-message-size', '2048', '--max-frame-size', '8192'],
    }),
    startServer({ args: ['--max-idle-interval', '1500'] }),
  ]);
  [app, shortApp, limitedApp, idleApp] = await Promise.all([
    provisionApp(server),
    provisionApp(shortTtl),
    provisionApp(limited),
    provisionApp(idle),
  ]);
  k0 = app.keys[0];
});

after(async () => {
  await Promise.all([server, shortTtl, limited, idle].filter(Boolean).map((s) => s.stop()));
});

/** ably-js re-attaches on the new transport (attaching, RTN15c6); ATTACHED with RESUMED makes it
 * attached again with resumed=true and no `update` (RTL12). */
function assertResumedChannel(ch, rec) {
  assert.equal(ch.state, 'attached', rec.describe());
  assert.deepEqual(
    rec.items.map((i) => i.summary),
    ['attaching:attached->attaching', 'attached:attaching->attached'],
    rec.describe(),
  );
  assert.equal(rec.items.at(-1).resumed, true, 'ChannelStateChange.resumed');
}

/** Simulates a network drop under ably-js: the WebSocket dies without a close frame. */
function dropTransport(rt) {
  rt.connection.connectionManager.activeProtocol.getTransport().wsConnection.terminate();
}

for (const { name, binary } of FORMATS) {
  const format = binary ? 'msgpack' : 'json';

  describe(`resume (${name})`, () => {
    const clients = new Clients(null, binary);
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());

    async function raw(srv, params) {
      const p = await RawPeer.open(srv, params, format);
      clients.onClose(() => p.close());
      return p;
    }

    it('ably-js: a dropped transport resumes the same connection; no message is lost (RTN15c6)', async () => {
      const chName = randomId('resume');
      const { rt, conn } = clients.recorded({ key: k0.keyStr });
      await waitConnection(rt, 'connected');
      const id = rt.connection.id;
      const ch = rt.channels.get(chName);
      await ch.attach();
      const chRec = recordChannel(ch);
      const got = await recordMessages(ch);
      const pub = clients.realtime({ key: k0.keyStr });
      const pch = pub.channels.get(chName);
      await pch.attach();

      dropTransport(rt);
      for (let i = 0; i < 5; i++) await pch.publish('m', `gap-${i}`); // while rt is away
      await conn.waitFor((i) => i.current === 'connected', 10000, 'connected again', 2);
      await pch.publish('m', 'after');
      await got.waitFor((m) => m.data === 'after', 5000, 'message after resume');

      assert.equal(rt.connection.id, id, 'same connectionId: resumed');
      assert.equal(rt.connection.errorReason?.code === 80008, false, 'no failed-resume error');
      assert.deepEqual(
        got.items.map((m) => m.data),
        ['gap-0', 'gap-1', 'gap-2', 'gap-3', 'gap-4', 'after'],
        'every message once, in order',
      );
      assertResumedChannel(ch, chRec);
    });

    it('ably-js: renew-and-resume after DISCONNECTED 40142 keeps the connectionId (RTN15h2, RTN22a)', async () => {
      const rest = restClient(server, { key: k0.keyStr }, binary);
      const cb = tokenCallback(rest, { override: { ttl: 3000 } });
      const { rt, conn } = clients.recorded({ authCallback: cb });
      await waitConnection(rt, 'connected');
      const id = rt.connection.id;
      const ch = rt.channels.get(randomId('renew'));
      await ch.attach();
      const chRec = recordChannel(ch);
      const d = await conn.waitFor((i) => i.current === 'disconnected', 8000, 'disconnected at expiry');
      assertReason(d.reason, { code: 40142, statusCode: 401 }, 'expiry');
      await conn.waitFor((i) => i.current === 'connected', 8000, 'connected again', conn.items.indexOf(d));
      assert.equal(rt.connection.id, id, 'same connectionId after renewal');
      assert.ok(cb.calls.length >= 2, 'a new token was obtained');
      await chRec.waitFor((i) => i.current === 'attached', 5000, 're-attached');
      assertResumedChannel(ch, chRec);
    });

    it('raw: held messages follow the ATTACHED (RESUMED) of the re-attach, in order (2.9, RTN15c6)', async () => {
      const chName = randomId('rawresume');
      const p = await raw(server, { key: k0.keyStr });
      const c1 = await p.waitAction(ACTION.CONNECTED);
      p.send({ action: ACTION.ATTACH, channel: chName });
      await p.waitAction(ACTION.ATTACHED);
      p.close();
      await p.waitClosed();

      const pub = clients.realtime({ key: k0.keyStr });
      for (let i = 0; i < 3; i++) await pub.channels.get(chName).publish('q', `queued-${i}`);

      const q = await raw(server, { key: k0.keyStr, resume: c1.connectionDetails.connectionKey });
      const c2 = await q.waitAction(ACTION.CONNECTED);
      assert.equal(c2.connectionId, c1.connectionId, 'same connectionId');
      assert.equal(c2.error, undefined, `no error on a successful resume: ${JSON.stringify(c2.error)}`);
      assert.equal(q.frames.items[0].action, ACTION.CONNECTED, 'CONNECTED comes first');
      // published after the resume but before the re-attach: held too
      await pub.channels.get(chName).publish('q', 'queued-3');
      await assertNothingFor(q.frames, (f) => f.action === ACTION.MESSAGE, 200, 'no message before the re-attach');
      q.send({ action: ACTION.ATTACH, channel: chName });
      await q.frames.waitFor((f) => f.action === ACTION.MESSAGE && f.messages[0].data === 'queued-3', 5000, 'held');
      const after = q.frames.items.slice(1).map((f) => (f.action === ACTION.MESSAGE ? f.messages[0].data : f.action));
      assert.deepEqual(after, [ACTION.ATTACHED, 'queued-0', 'queued-1', 'queued-2', 'queued-3']);
      const att = q.frames.items[1];
      assert.ok(att.flags & RESUMED, `ATTACHED has RESUMED: flags ${att.flags}`);
    });

    it('raw: failed resumes are new connections with 80008 (RTN15c7)', async () => {
      const check = async (srv, params, what) => {
        const q = await raw(srv, params);
        const c = await q.waitAction(ACTION.CONNECTED);
        assertReason(c.error, { code: 80008, statusCode: 400 }, what);
        q.close();
        return c;
      };
      const p = await raw(server, { key: k0.keyStr, clientId: 'alice' });
      const c1 = await p.waitAction(ACTION.CONNECTED);
      const key = c1.connectionDetails.connectionKey;
      p.close();
      await p.waitClosed();

      await check(server, { key: k0.keyStr, resume: 'nosuchid!secret' }, 'unknown key');
      const bad = await check(server, { key: k0.keyStr, clientId: 'alice', resume: `${c1.connectionId}!wrongsecret` }, 'wrong secret');
      assert.notEqual(bad.connectionId, c1.connectionId, 'a new connection');
      await check(server, { key: k0.keyStr, clientId: 'bob', resume: key }, 'other clientId');
      // none of those consumed it: the right key with the right clientId still resumes
      const q = await raw(server, { key: k0.keyStr, clientId: 'alice', resume: key });
      const ok = await q.waitAction(ACTION.CONNECTED);
      assert.equal(ok.connectionId, c1.connectionId);
      assert.equal(ok.error, undefined);
      // after CLOSE nothing is kept (RTN12)
      q.send({ action: ACTION.CLOSE });
      await q.waitAction(ACTION.CLOSED);
      await q.waitClosed();
      await check(server, { key: k0.keyStr, clientId: 'alice', resume: key }, 'after CLOSE');
    });

    it('ably-js: an idle connection stays up on the server\'s pings alone (2.5, maxIdleInterval 1.5 s)', async () => {
      const c = new Clients(idle, binary);
      try {
        const { rt, conn } = c.recorded({ key: idleApp.keys[0].keyStr, realtimeRequestTimeout: 1000 });
        await waitConnection(rt, 'connected');
        assert.equal(rt.connection.connectionManager.connectionDetails.maxIdleInterval, 1500);
        // ably-js drops the transport after maxIdleInterval + realtimeRequestTimeout (2.5 s) of
        // silence; nothing but WebSocket pings flows for 4 s
        await new Promise((r) => setTimeout(r, 4000));
        assert.equal(rt.connection.state, 'connected');
        assert.deepEqual(conn.items.map((i) => i.current), ['connecting', 'connected'], conn.describe());
      } finally {
        await c.closeAll();
      }
    });

    it('raw: connectionStateTtl bounds how long a connection waits (CD2f)', async () => {
      const kk = shortApp.keys[0];
      const p = await raw(shortTtl, { key: kk.keyStr });
      const c1 = await p.waitAction(ACTION.CONNECTED);
      assert.equal(c1.connectionDetails.connectionStateTtl, 600);
      p.close();
      await p.waitClosed();
      await new Promise((r) => setTimeout(r, 1200));
      const q = await raw(shortTtl, { key: kk.keyStr, resume: c1.connectionDetails.connectionKey });
      const c2 = await q.waitAction(ACTION.CONNECTED);
      assertReason(c2.error, { code: 80008, statusCode: 400 }, 'expired');
      assert.notEqual(c2.connectionId, c1.connectionId);
    });

    it('raw: a message re-sent after resume with its msgSerial is ACKed once more, delivered once (2.6)', async () => {
      const chName = randomId('dedup');
      const sub = await raw(server, { key: k0.keyStr });
      await sub.waitAction(ACTION.CONNECTED);
      sub.send({ action: ACTION.ATTACH, channel: chName });
      await sub.waitAction(ACTION.ATTACHED);

      const p = await raw(server, { key: k0.keyStr });
      const c1 = await p.waitAction(ACTION.CONNECTED);
      p.send({ action: ACTION.MESSAGE, channel: chName, msgSerial: 0, messages: [{ name: 'x', data: 'once' }] });
      await p.waitAction(ACTION.ACK);
      p.close();
      await p.waitClosed();
      const q = await raw(server, { key: k0.keyStr, resume: c1.connectionDetails.connectionKey });
      assert.equal((await q.waitAction(ACTION.CONNECTED)).connectionId, c1.connectionId);
      q.send({ action: ACTION.MESSAGE, channel: chName, msgSerial: 0, messages: [{ name: 'x', data: 'once' }] });
      q.send({ action: ACTION.MESSAGE, channel: chName, msgSerial: 1, messages: [{ name: 'x', data: 'next' }] });
      const ack0 = await q.waitAction(ACTION.ACK, 5000, 0, (f) => f.msgSerial === 0);
      assert.equal(ack0.count, 1);
      await q.waitAction(ACTION.ACK, 5000, 0, (f) => f.msgSerial === 1);
      await sub.frames.waitFor((f) => f.action === ACTION.MESSAGE && f.messages[0].data === 'next', 5000, 'next');
      await assertNothingFor(sub.frames, () => false, 200, 'settle');
      const seen = sub.frames.items.filter((f) => f.action === ACTION.MESSAGE).map((f) => f.messages[0].data);
      assert.deepEqual(seen, ['once', 'next']);
    });
  });

  describe(`limits (${name})`, () => {
    const peers = [];
    afterEach(() => peers.splice(0).forEach((p) => p.close()));
    const open = async (params) => {
      const p = await RawPeer.open(limited, params, format);
      peers.push(p);
      return p;
    };
    const key = () => limitedApp.keys[0].keyStr;

    it('connectionDetails advertise the configured limits', async () => {
      const p = await open({ key: key() });
      const c = await p.waitAction(ACTION.CONNECTED);
      assert.equal(c.connectionDetails.maxMessageSize, 2048);
      assert.equal(c.connectionDetails.maxFrameSize, 8192);
      assert.equal(c.connectionDetails.maxInboundRate, 5);
    });

    it('over max connections: DISCONNECTED 40111 (retryable), the others unaffected', async () => {
      const ps = [];
      for (let i = 0; i < 3; i++) {
        const p = await open({ key: key() });
        await p.waitAction(ACTION.CONNECTED);
        ps.push(p);
      }
      const extra = await open({ key: key() });
      const d = await extra.waitAction(ACTION.DISCONNECTED);
      assertReason(d.error, { code: 40111, statusCode: 403 }, 'limit');
      assert.notEqual(await extra.waitClosed(), 'timeout');
      ps[0].send({ action: ACTION.HEARTBEAT, id: 'still-here' });
      await ps[0].waitAction(ACTION.HEARTBEAT);
      // a slot frees when a connection goes
      ps[1].send({ action: ACTION.CLOSE });
      await ps[1].waitClosed();
      const again = await open({ key: key() });
      await again.waitAction(ACTION.CONNECTED);
    });

    it('inbound rate: NACK 42910 over maxInboundRate, DISCONNECTED 42910 for a flood', async () => {
      const ch = randomId('rate');
      const p = await open({ key: key() });
      await p.waitAction(ACTION.CONNECTED);
      for (let s = 0; s < 8; s++) p.send({ action: ACTION.MESSAGE, channel: ch, msgSerial: s, messages: [{ data: 'x' }] });
      await p.frames.waitFor((f) => (f.action === ACTION.ACK || f.action === ACTION.NACK) && f.msgSerial === 7, 5000, 'answer 7');
      const acks = p.frames.items.filter((f) => f.action === ACTION.ACK);
      const nacks = p.frames.items.filter((f) => f.action === ACTION.NACK);
      assert.equal(acks.length + nacks.length, 8, 'every message answered');
      assert.ok(acks.length >= 5, `the burst allowance is ACKed (${acks.length})`);
      assert.ok(nacks.length >= 1, 'over the rate is NACKed');
      for (const n of nacks) assertReason(n.error, { code: 42910, statusCode: 429 }, 'rate NACK');

      const f = await open({ key: key() });
      await f.waitAction(ACTION.CONNECTED);
      for (let s = 0; s < 40; s++) f.send({ action: ACTION.MESSAGE, channel: ch, msgSerial: s, messages: [{ data: 'x' }] });
      const d = await f.waitAction(ACTION.DISCONNECTED);
      assertReason(d.error, { code: 42910, statusCode: 429 }, 'flood');
      assert.notEqual(await f.waitClosed(), 'timeout');
    });

    it('maxMessageSize: NACK 40009, the connection stays; maxFrameSize: ERROR 40009', async () => {
      const p = await open({ key: key() });
      await p.waitAction(ACTION.CONNECTED);
      p.send({ action: ACTION.MESSAGE, channel: 'big', msgSerial: 0, messages: [{ name: 'n', data: 'y'.repeat(2100) }] });
      const n = await p.waitAction(ACTION.NACK);
      assertReason(n.error, { code: 40009, statusCode: 400 }, 'message size');
      p.send({ action: ACTION.MESSAGE, channel: 'big', msgSerial: 1, messages: [{ name: 'n', data: 'y'.repeat(1000) }] });
      await p.waitAction(ACTION.ACK, 5000, 0, (f) => f.msgSerial === 1);

      p.send({ action: ACTION.MESSAGE, channel: 'big', msgSerial: 2, messages: [{ data: 'z'.repeat(9000) }] });
      const e = await p.waitAction(ACTION.ERROR);
      assertReason(e.error, { code: 40009, statusCode: 400 }, 'frame size');
      assert.notEqual(await p.waitClosed(), 'timeout');
    });
  });
}
