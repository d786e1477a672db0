// Rewind and untilAttach with ably-js 2.28.0: the `rewind` channel param (RTL4k; "N" messages
// or a duration "Ns"/"Nm") delivers the latest messages from history right after ATTACHED
// (flag HAS_BACKLOG), oldest first, then the live ones, on a first attach only, attached where
// the backlog starts; history with untilAttach (RTL10b: ably-js sends from_serial = the
// ATTACHED's channelSerial) returns only what was published before the attach. Both formats.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';

import { FORMATS, randomId, restClient } from './lib/helpers.mjs';
import { ACTION, Clients, RawPeer, assertNothingFor, boundedIt, recordMessages, waitConnection } from './lib/realtime.mjs';
import { useServerWithApp } from './lib/server.mjs';

const it = boundedIt(30000);

let server;
let app;
useServerWithApp((s, a) => {
  server = s;
  app = a;
});

for (const { name, binary } of FORMATS) {
  describe(`rewind and untilAttach (${name})`, () => {
    const clients = new Clients(null, binary);
    const format = binary ? 'msgpack' : 'json';
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());

    const rest = () => restClient(server, { key: app.keys[0].keyStr }, binary);

    async function publishN(chName, n, prefix = 'm') {
      const ch = rest().channels.get(chName);
      for (let i = 0; i < n; i++) await ch.publish(`${prefix}${i}`, `data ${i}`);
    }

    async function connect() {
      const rt = clients.realtime({ key: app.keys[0].keyStr });
      await waitConnection(rt, 'connected');
      return rt;
    }

    it('RTL4k rewind=3: the 3 latest messages, oldest first, then live ones; hasBacklog', async () => {
      const chName = randomId('rewind');
      await publishN(chName, 5);
      const rt = await connect();
      const ch = rt.channels.get(chName, { params: { rewind: '3' } });
      const changes = [];
      ch.on('attached', (sc) => changes.push(sc));
      const got = await recordMessages(ch);
      await got.waitFor((m) => m.name === 'm4', 5000, 'the backlog');
      assert.deepEqual(got.items.map((m) => m.name), ['m2', 'm3', 'm4']);
      assert.deepEqual(got.items.map((m) => m.data), ['data 2', 'data 3', 'data 4']);
      assert.ok(got.items.every((m) => typeof m.id === 'string' && Number.isInteger(m.timestamp)));
      assert.equal(changes.length, 1);
      assert.equal(changes[0].hasBacklog, true, 'ATTACHED carries HAS_BACKLOG');
      assert.deepEqual(ch.params, { rewind: '3' });
      await publishN(chName, 1, 'live');
      await got.waitFor((m) => m.name === 'live0', 5000, 'the live message');
      assert.equal(got.items.length, 4);
      // a rewind attaches where its backlog starts: untilAttach is what came before it
      const until = await ch.history({ untilAttach: true });
      assert.deepEqual(until.items.map((m) => m.name), ['m1', 'm0']);
    });

    it('RTL4k rewind=10s: everything of the last 10 seconds; rewind=1 on an empty channel: nothing', async () => {
      const chName = randomId('rewind-time');
      await publishN(chName, 4);
      const rt = await connect();
      const ch = rt.channels.get(chName, { params: { rewind: '10s' } });
      const got = await recordMessages(ch);
      await got.waitFor((m) => m.name === 'm3', 5000, 'the backlog');
      assert.deepEqual(got.items.map((m) => m.name), ['m0', 'm1', 'm2', 'm3']);
      const empty = rt.channels.get(randomId('rewind-empty'), { params: { rewind: '1' } });
      const none = await recordMessages(empty);
      await assertNothingFor(none, () => true, 300, 'an empty channel');
    });

    it('rewind applies to a first attach only: a second ATTACH of an attached channel sends no backlog (raw peer)', async () => {
      const chName = randomId('rewind-raw');
      await publishN(chName, 2);
      const p = await RawPeer.open(server, { key: app.keys[0].keyStr }, format);
      clients.onClose(() => p.close());
      await p.waitAction(ACTION.CONNECTED);
      p.send({ action: ACTION.ATTACH, channel: chName, params: { rewind: '5' } });
      const att = await p.waitAction(ACTION.ATTACHED);
      assert.equal(att.flags & 2, 2, 'HAS_BACKLOG');
      const backlog = await p.waitAction(ACTION.MESSAGE);
      assert.deepEqual(backlog.messages.map((m) => m.name), ['m0', 'm1']);
      const n = p.frames.items.length;
      p.send({ action: ACTION.ATTACH, channel: chName, params: { rewind: '5' } });
      const again = await p.waitAction(ACTION.ATTACHED, 5000, n);
      assert.equal(again.flags & 2, 0, 'no backlog on a re-attach');
      await assertNothingFor(p.frames, (f) => f.action === ACTION.MESSAGE, 300, 're-attach');
    });

    it('RTL10b untilAttach: history up to the attach serial only (5 of 10)', async () => {
      const chName = randomId('until');
      await publishN(chName, 5, 'before');
      const rt = await connect();
      const ch = rt.channels.get(chName);
      await ch.attach();
      assert.equal(typeof ch.properties.attachSerial, 'string');
      await publishN(chName, 5, 'after');
      const all = await ch.history();
      assert.equal(all.items.length, 10);
      const until = await ch.history({ untilAttach: true });
      assert.deepEqual(
        until.items.map((m) => m.name),
        ['before4', 'before3', 'before2', 'before1', 'before0'],
      );
      // paging keeps the bound (the Link header carries from_serial)
      const p1 = await ch.history({ untilAttach: true, limit: 2, direction: 'forwards' });
      assert.deepEqual(p1.items.map((m) => m.name), ['before0', 'before1']);
      const p2 = await p1.next();
      const p3 = await p2.next();
      assert.deepEqual(p2.items.map((m) => m.name), ['before2', 'before3']);
      assert.deepEqual(p3.items.map((m) => m.name), ['before4']);
      assert.equal(p3.hasNext(), false);
    });
  });
}
