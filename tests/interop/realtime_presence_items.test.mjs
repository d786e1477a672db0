// Presence items with ably-js 2.28.0: extras on presence messages are kept and delivered
// (TP3i), over REST too; presence history with untilAttach stops at the attach (RTP12); a SYNC is always the whole presence set, so a member the client holds and the server
// does not gets a LEAVE at the end of it (RTP19), and a SYNC request (channel.sync()) is
// answered with the set again, an empty page for an empty set; a key client entering 250
// members on behalf of others (enterClient, RTP4, RTP14/RTP15) is not stopped by the
// per-connection member limit and a new observer gets them all through a multi-page SYNC.
// Both formats.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';

import { Ably, FORMATS, randomId, restClient } from './lib/helpers.mjs';
import { ACTION, Clients, RawPeer, boundedIt, waitConnection } from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);
const SYNC = 16;

let server;
let app;

before(async () => {
  // 250 enters in one burst: the inbound rate allows them
  server = await startServer({ args: ['--max-inbound-rate', '1000'] });
  app = await provisionApp(server);
});

after(async () => {
  if (server) await server.stop();
});

for (const { name, binary } of FORMATS) {
  describe(`presence items (${name})`, () => {
    const clients = new Clients(null, binary);
    const format = binary ? 'msgpack' : 'json';
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());

    async function connect(opts = {}) {
      const rt = clients.realtime({ key: app.keys[0].keyStr, ...opts });
      await waitConnection(rt, 'connected');
      return rt;
    }

    it('TP3i: presence extras reach subscribers, SYNC and get()', async () => {
      const chName = randomId('pextras');
      const obs = await connect();
      const och = obs.channels.get(chName);
      const seen = [];
      await och.presence.subscribe((m) => seen.push(m));
      const rt = await connect({ clientId: 'with-extras' });
      const extras = { headers: { role: 'host' }, ref: { type: 'x', timeserial: 't1' } };
      await rt.channels.get(chName).presence.enter(Ably.Realtime.PresenceMessage.fromValues({ data: 'hi', extras }));
      await new Promise((r) => setTimeout(r, 200));
      const ev = seen.find((m) => m.clientId === 'with-extras');
      assert.ok(ev, `enter seen: ${JSON.stringify(seen)}`);
      assert.equal(ev.action, 'enter');
      assert.deepEqual(ev.extras, extras);
      // a late observer gets the member (with its extras) through SYNC
      const late = await connect();
      const members = await late.channels.get(chName).presence.get();
      assert.equal(members.length, 1);
      assert.deepEqual(members[0].extras, extras);
      assert.equal(members[0].data, 'hi');
    });

    it('TP3i over REST, RTP12 untilAttach: presence extras in REST get() and history; presence history bounded by the attach', async () => {
      const chName = randomId('phist');
      const a = await connect({ clientId: 'early' });
      const extras = { headers: { k: 'v' } };
      await a.channels.get(chName).presence.enter(Ably.Realtime.PresenceMessage.fromValues({ data: 'e', extras }));
      const obs = await connect();
      const och = obs.channels.get(chName);
      await och.attach();
      const b = await connect({ clientId: 'late' });
      await b.channels.get(chName).presence.enter('l');
      await new Promise((r) => setTimeout(r, 200));
      const rest = restClient(server, { key: app.keys[0].keyStr }, binary);
      const members = await rest.channels.get(chName).presence.get();
      const early = members.items.find((m) => m.clientId === 'early');
      assert.deepEqual(early?.extras, extras, JSON.stringify(members.items));
      const all = await och.presence.history();
      assert.deepEqual(all.items.map((m) => m.clientId), ['late', 'early']);
      assert.deepEqual(all.items[1].extras, extras);
      const until = await och.presence.history({ untilAttach: true });
      assert.deepEqual(until.items.map((m) => m.clientId), ['early'], 'only what came before the attach');
    });

    it('RTP19: a member the client holds but the server does not leaves at the end of a SYNC', async () => {
      const chName = randomId('rtp19');
      const host = await connect({ clientId: 'real' });
      await host.channels.get(chName).presence.enter('here');
      const obs = await connect();
      const ch = obs.channels.get(chName);
      const got = await ch.presence.get();
      assert.deepEqual(got.map((m) => m.clientId), ['real']);
      const leaves = [];
      ch.presence.subscribe('leave', (m) => leaves.push(m));
      // a ghost the server never had, as if a LEAVE had been missed
      ch.presence.members.put(
        Ably.Realtime.PresenceMessage.fromValues({
          action: 'present',
          clientId: 'ghost',
          connectionId: 'ghostConn',
          id: 'ghostConn:0:0',
          timestamp: Date.now(),
        }),
      );
      assert.deepEqual((await ch.presence.get({ waitForSync: false })).map((m) => m.clientId).sort(), ['ghost', 'real']);
      ch.sync(); // a SYNC request: the server sends the whole set again
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(leaves.map((m) => m.clientId), ['ghost'], 'a synthesized LEAVE for the ghost only');
      assert.deepEqual((await ch.presence.get()).map((m) => m.clientId), ['real']);
    });

    it('SYNC request on the wire: the whole set, or one empty page ("<serial>:") for an empty one', async () => {
      const chName = randomId('rawsync');
      const p = await RawPeer.open(server, { key: app.keys[0].keyStr }, format);
      clients.onClose(() => p.close());
      await p.waitAction(ACTION.CONNECTED);
      p.send({ action: ACTION.ATTACH, channel: chName });
      await p.waitAction(ACTION.ATTACHED);
      p.send({ action: SYNC, channel: chName });
      const empty = await p.waitAction(SYNC);
      assert.match(empty.channelSerial, /^[\w-]+:$/);
      assert.equal((empty.presence ?? []).length, 0);
      const rt = await connect({ clientId: 'one' });
      await rt.channels.get(chName).presence.enter();
      await p.waitAction(ACTION.PRESENCE);
      const n = p.frames.items.length;
      p.send({ action: SYNC, channel: chName });
      const full = await p.waitAction(SYNC, 5000, n);
      assert.match(full.channelSerial, /^[\w-]+:$/);
      assert.deepEqual(full.presence.map((m) => [m.action, m.clientId]), [[1, 'one']]);
    });

    it('RTP4/RTP14: a key client enters 250 members with enterClient; a new observer syncs all 250', { timeout: 60000 }, async () => {
      const chName = randomId('many');
      const rt = await connect();
      const ch = rt.channels.get(chName);
      await ch.attach();
      await Promise.all(Array.from({ length: 250 }, (_, i) => ch.presence.enterClient(`member-${i}`, `d${i}`)));
      const obs = await connect();
      const members = await obs.channels.get(chName).presence.get();
      assert.equal(members.length, 250);
      assert.equal(new Set(members.map((m) => m.clientId)).size, 250);
    });
  });
}
