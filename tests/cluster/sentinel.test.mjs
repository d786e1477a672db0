// Redis Sentinel failover with one replica (issue 14): the nodes find the primary through
// Sentinel (--redis-sentinel, --redis-master, no --redis); a revocation is acknowledged only
// once the replica has it (WAIT 1), so when the primary is killed (-9) right after the 201s and
// Sentinel promotes the replica, no acknowledged revocation is lost; the nodes follow the new
// primary by themselves and serve again (ready, new revocations reach every node).
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { probeToken, randomId, restClient } from '../interop/lib/helpers.mjs';
import { boundedIt } from '../interop/lib/realtime.mjs';
import { provisionApp } from '../interop/lib/server.mjs';
import { Node, RedisServer, Sentinel, eventually, waitForKey } from './lib/cluster.mjs';

const it = boundedIt(60000);

let primary;
let replica;
let sentinel;
let nodes = [];

before(async () => {
  primary = await RedisServer.start();
  replica = await RedisServer.start({ replicaOf: primary.port });
  await eventually(async () => /master_link_status:up/.test(await replica.cmd('INFO', 'replication')), 10000, 'replica in sync');
  sentinel = await Sentinel.start({ masterPort: primary.port });
  const via = ['--redis-sentinel', `127.0.0.1:${sentinel.port}`, '--redis-master', sentinel.name];
  for (let i = 0; i < 2; i++) nodes.push(await Node.start({ redis: via, nodeId: `s${i + 1}` }));
});

after(async () => {
  for (const n of nodes) await n.stop().catch(() => {});
  await sentinel?.stop();
  await replica?.stop();
  await primary?.stop();
});

describe('Sentinel failover', () => {
  it('no acknowledged revocation is lost; the nodes follow the new primary on their own', async (t) => {
    const [s1, s2] = nodes;
    const app = await provisionApp(s1, [{ revocableTokens: true }]);
    const key = app.keys[0];
    await waitForKey(nodes, key.keyStr);
    const rest = restClient(s1, { key: key.keyStr });
    const tokens = [];
    for (let i = 0; i < 20; i++) tokens.push(await rest.auth.requestToken({ clientId: randomId(`fo${i}`) }));
    await sleep(5);
    // each acknowledged (201) only once the replica has it; the primary dies right after the last
    for (const td of tokens) {
      const r = await rest.auth.revokeTokens([{ type: 'clientId', value: td.clientId }]);
      assert.equal(r.successCount, 1);
    }
    // the nodes did wait for the replica: WAIT ran once per revocation at least
    const stats = await primary.cmd('INFO', 'commandstats');
    const waits = Number((/cmdstat_wait:calls=(\d+)/.exec(stats) || [0, 0])[1]);
    assert.ok(waits >= tokens.length, `WAIT calls on the primary: ${waits}`);
    await primary.kill9();
    const t0 = Date.now();
    await eventually(async () => (await sentinel.primaryPort()) === replica.port, 30000, 'Sentinel promoted the replica', 200);
    for (const n of nodes) await n.waitReady(20000);
    t.diagnostic(`nodes ready on the new primary ${Date.now() - t0} ms after the old one was killed`);
    for (const n of nodes) assert.match(n.output, new RegExp(`primary is 127\\.0\\.0\\.1:${replica.port}`));

    // every revocation is on the new primary, and enforced by both nodes
    const app0 = key.keyName.split('.')[0];
    assert.equal(Number(await replica.cmd('HLEN', `rt:{g}:rev:${app0}`)), tokens.length);
    for (const n of nodes)
      for (const td of tokens) assert.equal((await probeToken(n, key.keyName, td.token)).body.error.code, 40141, `${n.nodeId}`);

    // and the cluster works on: a new revocation through s2 is enforced by s1
    const fresh = await restClient(s2, { key: key.keyStr }).auth.requestToken({ clientId: 'after-failover' });
    assert.equal((await probeToken(s1, key.keyName, fresh.token)).body.error.code, 40162);
    await sleep(5);
    assert.equal((await restClient(s2, { key: key.keyStr }).auth.revokeTokens([{ type: 'clientId', value: 'after-failover' }])).successCount, 1);
    await eventually(async () => (await probeToken(s1, key.keyName, fresh.token)).body.error.code === 40141, 2000, 'revoked on s1');
  });
});
