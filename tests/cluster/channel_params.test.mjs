// Idempotent publishing, rewind and untilAttach across nodes (RSL1k, RTL6a1, RTL4k, RTL10b):
// a message id a
// client supplies is remembered by the channel's publish Function in Redis (SET PX under the
// channel's key), so the same id published on node A (realtime), node B (REST) and node C
// (realtime) is delivered to every node's subscribers and stored in the shared history once;
// the ATTACHED channelSerial of a node is the channel's serial, which bounds history with
// untilAttach on any node; a first attach with rewind=N (or Ns) on a node gets the channel's
// latest messages from the shared stream after ATTACHED (HAS_BACKLOG, params echoed), then the
// live ones, none twice. ably-js 2.28.0, msgpack and JSON.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { FORMATS, randomId, restClient } from '../interop/lib/helpers.mjs';
import { boundedIt } from '../interop/lib/realtime.mjs';
import { provisionApp } from '../interop/lib/server.mjs';
import { Cluster, connectRealtime, waitForKey } from './lib/cluster.mjs';

const it = boundedIt(60000);

let cluster;
let app;
let clients = [];

before(async () => {
  cluster = await Cluster.start({ nodes: 3 });
  app = await provisionApp(cluster.nodes[0]);
  await waitForKey(cluster.nodes, app.keys[0].keyStr);
});

after(async () => {
  await cluster?.stop();
});

afterEach(async () => {
  for (const c of clients) await c.closeAll();
  clients = [];
});

async function recordAll(ch) {
  const got = [];
  await ch.subscribe((m) => got.push(m));
  return got;
}

function realtime(i, binary) {
  return connectRealtime(clients, cluster.nodes[i], binary, app.keys[0].keyStr);
}

async function waitFor(pred, ms, what) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

for (const { name, binary } of FORMATS) {
  describe(`idempotent publishing across nodes (${name})`, () => {
    it('RSL1k/RTL6a1: one id published on A (realtime), B (REST) and C (realtime) is delivered and stored once', async () => {
      const chName = randomId('idem');
      const [a, b, c] = await Promise.all([0, 1, 2].map((i) => realtime(i, binary)));
      const got = { a: [], b: [], c: [] };
      for (const [k, rt] of Object.entries({ a, b, c })) await rt.channels.get(chName).subscribe((m) => got[k].push(m));
      const id = `${randomId('cl')}:0`;
      await a.channels.get(chName).publish({ id, name: 'once', data: 'from A' }); // each ACKed / 201
      await restClient(cluster.nodes[1], { key: app.keys[0].keyStr }, binary).channels.get(chName).publish({ id, name: 'once', data: 'from B' });
      await c.channels.get(chName).publish({ id, name: 'once', data: 'from C' });
      await c.channels.get(chName).publish({ name: 'end' });
      await waitFor(() => ['a', 'b', 'c'].every((k) => got[k].some((m) => m.name === 'end')), 10000, 'end everywhere');
      await sleep(200);
      for (const k of ['a', 'b', 'c'])
        assert.deepEqual(got[k].map((m) => m.data), ['from A', undefined], `node ${k}: ${JSON.stringify(got[k].map((m) => m.data))}`);
      const page = await restClient(cluster.nodes[2], { key: app.keys[0].keyStr }, binary).channels.get(chName).history();
      assert.deepEqual(page.items.map((m) => m.name), ['end', 'once']);
    });

    it('RTL4k: rewind=3 on another node: the 3 latest from the stream, then live ones, once each', async () => {
      const chName = randomId('rewind');
      const rest = restClient(cluster.nodes[1], { key: app.keys[0].keyStr }, binary);
      for (let i = 0; i < 5; i++) await rest.channels.get(chName).publish(`m${i}`, `d${i}`);
      const b = await realtime(2, binary);
      const ch = b.channels.get(chName, { params: { rewind: '3' } });
      const changes = [];
      ch.on('attached', (sc) => changes.push(sc));
      const got = await recordAll(ch);
      await waitFor(() => got.length >= 3, 10000, 'the backlog');
      assert.deepEqual(got.map((m) => m.name), ['m2', 'm3', 'm4']);
      assert.deepEqual(ch.params, { rewind: '3' });
      assert.equal(changes[0]?.hasBacklog, true, 'HAS_BACKLOG');
      assert.equal(changes[0]?.resumed, false, 'a first attach is not RESUMED');
      await rest.channels.get(chName).publish('live', 'x');
      await waitFor(() => got.length >= 4, 10000, 'the live message');
      await sleep(200);
      assert.deepEqual(got.map((m) => m.name), ['m2', 'm3', 'm4', 'live']);
      // a rewind attaches where its backlog starts: untilAttach is what came before it
      const until = await ch.history({ untilAttach: true });
      assert.deepEqual(until.items.map((m) => m.name), ['m1', 'm0']);
      // a duration, on a node that already follows the channel
      const c = await realtime(2, binary);
      const ch2 = c.channels.get(chName, { params: { rewind: '10s' } });
      const got2 = await recordAll(ch2);
      await waitFor(() => got2.length >= 6, 10000, 'the timed backlog');
      assert.deepEqual(got2.map((m) => m.name), ['m0', 'm1', 'm2', 'm3', 'm4', 'live']);
    });

    it('RTL10b: untilAttach on a node bounds history at its attach serial', async () => {
      const chName = randomId('until');
      const rest = restClient(cluster.nodes[1], { key: app.keys[0].keyStr }, binary);
      for (let i = 0; i < 5; i++) await rest.channels.get(chName).publish(`before${i}`, 'x');
      const a = await realtime(0, binary);
      const ch = a.channels.get(chName);
      await ch.attach();
      for (let i = 0; i < 5; i++) await rest.channels.get(chName).publish(`after${i}`, 'x');
      assert.equal((await ch.history()).items.length, 10);
      const until = await ch.history({ untilAttach: true });
      assert.deepEqual(until.items.map((m) => m.name), ['before4', 'before3', 'before2', 'before1', 'before0']);
    });
  });
}
