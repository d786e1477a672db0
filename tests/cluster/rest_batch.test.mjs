// The REST additions of issue 16 in cluster mode (docs/cluster.md): batch publish
// (RSC22) goes through Redis per channel, so subscribers on every node get it and a channel
// outside the capability fails alone (40160); a publish on behalf of a connection (RSL1m,
// TM2h) is accepted by the node holding that connection, sequenced through Redis (its
// connectionId, its echo rule) and refused elsewhere (400/80018); channel status (RSL8) and
// REST presence (RSP3) are node-local. ably-js 2.28.0, msgpack and JSON.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { FORMATS, randomId, rejectsWith, restClient } from '../interop/lib/helpers.mjs';
import { boundedIt } from '../interop/lib/realtime.mjs';
import { provisionApp } from '../interop/lib/server.mjs';
import { Cluster, connectRealtime, waitForKey } from './lib/cluster.mjs';

const it = boundedIt(60000);

let cluster;
let app; // keys[0]: everything; keys[1]: 'cansubscribe:*' subscribe, 'canpublish:*' publish
let clients = [];

before(async () => {
  cluster = await Cluster.start({ nodes: 2 });
  app = await provisionApp(cluster.nodes[0]);
  for (const k of app.keys.slice(0, 2)) await waitForKey(cluster.nodes, k.keyStr);
});

after(async () => {
  await cluster?.stop();
});

afterEach(async () => {
  for (const c of clients) await c.closeAll();
  clients = [];
});

function realtime(i, binary, opts = {}) {
  return connectRealtime(clients, cluster.nodes[i], binary, app.keys[0].keyStr, opts);
}

async function collect(rt, name) {
  const got = [];
  await rt.channels.get(name).subscribe((m) => got.push(m));
  return got;
}

async function waitFor(pred, ms, what) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

for (const { name, binary } of FORMATS) {
  describe(`REST batch, on-behalf, status across nodes (${name})`, () => {
    const rest = (i, key = app.keys[0].keyStr) => restClient(cluster.nodes[i], { key }, binary);

    it('RSC22: batchPublish on A reaches subscribers on B; a denied channel fails alone', async () => {
      const ok = `canpublish:${randomId('ok')}`;
      const denied = `cansubscribe:${randomId('no')}`;
      const b = await realtime(1, binary);
      const got = await collect(b, ok);
      const result = await rest(0, app.keys[1].keyStr).batchPublish({
        channels: [ok, denied],
        messages: [{ name: 'm', data: 'one' }, { name: 'm', data: 'two' }],
      });
      assert.equal(result.successCount, 1, JSON.stringify(result));
      assert.equal(result.results[1].error.code, 40160);
      await waitFor(() => got.length >= 2, 10000, 'both messages on B');
      assert.deepEqual(got.map((m) => m.data), ['one', 'two']);
      const h = await rest(1).channels.get(ok).history({ direction: 'forwards' });
      assert.deepEqual(h.items.map((m) => m.data), ['one', 'two'], 'history from the shared log');
    });

    it('RSL1m: on behalf of a connection on A, through Redis; refused on B (80018)', async () => {
      const chName = randomId('behalf');
      const quiet = await realtime(0, binary, { echoMessages: false, clientId: 'alice' });
      const watcher = await realtime(1, binary);
      const own = await collect(quiet, chName);
      const seen = await collect(watcher, chName);
      await rest(0).channels.get(chName).publish({ name: 'hi', data: 'x', connectionKey: quiet.connection.key });
      await waitFor(() => seen.length >= 1, 10000, 'the message on B');
      assert.equal(seen[0].connectionId, quiet.connection.id);
      assert.equal(seen[0].clientId, 'alice');
      await sleep(300);
      assert.equal(own.length, 0, 'echo=false: the connection does not get it');
      await rejectsWith(
        rest(1).channels.get(chName).publish({ name: 'x', connectionKey: quiet.connection.key }),
        { statusCode: 400, code: 80018 },
        'the key on a node that does not hold the connection',
      );
    });

    it('RSL8, RSP3: occupancy and the presence set are node-local', async () => {
      const chName = randomId('local');
      const a = await realtime(0, binary, { clientId: 'alice' });
      const ch = a.channels.get(chName);
      await ch.attach();
      await ch.presence.enter('here');
      const onA = await rest(0).channels.get(chName).status();
      assert.equal(onA.status.isActive, true);
      assert.equal(onA.status.occupancy.metrics.presenceMembers, 1);
      const onB = await rest(1).channels.get(chName).status();
      assert.equal(onB.status.isActive, false, 'B answers for its own connections only');
      const membersA = await rest(0).channels.get(chName).presence.get();
      assert.deepEqual(membersA.items.map((m) => m.clientId), ['alice']);
      const membersB = await rest(1).channels.get(chName).presence.get();
      assert.equal(membersB.items.length, 0);
    });
  });
}
