// Redis losing its data while the nodes run (research 6.5, 6.6, T7): after FLUSHALL the nodes
// see the epoch change, write their apps, keys, server secrets and revocations back, and stay
// ready; a revoked token stays revoked (on a node started afterwards too); a TokenRequest used
// before the loss is refused (40105) although its marker is gone, and so is any TokenRequest
// whose window began before the loss; tokens minted before it still verify.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { assertErrorReply, basicAuth, probeToken, raw, restClient, signTokenRequest } from '../interop/lib/helpers.mjs';
import { provisionApp } from '../interop/lib/server.mjs';
import { Cluster, eventually, waitForKey } from './lib/cluster.mjs';

let cluster;
let key;

before(async () => {
  cluster = await Cluster.start({ nodes: 3 });
  const app = await provisionApp(cluster.nodes[0], [{ revocableTokens: true }]);
  key = app.keys[0];
  await waitForKey(cluster.nodes, key.keyStr);
});

after(async () => {
  await cluster?.stop();
});

describe('Redis emptied under running nodes (FLUSHALL)', () => {
  it('the epoch change is detected, state is written back, nothing revoked or used comes back', async (t) => {
    const [n1, n2, n3] = cluster.nodes;
    const rest = restClient(n1, { key: key.keyStr });
    const revoked = await rest.auth.requestToken({ clientId: 'gone' });
    const kept = await rest.auth.requestToken({ clientId: 'kept' });
    await sleep(5);
    assert.equal((await rest.auth.revokeTokens([{ type: 'clientId', value: 'gone' }])).successCount, 1);
    const used = signTokenRequest(key, { clientId: 'used' });
    assert.equal((await raw(n2, 'POST', `/keys/${key.keyName}/requestToken`, { body: used })).status, 200);
    const epochBefore = await cluster.redis.cmd('GET', 'rt:{g}:epoch');

    const t0 = Date.now();
    assert.equal(await cluster.redis.cmd('FLUSHALL'), 'OK');
    // at once, before the nodes' once-a-second epoch check: the nonce batch itself sees the
    // epoch gone (a GET of it, then the Function that makes it anew) and refuses the replay
    // (on n1: n2's own memory of the nonce would refuse it there anyway)
    assertErrorReply(await raw(n1, 'POST', `/keys/${key.keyName}/requestToken`, { body: used }), { status: 401, code: 40105 });
    // a new epoch, with the loss flag, and the nodes' state back in Redis
    const epoch = await eventually(async () => {
      const e = await cluster.redis.cmd('GET', 'rt:{g}:epoch');
      return e && e !== epochBefore ? e : null;
    }, 5000, 'a new epoch');
    assert.match(epoch, /:1$/, `loss flag: ${epoch}`);
    await eventually(async () => (await cluster.redis.cmd('HLEN', `rt:{g}:rev:${key.keyName.split('.')[0]}`)) === '1', 5000, 'revocation written back');
    await eventually(async () => (await cluster.redis.cmd('SISMEMBER', 'rt:{g}:keys', key.keyName)) === '1', 5000, 'key written back');
    assert.equal(await cluster.redis.cmd('HEXISTS', 'rt:{g}:secrets', 's:1'), '1');
    for (const n of cluster.nodes) {
      await eventually(() => /epoch changed/.test(n.output), 5000, `${n.nodeId} noticed the epoch change`);
      await n.waitReady(5000);
    }
    t.diagnostic(`every node noticed, wrote back and is ready ${Date.now() - t0} ms after FLUSHALL`);

    // the revoked token stays revoked everywhere, a node started now included; the other verifies
    const n4 = await cluster.addNode();
    for (const n of [n1, n2, n3, n4]) {
      assert.equal((await probeToken(n, key.keyName, revoked.token)).body.error.code, 40141, n.nodeId);
      assert.equal((await probeToken(n, key.keyName, kept.token)).body.error.code, 40162, n.nodeId);
    }
    // the TokenRequest used before the loss: its marker is gone, it is refused all the same
    for (const n of [n1, n2, n3, n4]) {
      const r = await raw(n, 'POST', `/keys/${key.keyName}/requestToken`, { body: used });
      assertErrorReply(r, { status: 401, code: 40105 }, `replay on ${n.nodeId}`);
    }
    // ...and so is one made now, whose window began before the loss (docs/cluster.md)
    const fresh = signTokenRequest(key, {});
    assertErrorReply(await raw(n3, 'POST', `/keys/${key.keyName}/requestToken`, { body: fresh }), { status: 401, code: 40105 });
    // (ably-js with a key signs a TokenRequest itself: refused too, for that window.) Token
    // requests with Basic auth carry no nonce: unaffected
    const td = await raw(n3, 'POST', `/keys/${key.keyName}/requestToken`, {
      headers: { authorization: basicAuth(key.keyStr) },
      body: { clientId: 'after' },
    });
    assert.equal(td.status, 200, JSON.stringify(td.body));
  });
});
