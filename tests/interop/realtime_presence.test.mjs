// Presence on the realtime gateway with ably-js 2.28.0: enter/update/leave seen by subscribers
// (RTP2, RTP6, RTP8-RTP10), presence.get() after a SYNC of members who entered before the
// observer attached (RTP1, RTP11, RTP18), members leaving when their connection detaches,
// closes or is disconnected (revocation), enterClient/updateClient/leaveClient on wildcard and
// unidentified Basic connections (RTP14, RTP15), the presence capability (40160) and mode
// (40165) (S-45, S-46, S-54), clientId rules (40012, 91000; RTP8i, RTP15f, S-52, S-54), losing
// the presence capability through authorize() (RTC8a1), and on the raw wire: ACK, PRESENCE
// fields, HAS_PRESENCE, SYNC pages and cursors, member and size limits (91003, 40009).
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
  tokenCallback,
  waitConnection,
} from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const PER_CONN = 500; // RTA_PRESENCE_MAX_PER_CONN (gateway/gateway.h)
const it = boundedIt(30000);
const SYNC = 16;
const HAS_PRESENCE = 1;

let server;
let app;
let k0, k1, k2, k4;

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
  [k0, k1, k2] = app.keys;
  k4 = app.keys[4];
  assert.equal(k4.revocableTokens, true);
});

after(async () => {
  if (server) await server.stop();
});

