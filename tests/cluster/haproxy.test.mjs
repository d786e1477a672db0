// ably-js against a three-node cluster through haproxy, with the repository's config
// (examples/cluster/haproxy.cfg): REST token requests (a key, a TokenRequest made by ably-js
// and sent through the balancer to whichever node, authorize, revokeTokens), both formats, and
// a realtime connection; haproxy takes a node out of rotation when it stops answering /ready
// and clients keep being served. GET /health and GET /ready on a single (SQLite) node too.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { FORMATS, probeToken, randomId, restClient } from '../interop/lib/helpers.mjs';
import { Clients, assertReason, boundedIt, recordConnection, tokenCallback, waitConnection } from '../interop/lib/realtime.mjs';
import { provisionApp, startServer } from '../interop/lib/server.mjs';
import { Cluster, Haproxy, waitForKey } from './lib/cluster.mjs';

const it = boundedIt(40000);

let cluster;
let lb;
let key;
let revocable;

before(async () => {
  cluster = await Cluster.start({ nodes: 3 });
  lb = await Haproxy.start(cluster.nodes);
  const app = await provisionApp(lb, [{}, { revocableTokens: true }]);
  [key, revocable] = app.keys;
  await waitForKey(cluster.nodes, key.keyStr);
  await waitForKey(cluster.nodes, revocable.keyStr);
});

after(async () => {
  await lb?.stop();
  await cluster?.stop();
});

for (const { name, binary } of FORMATS) {
  describe(`ably-js REST through haproxy (${name})`, () => {
    it('requestToken, createTokenRequest + requestToken, authorize, time, revokeTokens', async () => {
      const rest = restClient(lb, { key: revocable.keyStr }, binary);
      assert.ok(Math.abs((await rest.time()) - Date.now()) < 5000);
      for (let i = 0; i < 6; i++) { // leastconn spreads these over the nodes
        const td = await rest.auth.requestToken({ clientId: `c${i}` });
        assert.equal(td.clientId, `c${i}`);
      }
      // a TokenRequest made by ably-js, used through the balancer by a key-less client
      const tr = await rest.auth.createTokenRequest({ clientId: 'tr' });
      const keyless = restClient(lb, { authCallback: (_p, cb) => cb(null, tr) }, binary);
      const td = await keyless.auth.requestToken(tr);
      assert.equal(td.clientId, 'tr');
      // the same TokenRequest again, whichever node gets it: 40105
      await assert.rejects(keyless.auth.requestToken(tr), (e) => e.code === 40105);
      const authorized = await rest.auth.authorize({ clientId: 'az' }); // rest now uses the token
      assert.equal(authorized.clientId, 'az');
      await sleep(5);
      const admin = restClient(lb, { key: revocable.keyStr }, binary); // revoking needs Basic
      const res = await admin.auth.revokeTokens([{ type: 'clientId', value: 'az' }]);
      assert.equal(res.successCount, 1);
      for (const n of cluster.nodes) assert.equal((await probeToken(n, revocable.keyName, authorized.token)).body.error.code, 40141, n.nodeId);
    });
  });
}

describe('realtime through haproxy', () => {
  const clients = new Clients(null, true);
  before(() => {
    clients.server = lb;
  });
  afterEach(() => clients.closeAll());

  it('connects, is revoked (DISCONNECTED 40141), renews and reconnects through the balancer', async () => {
    const x = randomId('lb');
    const cb = tokenCallback(restClient(lb, { key: revocable.keyStr }), { override: { clientId: x } });
    const rt = clients.realtime({ authCallback: cb, disconnectedRetryTimeout: 1000 });
    const conn = recordConnection(rt);
    await waitConnection(rt, 'connected');
    await sleep(5);
    await restClient(lb, { key: revocable.keyStr }).auth.revokeTokens([{ type: 'clientId', value: x }]);
    const d = await conn.waitFor((e) => e.current === 'disconnected', 5000, 'disconnected');
    assertReason(d.reason, { code: 40141 });
    await conn.waitFor((e) => e.current === 'connected' && e.at > d.at, 10000, 'reconnected');
  });

  it('a node that goes away is taken out of rotation; clients keep being served', async () => {
    const n2 = cluster.nodes[1];
    await n2.kill9();
    const rest = restClient(lb, { key: key.keyStr });
    await sleep(1500); // haproxy: two failed checks 500 ms apart
    for (let i = 0; i < 12; i++) assert.ok((await rest.auth.requestToken({})).token);
    const rt = clients.realtime({ key: key.keyStr });
    await waitConnection(rt, 'connected');
    await n2.restart();
    await sleep(1200); // back in rotation after two good checks
  });
});

describe('GET /health and GET /ready on a single node (SQLite)', () => {
  it('both answer 200 without credentials', async () => {
    const single = await startServer();
    try {
      for (const p of ['/health', '/ready']) {
        const res = await fetch(`${single.baseUrl}${p}`);
        assert.equal(res.status, 200, p);
        assert.equal(res.headers.get('content-type'), 'application/json');
        await res.text();
      }
    } finally {
      await single.stop();
    }
  });
});
