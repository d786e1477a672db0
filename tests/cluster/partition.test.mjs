// A node cut off from Redis (research 6.5 "partition valve", T6), through a TCP proxy between
// it and Redis: it goes unready within 2 s; it refuses what it cannot check (TokenRequests,
// revocations: 5xx); after --partition-grace its connections with revocable tokens are
// dropped (and revocable tokens refused) while others stay; healed, it catches up with what
// was revoked meanwhile before it is ready and vouches for revocable tokens again.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { assertErrorReply, basicAuth, probeToken, raw, restClient, signTokenRequest } from '../interop/lib/helpers.mjs';
import { Clients, assertNothingFor, assertReason, boundedIt, recordConnection, tokenCallback, waitConnection } from '../interop/lib/realtime.mjs';
import { provisionApp } from '../interop/lib/server.mjs';
import { Cluster, waitForKey } from './lib/cluster.mjs';

const it = boundedIt(60000);
const GRACE_MS = 2000;

let cluster;
let revocable;
let plain;
let clients;

before(async () => {
  cluster = await Cluster.start({ nodes: 3, proxied: [2], nodeArgs: ['--partition-grace', String(GRACE_MS)] });
  const app = await provisionApp(cluster.nodes[0], [{ revocableTokens: true }, {}]);
  [revocable, plain] = app.keys;
  await waitForKey(cluster.nodes, revocable.keyStr);
  await waitForKey(cluster.nodes, plain.keyStr);
  clients = new Clients(cluster.nodes[2], true);
});

after(async () => {
  await cluster?.stop();
});

afterEach(() => clients.closeAll());

describe('a node cut off from Redis', () => {
  it('is unready within 2 s, fails closed, drops revocable connections after the grace, catches up when healed', async (t) => {
    const [n1, , n3] = cluster.nodes;
    const proxy = cluster.proxies[2];
    const revRest = restClient(n1, { key: revocable.keyStr });
    // on n3: a revocable-token client (renews through n1), a plain-token client, a Basic client
    const rev = clients.realtime({ authCallback: tokenCallback(revRest, { override: { clientId: 'p1' } }), disconnectedRetryTimeout: 1000 });
    const revConn = recordConnection(rev, 'revocable');
    const tok = clients.realtime({ token: (await restClient(n1, { key: plain.keyStr }).auth.requestToken({})).token });
    const tokConn = recordConnection(tok, 'plain token');
    const basic = clients.realtime({ key: plain.keyStr });
    const basicConn = recordConnection(basic, 'basic');
    for (const rt of [rev, tok, basic]) await waitConnection(rt, 'connected');
    const laterRevoked = await revRest.auth.requestToken({ clientId: 'p2' });
    const stillGood = await revRest.auth.requestToken({ clientId: 'p3' });

    const t0 = Date.now();
    proxy.cut();
    const unready = await n3.waitReady(2000, false);
    t.diagnostic(`unready ${unready} ms after the cut`);
    const ready = await n3.get('/ready');
    assert.equal(ready.status, 503);
    assert.ok(JSON.parse(ready.body).reason, ready.body);
    // what it cannot check, it refuses
    assertErrorReply(await raw(n3, 'POST', `/keys/${revocable.keyName}/requestToken`, { body: signTokenRequest(revocable, {}) }), { status: 500, code: 50000 }, 'TokenRequest');
    const rv = await raw(n3, 'POST', `/keys/${revocable.keyName}/revokeTokens`, {
      headers: { authorization: basicAuth(revocable.keyStr) },
      body: { targets: ['clientId:nobody'] },
    });
    assertErrorReply(rv, { status: 500, code: 50000 }, 'revokeTokens');
    // meanwhile a revocation through a healthy node
    await sleep(5);
    assert.equal((await revRest.auth.revokeTokens([{ type: 'clientId', value: 'p2' }])).successCount, 1);

    // within the grace the revocable connection stays; after it, it is dropped (retried elsewhere)
    await assertNothingFor(revConn, (e) => e.current === 'disconnected', Math.max(0, GRACE_MS - 600 - (Date.now() - t0)), 'within the grace');
    const d = await revConn.waitFor((e) => e.current === 'disconnected', GRACE_MS + 3000, 'dropped after the grace');
    assertReason(d.reason, { code: 40141 });
    t.diagnostic(`revocable connection dropped ${d.at - t0} ms after the cut (grace ${GRACE_MS} ms)`);
    assert.ok(d.at - t0 >= GRACE_MS - 100, `dropped ${d.at - t0} ms after the cut`);
    // revocable tokens are refused there now; the others stay connected
    assert.equal((await probeToken(n3, revocable.keyName, stillGood.token)).body.error.code, 40141);
    await assertNothingFor(tokConn, (e) => e.current !== 'connected', 300, 'plain token');
    await assertNothingFor(basicConn, (e) => e.current !== 'connected', 10, 'basic');
    assert.equal(tok.connection.state, 'connected');
    assert.equal(basic.connection.state, 'connected');

    // healed: caught up (p2 revoked there too), ready, revocable tokens vouched for again
    proxy.heal();
    const back = await n3.waitReady(10000);
    t.diagnostic(`ready ${back} ms after the heal`);
    assert.equal((await probeToken(n3, revocable.keyName, laterRevoked.token)).body.error.code, 40141);
    assert.equal((await probeToken(n3, revocable.keyName, stillGood.token)).body.error.code, 40162);
    await revConn.waitFor((e) => e.current === 'connected' && e.at > d.at, 10000, 'the revocable client reconnected');
  });
});
