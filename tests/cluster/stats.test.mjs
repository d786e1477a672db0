// App statistics across a cluster (RSC6; issue 17): every node writes its per-minute counts
// to Redis (a hash per app and minute, peaks per node), so `GET /stats` on any node answers
// for the whole cluster: messages published on two nodes and connections held on both add
// up, seen alike from either node with ably-js's stats() in both formats; the keys expire
// (retention) in Redis.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';

import { FORMATS, restClient } from '../interop/lib/helpers.mjs';
import { Clients, boundedIt, waitConnection } from '../interop/lib/realtime.mjs';
import { provisionApp } from '../interop/lib/server.mjs';
import { Cluster, eventually, waitForKey } from './lib/cluster.mjs';

const it = boundedIt(40000);

let cluster;
let clients;

before(async () => {
  cluster = await Cluster.start({ nodes: 2 });
  clients = cluster.nodes.map((n) => new Clients(n, false));
});

after(async () => {
  await cluster?.stop();
});

afterEach(async () => {
  for (const c of clients) await c.closeAll();
});

const total = (items, k) => items.reduce((a, s) => a + (s.entries[k] ?? 0), 0);
const peak = (items, k) => items.reduce((a, s) => Math.max(a, s.entries[k] ?? 0), 0);

describe('GET /stats in a cluster', () => {
  it('counts from both nodes add up, and either node answers with the sum (messages, connections, token requests)', async () => {
    const [a, b] = cluster.nodes;
    const app = await provisionApp(a);
    const keyStr = app.keys[0].keyStr;
    await waitForKey(cluster.nodes, keyStr); // one token request on each node
    const since = Date.now() - 120000;
    await restClient(a, { key: keyStr }).channels.get('s').publish([{ name: 'x', data: 'aa' }, { name: 'y', data: 'bb' }]);
    await restClient(b, { key: keyStr }).channels.get('s').publish('z', 'cc');
    const rts = [clients[0].realtime({ key: keyStr }), clients[1].realtime({ key: keyStr })];
    for (const rt of rts) await waitConnection(rt, 'connected');
    for (const [i, node] of cluster.nodes.entries()) {
      for (const { name, binary } of FORMATS) {
        // another node's counts arrive with its next flush (5 s)
        const items = await eventually(
          async () => {
            const page = await restClient(node, { key: keyStr }, binary).stats({ start: since, unit: 'hour' });
            const it = page.items;
            return total(it, 'messages.inbound.rest.messages.count') === 3 &&
              total(it, 'connections.all.opened') === 2
              ? it
              : null;
          },
          15000,
          `node ${i + 1} (${name}) sees both nodes' counts`,
          250,
        );
        assert.equal(items[0].appId, app.appId);
        assert.equal(total(items, 'messages.inbound.rest.messages.data'), 9, 'names and data (TO3l8)');
        assert.equal(peak(items, 'connections.all.peak'), 2, 'one connection on each node at once');
        assert.ok(total(items, 'apiRequests.tokenRequests.succeeded') >= 2);
      }
    }
    // Redis: one hash per minute with per-node peaks, expiring. The test can span a minute
    // boundary (the token requests in one minute, the connections in the next), and KEYS has
    // no order: the peaks are looked for over all of the app's minute hashes.
    const keys = (await cluster.redis.cmd('KEYS', `rt:{g}:stats:${app.appId}:*`)).split('\n').filter(Boolean);
    assert.ok(keys.length >= 1, 'minute hashes');
    let fields = '';
    for (const k of keys) {
      fields += `${await cluster.redis.cmd('HKEYS', k)}\n`;
      const ttl = Number(await cluster.redis.cmd('PTTL', k));
      assert.ok(ttl > 80 * 24 * 3600 * 1000 && ttl <= 91 * 24 * 3600 * 1000, `PTTL ${ttl}`);
    }
    assert.match(fields, /conn_peak@n1/);
    assert.match(fields, /conn_peak@n2/);
  });
});
