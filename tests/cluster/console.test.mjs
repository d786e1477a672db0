// The operator console in cluster mode (issue 18): its actions go through the same store
// calls as the REST API and the CLI, so on a cluster they reach Redis and every node. Logged
// in on node 1: a key it creates works on node 2; a capability change and a disabled key are
// seen on node 2; revoking a clientId reaches an ably-js client connected to node 2
// (DISCONNECTED 40141, RSA17). Sessions are per node: node 2 does not know node 1's cookie.
// Both formats for the realtime client.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe } from 'node:test';

import { FORMATS, restClient } from '../interop/lib/helpers.mjs';
import { Clients, assertReason, boundedIt, recordConnection, tokenCallback, waitConnection } from '../interop/lib/realtime.mjs';
import { Cluster, eventually, tempDir, waitForKey } from './lib/cluster.mjs';

const it = boundedIt(40000);
const PASSWORD = 'console password for the cluster test';

let cluster;
let pwDir;
let session; // {node, cookie, csrf}
let app;

/** A console request on node n with the session: {status, body}. */
async function consoleApi(n, method, route, body) {
  const headers = { cookie: `rtauthd_console=${session.cookie}` };
  if (method === 'POST') Object.assign(headers, { 'content-type': 'application/json', 'x-csrf-token': session.csrf });
  const res = await fetch(`${n.baseUrl}/console/api/${route}`, { method, headers, body: body && JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

before(async () => {
  pwDir = tempDir('rtauth-console-pw-');
  const pw = path.join(pwDir.dir, 'password');
  fs.writeFileSync(pw, PASSWORD + '\n', { mode: 0o600 });
  cluster = await Cluster.start({ nodes: 2, nodeArgs: ['--console', '--console-password-file', pw] });
  const [n1] = cluster.nodes;
  const res = await fetch(`${n1.baseUrl}/console/api/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }),
  });
  assert.equal(res.status, 200);
  const cookie = /rtauthd_console=([0-9a-f]{64})/.exec(res.headers.get('set-cookie'))[1];
  session = { cookie, csrf: (await res.json()).csrfToken };
  const made = await fetch(`${n1.baseUrl}/apps`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys: [{}] }),
  });
  app = await made.json();
  await waitForKey(cluster.nodes, app.keys[0].keyStr);
});

after(async () => {
  await cluster?.stop();
  if (pwDir) {
    fs.rmSync(pwDir.dir, { recursive: true, force: true });
    pwDir.forget();
  }
});

describe('the operator console on a cluster', () => {
  let key; // created through node 1's console

  it("a key created on node 1's console works on node 2", async () => {
    const [n1, n2] = cluster.nodes;
    const r = await consoleApi(n1, 'POST', 'keys', { appId: app.appId, revocableTokens: true, capability: { 'chat:*': ['*'] } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    key = r.body;
    await waitForKey([n2], key.keyStr);
    const td = await restClient(n2, { key: key.keyStr }, false).auth.requestToken({ clientId: 'carol' });
    assert.deepEqual(JSON.parse(td.capability), { 'chat:*': ['*'] });
    // node 2 lists it too (its registry, reloaded from Redis), but not with node 1's session
    assert.equal((await consoleApi(n2, 'GET', 'apps')).status, 401);
  });

  it('a capability change on node 1 reaches node 2 for new tokens', async () => {
    const [n1, n2] = cluster.nodes;
    const r = await consoleApi(n1, 'POST', 'keys/capability', { keyName: key.keyName, capability: '{"news:*":["subscribe"]}' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const rest = restClient(n2, { key: key.keyStr }, false);
    await eventually(async () => JSON.parse((await rest.auth.requestToken({})).capability)['news:*'], 5000, 'new capability on node 2');
  });

  for (const { name, binary } of FORMATS) {
    it(`revoking a clientId on node 1 disconnects its ably-js client on node 2 with 40141 (${name})`, async () => {
      const [n1, n2] = cluster.nodes;
      const clients = new Clients(n2, binary);
      try {
        const rest = restClient(n2, { key: key.keyStr }, binary);
        const rt = clients.realtime({ authCallback: tokenCallback(rest, { override: { clientId: `dave-${name}` } }),
                                      disconnectedRetryTimeout: 60000 });
        const conn = recordConnection(rt, 'dave');
        await waitConnection(rt, 'connected');
        const r = await consoleApi(n1, 'POST', 'revoke', { keyName: key.keyName, type: 'clientId', value: `dave-${name}` });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        assert.equal(r.body.result.successCount, 1);
        const d = await conn.waitFor((e) => e.current === 'disconnected', 10000, 'dave disconnected');
        assertReason(d.reason, { code: 40141, statusCode: 401 }, 'revoked on node 2');
      } finally {
        await clients.closeAll();
      }
    });
  }

  it('a key disabled on node 1 is refused on node 2 (40131)', async () => {
    const [n1, n2] = cluster.nodes;
    const r = await consoleApi(n1, 'POST', 'keys/state', { keyName: key.keyName, enabled: false });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.enabled, false);
    const rest = restClient(n2, { key: key.keyStr }, false);
    await eventually(() => rest.auth.requestToken({}).then(() => false, (e) => e.code === 40131), 5000, '40131 on node 2');
  });
});