/** Subscribes to presence events on `channel` (this attaches it) and records them. */
async function recordPresence(channel, what = `presence on ${channel.name}`) {
  const items = [];
  const waiters = new Set();
  await channel.presence.subscribe((m) => {
    items.push(m);
    for (const w of [...waiters]) w();
  });
  const find = (pred, from) => items.slice(from).find(pred);
  return {
    items,
    describe: () => JSON.stringify(items.map((m) => `${m.action}:${m.clientId}`)),
    waitFor(pred, ms, label, from = 0) {
      const hit = find(pred, from);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const check = () => {
          const h = find(pred, from);
          if (h) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(h);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${what}: ${label} not seen within ${ms} ms; seen ${this.describe()}`));
        }, ms);
        waiters.add(check);
      });
    },
  };
}

const ev = (action, clientId) => (m) => m.action === action && m.clientId === clientId;
const byClient = (members) => Object.fromEntries(members.map((m) => [m.clientId, m.data]));

for (const { name, binary } of FORMATS) {
  describe(`realtime presence (${name})`, () => {
    const clients = new Clients(null, binary);
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());
    const keyRest = (k = k0) => restClient(server, { key: k.keyStr }, binary);

    async function connect(opts) {
      const rt = clients.realtime(opts);
      await waitConnection(rt, 'connected', 10000);
      return rt;
    }

    /** An observer attached to `chName` with presence-subscribe, recording presence events. */
    async function observer(chName) {
      const rt = await connect({ key: k0.keyStr });
      const ch = rt.channels.get(chName);
      const rec = await recordPresence(ch);
      return { rt, ch, rec };
    }

    it('enter, update, leave reach a subscriber with id, clientId, connectionId, timestamp (RTP2, RTP8-RTP10)', async () => {
      const chName = randomId('pres');
      const obs = await observer(chName);
      assert.deepEqual(await obs.ch.presence.get(), [], 'an empty set is synced at once (no HAS_PRESENCE)');
      const alice = await connect({ key: k0.keyStr, clientId: 'alice' });
      const ach = alice.channels.get(chName);
      const t0 = Date.now();
      await ach.presence.enter({ mood: 'hi', n: [1, 2] });
      await ach.presence.update(Buffer.from([0, 1, 2, 255]));
      await ach.presence.leave();
      const enter = await obs.rec.waitFor(ev('enter', 'alice'), 5000, 'enter');
      const update = await obs.rec.waitFor(ev('update', 'alice'), 5000, 'update');
      const leave = await obs.rec.waitFor(ev('leave', 'alice'), 5000, 'leave');
      assert.deepEqual(enter.data, { mood: 'hi', n: [1, 2] });
      assert.deepEqual(Buffer.from(update.data), Buffer.from([0, 1, 2, 255]), 'binary data');
      assert.deepEqual(Buffer.from(leave.data), Buffer.from([0, 1, 2, 255]), 'a leave without data carries the last data');
      for (const m of [enter, update, leave]) {
        assert.equal(m.connectionId, alice.connection.id);
        assert.ok(m.id.startsWith(`${alice.connection.id}:`), `id ${m.id}`);
        assert.ok(m.timestamp >= t0 - 1000 && m.timestamp <= Date.now() + 1000, `timestamp ${m.timestamp}`);
        assert.equal(m.encoding ?? null, null, 'fully decoded');
      }
      assert.deepEqual(await obs.ch.presence.get(), []);

      // an enter of a present member is an update (RTP2: one member per connection + clientId)
      const from = obs.rec.items.length; // the observer has seen the leave above: events after it
      await ach.presence.enter('again');
      await ach.presence.enter('and again');
      await obs.rec.waitFor((m) => m.action === 'update' && m.data === 'and again', 5000, 'second enter as update', from);
      assert.deepEqual(obs.rec.items.slice(from).map((m) => [m.action, m.data]), [['enter', 'again'], ['update', 'and again']]);
      const members = await obs.ch.presence.get();
      assert.deepEqual(byClient(members), { alice: 'and again' });
      assert.equal(members[0].action, 'present');
      // the member sees itself too (RTP17: ably-js tracks its own members from the server's events)
      await ach.presence.subscribe(() => {});
      assert.deepEqual(byClient(await ach.presence.get()), { alice: 'and again' });
      // a leave with data carries that data
      await ach.presence.leave({ bye: true });
      const bye = await obs.rec.waitFor((m) => m.action === 'leave' && m.data?.bye, 5000, 'leave with data', from);
      assert.equal(bye.clientId, 'alice');
      assert.deepEqual(await obs.ch.presence.get(), []);
    });

    it('presence.get() returns members who entered before the observer attached, over several SYNC pages (RTP1, RTP11, RTP18)', async () => {
      const chName = randomId('sync');
      const alice = await connect({ key: k0.keyStr, clientId: 'alice' });
      await alice.channels.get(chName).presence.enter('a-data');
      const td = await keyRest().auth.requestToken({ clientId: 'bob' });
      const bob = await connect({ token: td.token });
      await bob.channels.get(chName).presence.enter({ b: true });
      // 30 members of ~4 KB each: more than one SYNC page (64 KiB)
      const many = await connect({ key: k0.keyStr });
      const mch = many.channels.get(chName);
      const big = 'x'.repeat(4000);
      await Promise.all(Array.from({ length: 30 }, (_, i) => mch.presence.enterClient(`m${i}`, `${i}:${big}`)));

      const obs = await observer(chName);
      const members = await obs.ch.presence.get();
      assert.equal(members.length, 32, `members: ${members.map((m) => m.clientId)}`);
      const data = byClient(members);
      assert.equal(data.alice, 'a-data');
      assert.deepEqual(data.bob, { b: true });
      for (let i = 0; i < 30; i++) assert.equal(data[`m${i}`], `${i}:${big}`, `m${i}`);
      for (const m of members) assert.equal(m.action, 'present');
      const a = members.find((m) => m.clientId === 'alice');
      assert.equal(a.connectionId, alice.connection.id);
      assert.deepEqual((await obs.ch.presence.get({ clientId: 'bob' })).map((m) => m.connectionId), [bob.connection.id]);
      // the SYNC is not replayed as events, and live events keep flowing after it
      assert.equal(obs.rec.items.filter((m) => m.action !== 'present').length, 0, obs.rec.describe());
      await alice.channels.get(chName).presence.update('a2');
      await obs.rec.waitFor((m) => m.action === 'update' && m.data === 'a2', 5000, 'update after sync');
    });

    it('members leave when their connection detaches, closes, or is disconnected by revocation', async () => {
      const chName = randomId('gone');
      const obs = await observer(chName);
      const alice = await connect({ key: k0.keyStr, clientId: 'alice' });
      const bob = await connect({ key: k0.keyStr, clientId: 'bob' });
      const td = await keyRest(k4).auth.requestToken({ clientId: 'dora' });
      // keys[4] (same app, no channel restrictions) issues revocable tokens
      const dora = clients.realtime({ token: td.token, disconnectedRetryTimeout: 60000 });
      const doraConn = recordConnection(dora);
      await waitConnection(dora, 'connected');
      const ids = { alice: alice.connection.id, bob: bob.connection.id, dora: dora.connection.id };
      for (const rt of [alice, bob, dora]) await rt.channels.get(chName).presence.enter('here');
      for (const c of ['alice', 'bob', 'dora']) await obs.rec.waitFor(ev('enter', c), 5000, `enter ${c}`);

      await bob.channels.get(chName).detach();
      const lb = await obs.rec.waitFor(ev('leave', 'bob'), 5000, 'leave on detach');
      assert.equal(lb.connectionId, ids.bob);
      assert.equal(lb.data, 'here');

      alice.close();
      const la = await obs.rec.waitFor(ev('leave', 'alice'), 5000, 'leave on close');
      assert.equal(la.connectionId, ids.alice);

      await keyRest(k4).auth.revokeTokens([{ type: 'clientId', value: 'dora' }]);
      await doraConn.waitFor((e) => e.reason?.code === 40141, 5000, 'DISCONNECTED 40141');
      const ld = await obs.rec.waitFor(ev('leave', 'dora'), 5000, 'leave on disconnect');
      assert.equal(ld.connectionId, ids.dora);
      assert.deepEqual(await obs.ch.presence.get(), []);
    });

    it('enterClient, updateClient, leaveClient on wildcard-token and unidentified Basic connections (RTP14, RTP15)', async () => {
      const chName = randomId('wild');
      const obs = await observer(chName);
      const td = await keyRest().auth.requestToken({ clientId: '*' });
      const wild = await connect({ token: td.token });
      assert.equal(wild.auth.clientId, '*');
      const wch = wild.channels.get(chName);
      await wch.attach();
      await assert.rejects(wch.presence.enter('no'), (e) => e.code === 40012, 'enter() needs a clientId (RTP8j)');
      await wch.presence.enterClient('w1', 'one');
      await wch.presence.enterClient('w2', 'two');
      await wch.presence.updateClient('w1', 'uno');
      await wch.presence.leaveClient('w2');
      const basic = await connect({ key: k0.keyStr });
      await basic.channels.get(chName).presence.enterClient('b1', 'basic');
      await obs.rec.waitFor(ev('enter', 'b1'), 5000, 'b1');
      assert.deepEqual(
        obs.rec.items.map((m) => [m.action, m.clientId, m.data]),
        [
          ['enter', 'w1', 'one'],
          ['enter', 'w2', 'two'],
          ['update', 'w1', 'uno'],
          ['leave', 'w2', 'two'],
          ['enter', 'b1', 'basic'],
        ],
      );
      assert.deepEqual(byClient(await obs.ch.presence.get()), { w1: 'uno', b1: 'basic' });
      // the same clientId from two connections is two members (RTP2: connectionId + clientId)
      await basic.channels.get(chName).presence.enterClient('w1', 'also');
      await obs.rec.waitFor((m) => m.action === 'enter' && m.data === 'also', 5000, 'second w1');
      const w1s = (await obs.ch.presence.get({ clientId: 'w1' })).map((m) => m.connectionId).sort();
      assert.deepEqual(w1s, [wild.connection.id, basic.connection.id].sort());
    });

    it('enter without the presence capability is NACKed 40160, without the requested mode 40165 (RTP8h, S-46, S-54)', async () => {
      const rt = await connect({ key: k2.keyStr, clientId: 'nocap' });
      const c3 = rt.channels.get('channel3'); // subscribe only
      await c3.attach();
      await assert.rejects(c3.presence.enter('x'), (e) => {
        assertReason(e, { code: 40160, statusCode: 401 }, 'enter on a subscribe-only channel');
        return true;
      });
      assert.equal(c3.state, 'attached', 'a NACK leaves the channel attached');
      const c5 = rt.channels.get('channel5'); // presence only: allowed
      await c5.presence.enter('ok');
      const k1rt = await connect({ key: k1.keyStr, clientId: 'np' });
      await k1rt.channels.get('canpublish:andpresence').presence.enter('ok');
      await assert.rejects(k1rt.channels.get('canpublish:nopresence').presence.enter('x'), (e) => e.code === 40160);

      const full = await connect({ key: k0.keyStr, clientId: 'modes' });
      const m = full.channels.get(randomId('modes'), { modes: ['subscribe', 'presence_subscribe'] });
      await m.attach();
      await assert.rejects(m.presence.enter('x'), (e) => {
        assertReason(e, { code: 40165, statusCode: 401 }, 'enter without the presence mode');
        return true;
      });
      assert.equal(rt.connection.state, 'connected');
      assert.equal(full.connection.state, 'connected');
    });

    it('a foreign clientId is NACKed 40012; the connection and channel stay usable (RTP15f, S-52)', async () => {
      const chName = randomId('foreign');
      const obs = await observer(chName);
      const alice = await connect({ key: k0.keyStr, clientId: 'alice' });
      const ach = alice.channels.get(chName);
      await ach.attach();
      await assert.rejects(ach.presence.enterClient('mallory', 'x'), (e) => {
        assertReason(e, { code: 40012, statusCode: 400 }, 'identified client entering as another');
        return true;
      });
      const td = await keyRest().auth.requestToken(); // anonymous
      const anon = await connect({ token: td.token });
      await assert.rejects(anon.channels.get(chName).presence.enterClient('mallory', 'x'), (e) => {
        assertReason(e, { code: 40012, statusCode: 400 }, 'anonymous token client asserting a clientId');
        return true;
      });
      await ach.presence.enterClient('alice', 'own id is fine');
      await obs.rec.waitFor(ev('enter', 'alice'), 5000, 'alice');
      assert.deepEqual(byClient(await obs.ch.presence.get()), { alice: 'own id is fine' });
      assert.equal(ach.state, 'attached');
      assert.equal(alice.connection.state, 'connected');
      assert.equal(anon.connection.state, 'connected');
    });

    it('losing the presence capability through authorize() removes the member (RTC8a1)', async () => {
      const chName = randomId('downpres');
      const obs = await observer(chName);
      const cb = tokenCallback(keyRest());
      const eve = clients.realtime({
        authCallback: cb,
        defaultTokenParams: { clientId: 'eve', capability: { [chName]: ['presence', 'subscribe'] } },
      });
      await waitConnection(eve, 'connected');
      const ech = eve.channels.get(chName);
      await ech.presence.enter('e');
      const echRec = recordChannel(ech);
      await obs.rec.waitFor(ev('enter', 'eve'), 5000, 'enter eve');
      // still allowed on the channel, but no longer presence: the member leaves, the channel stays
      await eve.auth.authorize({ clientId: 'eve', capability: { [chName]: ['subscribe'] } });
      const le = await obs.rec.waitFor(ev('leave', 'eve'), 5000, 'leave after downgrade');
      assert.equal(le.connectionId, eve.connection.id);
      assert.equal(ech.state, 'attached');
      await assert.rejects(ech.presence.enter('again'), (e) => e.code === 40160);

      // the channel no longer allowed at all: channel ERROR 40160 and the member leaves
      const fcb = tokenCallback(keyRest());
      const fay = clients.realtime({
        authCallback: fcb,
        defaultTokenParams: { clientId: 'fay', capability: { [chName]: ['presence', 'subscribe'] } },
      });
      await waitConnection(fay, 'connected');
      const fch = fay.channels.get(chName);
      const fRec = recordChannel(fch);
      await fch.presence.enter('f');
      await obs.rec.waitFor(ev('enter', 'fay'), 5000, 'enter fay');
      await fay.auth.authorize({ clientId: 'fay', capability: { [randomId('elsewhere')]: ['*'] } });
      const failed = await fRec.waitFor((e) => e.current === 'failed', 5000, 'fay channel failed');
      assertReason(failed.reason, { code: 40160, statusCode: 401 });
      await obs.rec.waitFor(ev('leave', 'fay'), 5000, 'leave after losing the channel');
      assert.deepEqual(await obs.ch.presence.get(), []);
      assert.equal(eve.connection.state, 'connected');
      assert.equal(fay.connection.state, 'connected');
      assert.equal(echRec.items.length, 0, `eve's channel saw no state change: ${echRec.describe()}`);
    });

    describe('wire level (raw WebSocket)', () => {
      const format = binary ? 'msgpack' : 'json';
      const open = async (params) => {
        const p = await RawPeer.open(server, params, format);
        clients.onClose(() => p.close());
        const connected = await p.waitAction(ACTION.CONNECTED);
        return { p, id: connected.connectionId };
      };
      const attach = async (peer, channel) => {
        const from = peer.frames.items.length;
        peer.send({ action: ACTION.ATTACH, channel });
        return peer.waitAction(ACTION.ATTACHED, 5000, from, (f) => f.channel === channel);
      };
      const presence = (peer, channel, msgSerial, entries) =>
        peer.send({ action: ACTION.PRESENCE, channel, msgSerial, presence: entries });
      const answer = (peer, msgSerial) =>
        peer.frames.waitFor((f) => (f.action === ACTION.ACK || f.action === ACTION.NACK) && f.msgSerial === msgSerial, 5000, `answer ${msgSerial}`);

      it('ACK, PRESENCE fields, HAS_PRESENCE and SYNC pages with a cursor; nothing for an empty set (2.1, 2.6, RTP18)', async () => {
        const chName = randomId('rawp');
        const a = await open({ key: k0.keyStr, clientId: 'raw-a' });
        const b = await open({ key: k0.keyStr });
        const attEmpty = await attach(b.p, chName);
        assert.equal(attEmpty.flags & HAS_PRESENCE, 0, 'no members: no HAS_PRESENCE');
        await attach(a.p, chName);

        presence(a.p, chName, 0, [{ action: 2, data: 'x'.repeat(30000) }]);
        const ack = await answer(a.p, 0);
        assert.equal(ack.action, ACTION.ACK, JSON.stringify(ack.error));
        assert.equal(ack.count, 1);
        const pm = await b.p.waitAction(ACTION.PRESENCE);
        assert.equal(pm.channel, chName);
        assert.equal(pm.presence.length, 1);
        const [e] = pm.presence;
        assert.equal(e.action, 2);
        assert.equal(e.clientId, 'raw-a');
        assert.equal(e.connectionId, a.id);
        assert.equal(e.id, `${a.id}:0:0`);
        assert.ok(Number.isInteger(e.timestamp));
        // the sender gets its own event as well
        await a.p.waitAction(ACTION.PRESENCE);

        // two more members (enterClient from an unidentified Basic peer): ~90 KB, two pages
        const c = await open({ key: k0.keyStr });
        await attach(c.p, chName);
        presence(c.p, chName, 0, [
          { action: 2, clientId: 'c1', data: 'y'.repeat(30000) },
          { action: 2, clientId: 'c2', data: 'z'.repeat(30000) },
        ]);
        assert.equal((await answer(c.p, 0)).action, ACTION.ACK);
        await b.p.frames.waitFor((f) => f.action === ACTION.PRESENCE && f.presence[0].clientId === 'c1', 5000, 'c1, c2');
        // leave of a non-member: ACKed, nothing sent
        const nb = b.p.frames.items.length;
        presence(c.p, chName, 1, [{ action: 3, clientId: 'nobody' }]);
        assert.equal((await answer(c.p, 1)).action, ACTION.ACK);

        const d = await open({ key: k0.keyStr });
        const att = await attach(d.p, chName);
        assert.equal(att.flags & HAS_PRESENCE, HAS_PRESENCE);
        const last = await d.p.frames.waitFor((f) => f.action === SYNC && /:$/.test(f.channelSerial), 5000, 'last SYNC');
        const syncs = d.p.frames.items.filter((f) => f.action === SYNC);
        assert.ok(syncs.length >= 2, `${syncs.length} SYNC pages`);
        const syncId = last.channelSerial.split(':')[0];
        assert.match(syncId, /^[\w-]+$/);
        for (const s of syncs.slice(0, -1)) assert.match(s.channelSerial, new RegExp(`^${syncId}:.+$`), 'a cursor on every page but the last');
        const members = syncs.flatMap((s) => s.presence);
        assert.deepEqual(members.map((m) => m.clientId).sort(), ['c1', 'c2', 'raw-a']);
        for (const m of members) assert.equal(m.action, 1, 'present');
        assert.equal(members.find((m) => m.clientId === 'raw-a').id, `${a.id}:0:0`);
        assert.equal(d.p.frames.items.indexOf(att) < d.p.frames.items.indexOf(syncs[0]), true, 'SYNC after ATTACHED');
        await assertNothingFor(b.p.frames, (f) => f.action === ACTION.PRESENCE, 200, 'leave of a non-member');
        assert.equal(b.p.frames.items.slice(nb).filter((f) => f.action === ACTION.PRESENCE).length, 0, 'no event for a non-member');

        // attached with presence but without presence_subscribe: no HAS_PRESENCE, no SYNC
        const e2 = await open({ key: k0.keyStr });
        e2.p.send({ action: ACTION.ATTACH, channel: chName, flags: 1 << 16 });
        const att2 = await e2.p.waitAction(ACTION.ATTACHED);
        assert.equal(att2.flags, 1 << 16, 'presence mode only, no HAS_PRESENCE');
        await assertNothingFor(e2.p.frames, (f) => f.action === SYNC, 200, 'SYNC without presence_subscribe');
      });

      it('NACKs: 91000 without a clientId, 40000 for a bad action, 40009 for big data, 90001 when not attached, 91003 beyond the limits', async () => {
        const chName = randomId('rawn');
        const a = await open({ key: k0.keyStr });
        await attach(a.p, chName);
        const nack = async (serial, entries, code, channel = chName) => {
          presence(a.p, channel, serial, entries);
          const r = await answer(a.p, serial);
          assert.equal(r.action, ACTION.NACK, `serial ${serial}: ${JSON.stringify(r)}`);
          assert.equal(r.error.code, code, `serial ${serial}: ${JSON.stringify(r.error)}`);
          assert.equal(typeof r.error.statusCode, 'number');
          assert.equal(typeof r.error.message, 'string');
        };
        await nack(0, [{ action: 2, data: 'x' }], 91000);
        await nack(1, [{ action: 1, clientId: 'p' }], 40000);
        await nack(2, [{ action: 2, clientId: 'big', data: 'x'.repeat(70000) }], 40009);
        await nack(3, [{ action: 2, clientId: 'u' }], 90001, randomId('unattached'));
        // per connection: PER_CONN members at most (room for ably-js's 250 enterClient members, RTP4)
        const hundred = Array.from({ length: PER_CONN }, (_, i) => ({ action: 2, clientId: `c${i}` }));
        await nack(4, [...hundred, { action: 2, clientId: `c${PER_CONN}` }], 91003);
        presence(a.p, chName, 5, hundred);
        assert.equal((await answer(a.p, 5)).action, ACTION.ACK);
        await nack(6, [{ action: 2, clientId: 'one-more' }], 91003);
        // updates and leaves of existing members still work at the limit
        presence(a.p, chName, 7, [{ action: 4, clientId: 'c1', data: 'u' }, { action: 3, clientId: 'c2' }]);
        assert.equal((await answer(a.p, 7)).action, ACTION.ACK);
        // per channel: 1000 members at most (connections of PER_CONN fill it)
        const peers = [a];
        presence(a.p, chName, 8, [{ action: 2, clientId: 'c2' }]);
        assert.equal((await answer(a.p, 8)).action, ACTION.ACK);
        for (let k = 1; k < 1000 / PER_CONN; k++) {
          const q = await open({ key: k0.keyStr });
          await attach(q.p, chName);
          presence(q.p, chName, 0, Array.from({ length: PER_CONN }, (_, i) => ({ action: 2, clientId: `q${k}-${i}` })));
          assert.equal((await answer(q.p, 0)).action, ACTION.ACK, `peer ${k}`);
          peers.push(q);
        }
        const z = await open({ key: k0.keyStr });
        await attach(z.p, chName);
        presence(z.p, chName, 0, [{ action: 2, clientId: 'too-many' }]);
        const r = await answer(z.p, 0);
        assert.equal(r.action, ACTION.NACK);
        assert.equal(r.error.code, 91003);
        // a full set of 1000 is synced to a new observer over several pages, and one leaving
        // connection frees its PER_CONN places
        const o = await open({ key: k0.keyStr });
        const att = await attach(o.p, chName);
        assert.equal(att.flags & HAS_PRESENCE, HAS_PRESENCE);
        await o.p.frames.waitFor((f) => f.action === SYNC && /:$/.test(f.channelSerial), 5000, 'last SYNC');
        const synced = o.p.frames.items.filter((f) => f.action === SYNC).flatMap((f) => f.presence);
        assert.equal(synced.length, 1000);
        assert.equal(new Set(synced.map((m) => `${m.connectionId} ${m.clientId}`)).size, 1000);
        // CLOSE: its members leave at once (a dropped transport keeps them 15 s for a resume)
        const last = peers.at(-1);
        last.p.send({ action: ACTION.CLOSE });
        const leaves = await o.p.frames.waitFor((f) => f.action === ACTION.PRESENCE, 5000, 'leaves');
        assert.equal(leaves.presence.length, PER_CONN);
        for (const l of leaves.presence) {
          assert.equal(l.action, 3);
          assert.equal(l.connectionId, last.id);
          assert.ok(!l.id.startsWith(last.id), 'a synthesized leave (RTP2b1)');
        }
        presence(z.p, chName, 1, [{ action: 2, clientId: 'fits-now' }]);
        assert.equal((await answer(z.p, 1)).action, ACTION.ACK);
      });
    });
  });
}
