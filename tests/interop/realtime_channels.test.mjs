// Channels on the realtime gateway with ably-js 2.28.0: ATTACH with modes = requested ∩
// capability (RTL4, RTL4l/m, TR3, S-46), channel ERROR 40160 when nothing is allowed (RTL14,
// S-63) and 40010 for an invalid name, publish with ACK (RTL6, RTN7) and NACK 40160 / 40012
// (RSL1m4, S-52), fan-out to subscribers across formats (RTL7, RSL4), clientId stamping of an
// identified client (RSL1m1, S-51), echoMessages:false (RTC1a / RTN2b), DETACH (RTL5).
// Fixture keys from ably-common's test-app-setup.json. Both formats throughout.
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
  waitConnection,
} from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);

let server;
let app;
let k0, k1, k2, k3;

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
  [k0, k1, k2, k3] = app.keys;
});

after(async () => {
  if (server) await server.stop();
});

const sorted = (a) => [...(a ?? [])].sort();
const DEFAULT_MODES = ['presence', 'presence_subscribe', 'publish', 'subscribe'];

for (const { name, binary } of FORMATS) {
  describe(`realtime channels (${name})`, () => {
    const clients = new Clients(null, binary);
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());

    async function connect(opts) {
      const rt = clients.realtime(opts);
      const conn = recordConnection(rt);
      await waitConnection(rt, 'connected', 10000);
      return { rt, conn };
    }

    /** Attach must fail with a channel ERROR; the connection stays connected. */
    async function attachDenied(rt, chName, { code, statusCode }, opts) {
      const ch = rt.channels.get(chName, opts);
      const rec = recordChannel(ch);
      await assert.rejects(ch.attach(), (e) => {
        assertReason(e, { code, statusCode }, `attach ${chName}`);
        return true;
      });
      assert.equal(ch.state, 'failed', `${chName} state`);
      assertReason(ch.errorReason, { code, statusCode }, `${chName} errorReason`);
      assert.equal(rec.items.at(-1).current, 'failed');
      assert.equal(rt.connection.state, 'connected', 'a channel ERROR leaves the connection connected (RTL14)');
    }

    async function attachModes(rt, chName, opts) {
      const ch = rt.channels.get(chName, opts);
      await ch.attach();
      assert.equal(ch.state, 'attached');
      return sorted(ch.modes);
    }

    it('fixture keys[2]: modes follow the capability per channel; channel7 -> 40160 (RTL4, TR3, S-46, S-63)', async () => {
      const { rt, conn } = await connect({ key: k2.keyStr });
      assert.deepEqual(await attachModes(rt, 'channel0'), ['publish']);
      assert.deepEqual(await attachModes(rt, 'channel3'), ['presence_subscribe', 'subscribe']);
      assert.deepEqual(await attachModes(rt, 'channel4'), DEFAULT_MODES);
      assert.deepEqual(await attachModes(rt, 'channel5'), ['presence']);
      assert.deepEqual(await attachModes(rt, 'channel6'), DEFAULT_MODES);
      await attachDenied(rt, 'channel7', { code: 40160, statusCode: 401 });
      await attachDenied(rt, 'other', { code: 40160, statusCode: 401 });
      // earlier attachments are untouched, and the connection never changed state
      assert.equal(rt.channels.get('channel6').state, 'attached');
      assert.deepEqual(conn.items.map((i) => i.current), ['connecting', 'connected'], conn.describe());
    });

    it('fixture keys[1] (namespaces) and keys[3] ("*": subscribe)', async () => {
      const a = await connect({ key: k1.keyStr });
      assert.deepEqual(await attachModes(a.rt, 'cansubscribe:x'), ['presence_subscribe', 'subscribe']);
      assert.deepEqual(await attachModes(a.rt, 'canpublish:y'), ['publish']);
      assert.deepEqual(await attachModes(a.rt, 'canpublish:andpresence'), ['presence', 'publish']);
      await attachDenied(a.rt, 'cansubscribe', { code: 40160, statusCode: 401 });
      await attachDenied(a.rt, 'nonamespace', { code: 40160, statusCode: 401 });

      const b = await connect({ key: k3.keyStr });
      assert.deepEqual(await attachModes(b.rt, randomId('any')), ['presence_subscribe', 'subscribe']);
    });

    it('requested modes are intersected with the capability; an empty grant is 40160 (RTL4l, RTL4m, S-46)', async () => {
      const { rt } = await connect({ key: k2.keyStr });
      assert.deepEqual(await attachModes(rt, 'channel3', { modes: ['publish', 'subscribe'] }), ['subscribe']);
      assert.deepEqual(await attachModes(rt, 'channel6', { modes: ['publish'] }), ['publish']);
      await attachDenied(rt, 'channel0', { code: 40160, statusCode: 401 }, { modes: ['subscribe'] });
    });

    it('publishing on a channel attached without the publish mode is NACKed 40165 (S-46)', async () => {
      const { rt } = await connect({ key: k0.keyStr });
      const chName = randomId('modes');
      assert.deepEqual(await attachModes(rt, chName, { modes: ['subscribe'] }), ['subscribe']);
      await assert.rejects(rt.channels.get(chName).publish('x', 'y'), (e) => {
        assertReason(e, { code: 40165, statusCode: 401 }, 'publish without the mode');
        return true;
      });
      // the capability allows publishing: without attaching, or attached with the mode, it works
      await rt.channels.get(randomId('unattached')).publish('x', 'y');
      assert.equal(rt.connection.state, 'connected');
    });

    it('an invalid channel name (":hell") gets channel ERROR 40010/400 (wire doc 2.7)', async () => {
      const { rt } = await connect({ key: k0.keyStr });
      await attachDenied(rt, ':hell', { code: 40010, statusCode: 400 });
      assert.equal(await attachModes(rt, randomId('fine')).then((m) => m.length), 4, 'other channels still attach');
    });

    it('publish is ACKed with serials and fans out to subscribers in both formats (RTL6, RTL7, RSL4)', async () => {
      const chName = randomId('fan');
      const pub = await connect({ key: k0.keyStr });
      const subJson = await connect({ key: k0.keyStr, useBinaryProtocol: false });
      const subBin = await connect({ key: k0.keyStr, useBinaryProtocol: true });
      const recs = [];
      for (const s of [subJson, subBin]) {
        const ch = s.rt.channels.get(chName);
        await ch.attach();
        recs.push(await recordMessages(ch));
      }
      const pch = pub.rt.channels.get(chName);
      await pch.attach();
      const payloads = [
        ['text', 'hello ünïcödé'],
        ['object', { a: 1, b: [true, null, 'x'], nested: { deep: 2.5 } }],
        ['binary', Buffer.from([0, 1, 2, 250, 255])],
        ['empty', ''],
      ];
      const t0 = Date.now();
      for (const [n, data] of payloads) {
        const res = await pch.publish(n, data); // PublishResult from ACK res[0] (2.6)
        assert.ok(res && Array.isArray(res.serials) && res.serials.length === 1, `ACK res ${JSON.stringify(res)}`);
        assert.equal(typeof res.serials[0], 'string');
      }
      for (const [i, rec] of recs.entries()) {
        const label = i === 0 ? 'JSON subscriber' : 'msgpack subscriber';
        for (const [n, data] of payloads) {
          const m = await rec.waitFor((x) => x.name === n, 5000, `message ${n}`);
          if (Buffer.isBuffer(data)) {
            assert.ok(Buffer.isBuffer(m.data) || m.data instanceof Uint8Array, `${label}: ${n} is binary, got ${typeof m.data}`);
            assert.deepEqual(Buffer.from(m.data), data, `${label}: ${n}`);
          } else {
            assert.deepEqual(m.data, data, `${label}: ${n}`);
          }
          assert.equal(m.encoding ?? null, null, `${label}: ${n} fully decoded`);
          assert.equal(m.connectionId, pub.rt.connection.id, `${label}: connectionId`);
          assert.equal(m.clientId ?? null, null, `${label}: anonymous publisher`);
          assert.equal(typeof m.id, 'string');
          assert.ok(m.id.startsWith(`${pub.rt.connection.id}:`), `${label}: id ${m.id}`);
          assert.ok(m.timestamp >= t0 - 1000 && m.timestamp <= Date.now() + 1000, `${label}: timestamp ${m.timestamp}`);
        }
        assert.deepEqual(rec.items.map((m) => m.name), payloads.map(([n]) => n), `${label}: order`);
      }
    });

    it('several messages in one publish call are delivered in order', async () => {
      const chName = randomId('batch');
      const a = await connect({ key: k0.keyStr });
      const b = await connect({ key: k0.keyStr });
      const bch = b.rt.channels.get(chName);
      await bch.attach();
      const rec = await recordMessages(bch);
      const msgs = Array.from({ length: 5 }, (_, i) => ({ name: `m${i}`, data: `d${i}` }));
      await a.rt.channels.get(chName).publish(msgs);
      await rec.waitFor((m) => m.name === 'm4', 5000, 'last message');
      assert.deepEqual(rec.items.map((m) => [m.name, m.data]), msgs.map((m) => [m.name, m.data]));
      const ids = rec.items.map((m) => m.id);
      assert.equal(new Set(ids).size, 5, `distinct ids ${ids}`);
    });

    it('publish without the publish capability is NACKed with 40160; attached or not (RTL6, S-63)', async () => {
      const { rt, conn } = await connect({ key: k1.keyStr });
      const sub = rt.channels.get('cansubscribe:nopub');
      await sub.attach();
      await assert.rejects(sub.publish('n', 'd'), (e) => {
        assertReason(e, { code: 40160, statusCode: 401 }, 'publish on a subscribe-only channel');
        return true;
      });
      assert.equal(sub.state, 'attached', 'a NACK does not fail the channel');
      await assert.rejects(rt.channels.get('elsewhere').publish('n', 'd'), (e) => {
        assertReason(e, { code: 40160, statusCode: 401 }, 'publish without attach, no capability');
        return true;
      });
      // publish without attach on an allowed channel is fine (publish_no_attach)
      await rt.channels.get('canpublish:noattach').publish('n', 'd');
      assert.deepEqual(conn.items.map((i) => i.current), ['connecting', 'connected'], conn.describe());
    });

    it('a subscriber attached without the subscribe mode gets nothing; one with it does (RTL4m, S-46)', async () => {
      const pub = await connect({ key: k0.keyStr });
      const noSub = await connect({ key: k2.keyStr }); // channel0: publish only
      const withSub = await connect({ key: k2.keyStr }); // channel2: publish + subscribe
      const c0 = noSub.rt.channels.get('channel0');
      await c0.attach();
      const rec0 = await recordMessages(c0);
      const c2b = withSub.rt.channels.get('channel2');
      await c2b.attach();
      const rec2 = await recordMessages(c2b);
      await pub.rt.channels.get('channel0').publish('to0', 'x');
      await pub.rt.channels.get('channel2').publish('to2', 'y');
      const m = await rec2.waitFor((x) => x.name === 'to2', 5000, 'to2');
      assert.equal(m.data, 'y');
      await assertNothingFor(rec0, () => true, 300, 'publish-only attachment received a message');
      assert.equal(rec0.items.length, 0);
    });

    describe('clientId on messages (RSL1m, S-51..S-53)', () => {
      it('an identified client (Basic + clientId) stamps its clientId on messages', async () => {
        const chName = randomId('ident');
        const pub = await connect({ key: k0.keyStr, clientId: 'ident-basic' });
        const sub = await connect({ key: k0.keyStr });
        const sch = sub.rt.channels.get(chName);
        await sch.attach();
        const rec = await recordMessages(sch);
        await pub.rt.channels.get(chName).publish('n', 'd');
        await pub.rt.channels.get(chName).publish({ name: 'same', data: 'd', clientId: 'ident-basic' });
        const m = await rec.waitFor((x) => x.name === 'n', 5000, 'n');
        assert.equal(m.clientId, 'ident-basic');
        assert.equal((await rec.waitFor((x) => x.name === 'same', 5000, 'same')).clientId, 'ident-basic');
      });

      it('an identified client (token clientId) stamps its clientId on messages', async () => {
        const chName = randomId('identtok');
        const td = await restClient(server, { key: k0.keyStr }, binary).auth.requestToken({ clientId: 'ident-token' });
        const pub = await connect({ token: td.token });
        const sub = await connect({ key: k0.keyStr });
        const sch = sub.rt.channels.get(chName);
        await sch.attach();
        const rec = await recordMessages(sch);
        await pub.rt.channels.get(chName).publish('n', 'd');
        assert.equal((await rec.waitFor((x) => x.name === 'n', 5000, 'n')).clientId, 'ident-token');
      });

      it('a foreign message clientId is NACKed with 40012 (identified and anonymous-token clients) (RSL1m4, S-52)', async () => {
        const chName = randomId('foreign');
        const ident = await connect({ key: k0.keyStr, clientId: 'alice' });
        const ich = ident.rt.channels.get(chName);
        await ich.attach();
        const rec = await recordMessages(ich);
        await assert.rejects(ich.publish({ name: 'spoof', data: 'x', clientId: 'bob' }), (e) => {
          assertReason(e, { code: 40012, statusCode: 400 }, 'identified client, foreign clientId');
          return true;
        });
        const td = await restClient(server, { key: k0.keyStr }, binary).auth.requestToken();
        const anon = await connect({ token: td.token });
        await assert.rejects(anon.rt.channels.get(chName).publish({ name: 'spoof2', data: 'x', clientId: 'bob' }), (e) => {
          assertReason(e, { code: 40012, statusCode: 400 }, 'anonymous token client asserting a clientId');
          return true;
        });
        // one foreign clientId NACKs the whole ProtocolMessage: nothing of it is delivered
        await assert.rejects(
          ich.publish([
            { name: 'own', data: 'x' },
            { name: 'spoof3', data: 'x', clientId: 'bob' },
          ]),
          (e) => e.code === 40012,
        );
        // the connections and channel stay usable, and nothing spoofed was delivered
        await ich.publish('ok', 'fine');
        await rec.waitFor((x) => x.name === 'ok', 5000, 'ok');
        assert.deepEqual(rec.items.map((m) => m.name), ['ok']);
        assert.equal(ident.rt.connection.state, 'connected');
        assert.equal(anon.rt.connection.state, 'connected');
      });

      it('unidentified Basic and wildcard-token clients may set any clientId (S-53)', async () => {
        const chName = randomId('anyid');
        const sub = await connect({ key: k0.keyStr });
        const sch = sub.rt.channels.get(chName);
        await sch.attach();
        const rec = await recordMessages(sch);
        const basic = await connect({ key: k0.keyStr });
        await basic.rt.channels.get(chName).publish({ name: 'b', data: '1', clientId: 'carol' });
        await basic.rt.channels.get(chName).publish({ name: 'b-none', data: '2' });
        const td = await restClient(server, { key: k0.keyStr }, binary).auth.requestToken({ clientId: '*' });
        const wild = await connect({ token: td.token });
        assert.equal(wild.rt.auth.clientId, '*');
        await wild.rt.channels.get(chName).publish({ name: 'w', data: '3', clientId: 'dave' });
        await wild.rt.channels.get(chName).publish({ name: 'w-none', data: '4' });
        await rec.waitFor((x) => x.name === 'w-none', 5000, 'w-none');
        const by = Object.fromEntries(rec.items.map((m) => [m.name, m.clientId ?? null]));
        assert.deepEqual(by, { b: 'carol', 'b-none': null, w: 'dave', 'w-none': null });
      });
    });

    it('echoMessages:false: the publisher does not get its own messages, others do (RTC1a)', async () => {
      const chName = randomId('echo');
      const quiet = await connect({ key: k0.keyStr, echoMessages: false });
      const loud = await connect({ key: k0.keyStr });
      const qch = quiet.rt.channels.get(chName);
      const lch = loud.rt.channels.get(chName);
      await qch.attach();
      await lch.attach();
      const qrec = await recordMessages(qch);
      const lrec = await recordMessages(lch);
      await qch.publish('from-quiet', 'q');
      await lch.publish('from-loud', 'l');
      await lrec.waitFor((m) => m.name === 'from-quiet', 5000, 'loud gets quiet');
      await lrec.waitFor((m) => m.name === 'from-loud', 5000, 'loud gets its own (echo on)');
      await qrec.waitFor((m) => m.name === 'from-loud', 5000, 'quiet gets loud');
      await assertNothingFor(qrec, (m) => m.name === 'from-quiet', 300, 'echo=false');
      assert.deepEqual(qrec.items.map((m) => m.name), ['from-loud']);
    });

    it('detach -> detached; attach again works (RTL5)', async () => {
      const { rt } = await connect({ key: k0.keyStr });
      const ch = rt.channels.get(randomId('det'));
      await ch.attach();
      await ch.detach();
      assert.equal(ch.state, 'detached');
      await ch.attach();
      assert.equal(ch.state, 'attached');
    });

    it('channels are per app: the same name in another app is another channel', async () => {
      const other = await provisionApp(server);
      const chName = randomId('tenant');
      const a = await connect({ key: k0.keyStr });
      const b = await connect({ key: other.keys[0].keyStr });
      const ach = a.rt.channels.get(chName);
      const bch = b.rt.channels.get(chName);
      const aGot = await recordMessages(ach);
      const bGot = await recordMessages(bch);
      await bch.publish('secret', 'app B only');
      await ach.publish('hello', 'app A only');
      await aGot.waitFor((m) => m.data === 'app A only', 5000, 'own app message');
      await bGot.waitFor((m) => m.data === 'app B only', 5000, 'own app message');
      await assertNothingFor(aGot, (m) => m.data === 'app B only', 300, 'app A subscriber');
      await assertNothingFor(bGot, (m) => m.data === 'app A only', 300, 'app B subscriber');
    });

    describe('wire level (raw WebSocket)', () => {
      const format = binary ? 'msgpack' : 'json';

      it('ATTACHED flags, ACK res serials, MESSAGE fields; no MESSAGE after DETACHED (2.6, 2.7)', async () => {
        const chName = randomId('rawch');
        const a = await RawPeer.open(server, { key: k0.keyStr, clientId: 'raw-a' }, format);
        const b = await RawPeer.open(server, { key: k0.keyStr }, format);
        clients.onClose(() => a.close());
        clients.onClose(() => b.close());
        const ca = await a.waitAction(ACTION.CONNECTED);
        await b.waitAction(ACTION.CONNECTED);

        b.send({ action: ACTION.ATTACH, channel: chName });
        const att = await b.waitAction(ACTION.ATTACHED);
        assert.equal(att.channel, chName);
        assert.equal(att.flags, 983040, 'default modes PRESENCE|PUBLISH|SUBSCRIBE|PRESENCE_SUBSCRIBE');
        assert.equal(typeof att.channelSerial, 'string');

        a.send({ action: ACTION.MESSAGE, channel: chName, msgSerial: 0, messages: [{ name: 'g', data: 'hi', size: 2 }] });
        const ack = await a.waitAction(ACTION.ACK);
        assert.equal(ack.msgSerial, 0);
        assert.equal(ack.count, 1);
        assert.ok(Array.isArray(ack.res) && ack.res.length === 1 && ack.res[0].serials.length === 1, JSON.stringify(ack));
        const msg = await b.waitAction(ACTION.MESSAGE);
        assert.equal(msg.channel, chName);
        assert.equal(msg.connectionId, ca.connectionId);
        assert.equal(msg.id, `${ca.connectionId}:0`);
        assert.ok(Number.isInteger(msg.timestamp));
        assert.equal(msg.messages.length, 1);
        assert.equal(msg.messages[0].name, 'g');
        assert.equal(msg.messages[0].data, 'hi');
        assert.equal(msg.messages[0].clientId, 'raw-a');
        assert.equal(a.frames.find((f) => f.action === ACTION.MESSAGE), undefined, 'a is not attached');

        // NACK 40012 for a foreign clientId carries msgSerial and count
        a.send({ action: ACTION.MESSAGE, channel: chName, msgSerial: 1, messages: [{ name: 'x', clientId: 'mallory' }] });
        const nack = await a.waitAction(ACTION.NACK);
        assert.equal(nack.msgSerial, 1);
        assert.equal(nack.count, 1);
        assert.equal(nack.error.code, 40012);
        assert.equal(nack.error.statusCode, 400);

        b.send({ action: ACTION.DETACH, channel: chName });
        const det = await b.waitAction(ACTION.DETACHED);
        assert.equal(det.channel, chName);
        const n = b.frames.items.length;
        a.send({ action: ACTION.MESSAGE, channel: chName, msgSerial: 2, messages: [{ name: 'after' }] });
        await a.waitAction(ACTION.ACK, 5000, 0, (f) => f.msgSerial === 2);
        await assertNothingFor(b.frames, (f) => f.action === ACTION.MESSAGE, 300, 'detached peer');
        assert.equal(b.frames.items.length, n);
      });
    });
  });
}
