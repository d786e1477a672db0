// TokenRequest nonces across a cluster (issue 14; research 4, 6.6): a signed TokenRequest used
// on one node is refused with 40105 on every other node, after that node restarts and after
// Redis restarts from its AOF; sent to all nodes at once, exactly one accepts it; with Redis
// unreachable a TokenRequest fails closed (5xx ErrorInfo, never a token). Both formats.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';

import { FORMATS, assertErrorReply, raw, restClient, signTokenRequest } from '../interop/lib/helpers.mjs';
import { provisionApp } from '../interop/lib/server.mjs';
import { Cluster, waitForKey } from './lib/cluster.mjs';

let cluster;
let key; // {keyName, keySecret, keyStr}

before(async () => {
  cluster = await Cluster.start({ nodes: 3 });
  const app = await provisionApp(cluster.nodes[0], [{}]);
  key = app.keys[0];
  await waitForKey(cluster.nodes, key.keyStr);
});

after(async () => {
  await cluster?.stop();
});

const request = (node, req, format = 'json') =>
  raw(node, 'POST', `/keys/${req.keyName}/requestToken`, { format, body: req });

for (const { name } of FORMATS) {
  const format = name === 'binary' ? 'msgpack' : 'json';
  describe(`nonces across nodes (${format})`, () => {
    it('a TokenRequest used on one node is refused with 40105 on every other (S-21, RSA9c)', async () => {
      const [n1, n2, n3] = cluster.nodes;
      const req = signTokenRequest(key, { clientId: 'alice' });
      const first = await request(n2, req, format);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.ok(first.body.token);
      for (const n of [n1, n3, n2]) assertErrorReply(await request(n, req, format), { status: 401, code: 40105, format }, `replay on ${n.nodeId}`);
    });

    it('sent to every node at once, exactly one node mints', async () => {
      for (let round = 0; round < 5; round++) {
        const req = signTokenRequest(key, {});
        const replies = await Promise.all(cluster.nodes.flatMap((n) => [request(n, req, format), request(n, req, format)]));
        const ok = replies.filter((r) => r.status === 200);
        assert.equal(ok.length, 1, replies.map((r) => r.status).join(','));
        for (const r of replies.filter((x) => x.status !== 200)) assertErrorReply(r, { status: 401, code: 40105, format });
      }
    });
  });
}

// HTTP/1.1 exchanges on one socket: sends each request once the previous reply is complete,
// returns [{status, body}] and whether the server closed the socket within 2 s of the last.
function exchange(port, requests) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const replies = [];
    let buf = '';
    let closed = false;
    const send = () => s.write(requests[replies.length]);
    const timer = setTimeout(() => { s.destroy(); resolve({ replies, closed }); }, 2000);
    s.on('connect', send);
    s.on('error', reject);
    s.on('end', () => { closed = true; clearTimeout(timer); resolve({ replies, closed }); });
    s.on('data', (d) => {
      buf += d;
      for (;;) {
        const head = buf.indexOf('\r\n\r\n');
        if (head < 0) return;
        const len = Number(/content-length: *(\d+)/i.exec(buf.slice(0, head))?.[1] ?? 0);
        if (buf.length < head + 4 + len) return;
        replies.push({ status: Number(buf.slice(9, 12)), body: JSON.parse(buf.slice(head + 4, head + 4 + len)) });
        buf = buf.slice(head + 4 + len);
        if (replies.length < requests.length) send();
      }
    });
  });
}

describe('the reply after the nonce check', () => {
  // Written at once when Redis answers, not on the socket's next POLLOUT (rest/http.c): the
  // keep-alive connection serves the next request, and "Connection: close" still closes it.
  it('keep-alive connections go on, Connection: close and HTTP/1.0 end after the reply', async () => {
    const n = cluster.nodes[0];
    const post = (req, extra = '', version = '1.1') => {
      const body = JSON.stringify(req);
      return `POST /keys/${req.keyName}/requestToken HTTP/${version}\r\nHost: x\r\n` +
        `Content-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    };
    const reqs = [1, 2, 3].map(() => signTokenRequest(key, {}));
    const kept = await exchange(n.port, [post(reqs[0]), post(reqs[1]), post(reqs[0])]);
    assert.deepEqual(kept.replies.map((r) => r.status), [200, 200, 401]);
    assert.equal(kept.replies[2].body.error.code, 40105);
    assert.equal(kept.closed, false, 'a keep-alive connection stays open');
    const closing = await exchange(n.port, [post(reqs[2], 'Connection: close\r\n')]);
    assert.deepEqual(closing.replies.map((r) => r.status), [200]);
    assert.ok(closing.replies[0].body.token);
    assert.equal(closing.closed, true, 'closed after the reply');
    const old = await exchange(n.port, [post(signTokenRequest(key, {}), '', '1.0')]);
    assert.deepEqual(old.replies.map((r) => r.status), [200]);
    assert.equal(old.closed, true, 'an HTTP/1.0 connection is closed after the reply');
  });
});

describe('nonces survive restarts', () => {
  it('refused after the node that minted restarts, and after Redis restarts from its AOF', async () => {
    const [n1, n2] = cluster.nodes;
    const req = signTokenRequest(key, { clientId: 'restart' });
    assert.equal((await request(n1, req)).status, 200);
    await n1.restart();
    assertErrorReply(await request(n1, req), { status: 401, code: 40105 }, 'after the node restarted');
    await cluster.redis.kill9(); // appendfsync always: what was acknowledged is in the AOF
    await cluster.redis.restart();
    for (const n of cluster.nodes) await n.waitReady(10000);
    assertErrorReply(await request(n2, req), { status: 401, code: 40105 }, 'after Redis restarted');
    // a new TokenRequest works, through ably-js's requestToken
    const rest = restClient(n2, { key: key.keyStr });
    const td = await rest.auth.requestToken({ clientId: 'fresh' });
    assert.ok(td.token);
  });
});

describe('Redis unreachable', () => {
  it('a TokenRequest fails closed with a 5xx ErrorInfo, then works once Redis is back', async () => {
    const [n1] = cluster.nodes;
    await cluster.redis.kill9();
    for (let i = 0; i < 3; i++) {
      const req = signTokenRequest(key, {});
      const r = await request(n1, req);
      assertErrorReply(r, { status: 500, code: 50000 }, 'requestToken without Redis');
      assert.equal(r.body.token, undefined);
    }
    await n1.waitReady(3000, false);
    await cluster.redis.restart();
    for (const n of cluster.nodes) await n.waitReady(10000);
    const req = signTokenRequest(key, {});
    assert.equal((await request(n1, req)).status, 200);
  });
});
