// Apps, keys and server secrets in a cluster (issue 14): the rtauth CLI works on the cluster's
// Redis (--redis URL); every node picks a change up within a second or so; a disabled key
// closes its connections on every node (ERROR 40131); `secret rotate` reaches every node and
// tokens minted before it stay valid; a token minted on one node verifies on the others. The
// whole file runs with a KEK (RTAUTHD_KEK on nodes and CLI): Redis never holds a key secret or
// a server secret in plaintext.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, afterEach, before, describe } from 'node:test';

import { probeToken, restClient } from '../interop/lib/helpers.mjs';
import { Clients, assertReason, boundedIt, recordConnection, waitConnection } from '../interop/lib/realtime.mjs';
import { Cluster, cli, eventually, waitForKey } from './lib/cluster.mjs';

const it = boundedIt(40000);
const KEK = crypto.randomBytes(32).toString('hex');

let cluster;
let url;
let clients;

before(async () => {
  cluster = await Cluster.start({ nodes: 3, nodeEnv: { RTAUTHD_KEK: KEK } });
  url = cluster.redis.url;
  clients = cluster.nodes.map((n) => new Clients(n, false));
});

after(async () => {
  await cluster?.stop();
});

afterEach(async () => {
  for (const c of clients) await c.closeAll();
});

const rtauth = (...args) => cli([...args, '--redis', url, '--json'], { RTAUTHD_KEK: KEK });

describe('the CLI on a cluster', () => {
  let keyStr;
  let keyName;

  it('app create --redis: every node knows the key; Redis holds it sealed', async () => {
    const r = await rtauth('app', 'create', '--revocable');
    assert.equal(r.code, 0, r.stderr);
    const made = JSON.parse(r.stdout);
    keyStr = made.keys[0].key;
    keyName = made.keys[0].keyName;
    await waitForKey(cluster.nodes, keyStr, 5000);
    const stored = await cluster.redis.cmd('HGET', `rt:{g}:key:${keyName}`, 'secret');
    assert.match(stored, /^kek1:/);
    assert.ok(!stored.includes(keyStr.split(':')[1]));
    const secret = await cluster.redis.cmd('HSTRLEN', 'rt:{g}:secrets', 's:1');
    assert.equal(secret, String(32 + 32), 'server secret sealed (32 bytes + 32 of envelope)');
    // without the KEK, the CLI is refused rather than reading sealed secrets
    const nokek = await cli(['key', 'list', '--redis', url, '--json']);
    assert.notEqual(nokek.code, 0);
    assert.match(nokek.stdout, /40003/);
    // listing with it works
    const list = await rtauth('key', 'list');
    assert.equal(list.code, 0, list.stderr);
    assert.ok(JSON.parse(list.stdout).some((k) => k.keyName === keyName));
  });

  it('a token minted on one node verifies on the others; secret rotate reaches every node, old tokens stay valid', async () => {
    const before = await restClient(cluster.nodes[0], { key: keyStr }).auth.requestToken({ clientId: 'old' });
    for (const n of cluster.nodes) assert.equal((await probeToken(n, keyName, before.token)).body.error.code, 40162, n.nodeId);
    const r = await rtauth('secret', 'rotate');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).secretId, 2);
    for (const n of cluster.nodes) await eventually(() => /server secret 2 is now current/.test(n.output), 5000, `${n.nodeId} adopted secret 2`);
    const afterRotation = await restClient(cluster.nodes[1], { key: keyStr }).auth.requestToken({ clientId: 'new' });
    assert.notEqual(afterRotation.token.slice(0, 30), before.token.slice(0, 30));
    for (const n of cluster.nodes) {
      assert.equal((await probeToken(n, keyName, before.token)).body.error.code, 40162, `old token on ${n.nodeId}`);
      assert.equal((await probeToken(n, keyName, afterRotation.token)).body.error.code, 40162, `new token on ${n.nodeId}`);
    }
  });

  it('key disable --redis: connections of that key end on every node with ERROR 40131', async (t) => {
    const conns = [];
    for (const [i, c] of clients.entries()) {
      const basic = c.realtime({ key: keyStr });
      const td = await restClient(cluster.nodes[i], { key: keyStr }).auth.requestToken({ clientId: `k${i}` });
      const tok = c.realtime({ token: td.token });
      for (const rt of [basic, tok]) {
        const rec = recordConnection(rt, `n${i + 1}`);
        await waitConnection(rt, 'connected');
        conns.push(rec);
      }
    }
    const t0 = Date.now();
    const r = await rtauth('key', 'disable', keyName);
    assert.equal(r.code, 0, r.stderr);
    for (const rec of conns) {
      const f = await rec.waitFor((e) => e.current === 'failed', 5000, `${rec.what} failed`);
      assertReason(f.reason, { code: 40131 });
      t.diagnostic(`${rec.what}: failed 40131 ${f.at - t0} ms after key disable`);
    }
    assert.equal((await rtauth('key', 'enable', keyName)).code, 0);
    await waitForKey(cluster.nodes, keyStr, 5000);
  });
});
