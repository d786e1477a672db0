// --workers N (issue 19; server/workers.h): one rtauthd command runs N processes on one listen
// port (SO_REUSEPORT), each a cluster node "<node-id>.w<i>" on Redis, under a supervisor:
// - connections spread over the workers (their CONNECTED serverIds differ), and act as one
//   server: a message published through one worker reaches subscribers on the other;
// - a worker killed -9 is started again by the supervisor, and its ably-js clients resume
//   (same connectionId) on a worker that runs;
// - SIGHUP reaches every worker (each logs its reload); SIGTERM stops them all, exit 0; a
//   supervisor killed -9 takes its workers with it (PR_SET_PDEATHSIG);
// - without Redis, --workers is refused with a clear error;
// - replies are not held back by delayed ACKs (TCP_NODELAY on the sockets a worker accepts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { randomId } from '../interop/lib/helpers.mjs';
import { Clients, RawPeer, boundedIt, waitConnection } from '../interop/lib/realtime.mjs';
import { provisionApp } from '../interop/lib/server.mjs';
import { Node, RTAUTHD, RedisServer, eventually } from './lib/cluster.mjs';

const it = boundedIt(60000);
const run = promisify(execFile);

let redis;
let node; // the supervisor (its port is the workers' shared one)
let app;
const clients = [];

async function workerPids() {
  try {
    const { stdout } = await run('pgrep', ['-P', String(node.p.proc.pid)]);
    return stdout.split('\n').filter(Boolean).map(Number).sort();
  } catch {
    return [];
  }
}

/** Opens `count` raw connections with the app's key: the serverIds that answered CONNECTED,
 * and whether every one did (a worker that has not heard of the key yet answers 40101). */
async function probeWorkers(count) {
  const ids = new Set();
  const errors = [];
  for (let i = 0; i < count; i++) {
    const peer = await RawPeer.open(node, { key: app.keys[0].keyStr });
    const reply = await peer.frames.waitFor((m) => m.action === 4 || m.action === 9, 5000, 'CONNECTED or ERROR');
    if (reply.action === 4) ids.add(reply.connectionDetails.serverId);
    else errors.push(reply.error?.code);
    peer.close();
  }
  return { ids, ok: errors.length === 0, errors };
}

before(async () => {
  redis = await RedisServer.start();
  node = await Node.start({ redis: redis.url, nodeId: 'box', args: ['--workers', '2'] });
  await eventually(async () => (await workerPids()).length === 2, 10000, 'two workers');
  // both workers ready (each answers /ready for itself; the kernel picks one per connection)
  await eventually(async () => {
    for (let i = 0; i < 10; i++) if (!(await node.ready())) return false;
    return true;
  }, 20000, 'every worker ready');
  app = await provisionApp(node);
  // each worker learns the new key from Redis within a second: wait until both workers have
  // accepted it. "Every probe accepted" alone is not enough: all 8 probes of a round can land
  // on the worker that knows the key (1 in 256 per round, tried every 50 ms), and the next
  // test then met the other one still answering 40101 (a CI failure).
  await eventually(async () => {
    const { ids, ok } = await probeWorkers(8);
    return ok && ids.size === 2;
  }, 10000, 'both workers know the key');
});

after(async () => {
  for (const c of clients) await c.closeAll();
  await node?.stop(); // SIGTERM to the supervisor: must exit 0 (Node.stop checks)
  await redis?.stop();
});

describe('--workers 2 on one port', () => {
  it('connections spread over the workers, which act as one server', async () => {
    const { ids, ok, errors } = await probeWorkers(16);
    assert.ok(ok, `every connection accepted (refused: ${errors})`);
    assert.equal(ids.size, 2, `two workers served the connections (${[...ids]})`);
    const c = new Clients(node, true);
    clients.push(c);
    const name = randomId('w');
    const subs = [];
    for (let i = 0; i < 6; i++) subs.push(c.realtime({ key: app.keys[0].keyStr }));
    await Promise.all(subs.map((rt) => waitConnection(rt, 'connected')));
    const got = subs.map(() => []);
    await Promise.all(subs.map((rt, i) => rt.channels.get(name).subscribe((m) => got[i].push(m.data))));
    await subs[0].channels.get(name).publish('m', 'hello');
    await eventually(() => got.every((g) => g.length === 1), 5000, 'every subscriber');
  });

  it('a worker killed -9 is started again; its clients resume on a running worker', async () => {
    const c = new Clients(node, false);
    clients.push(c);
    const rts = [];
    for (let i = 0; i < 8; i++) rts.push(c.realtime({ key: app.keys[0].keyStr, disconnectedRetryTimeout: 300 }));
    await Promise.all(rts.map((rt) => waitConnection(rt, 'connected')));
    const ids = rts.map((rt) => rt.connection.id);
    const before = await workerPids();
    process.kill(before[0], 'SIGKILL');
    await eventually(async () => {
      const now = await workerPids();
      return now.length === 2 && !now.includes(before[0]);
    }, 10000, 'the worker started again');
    await sleep(500);
    await Promise.all(rts.map((rt) => waitConnection(rt, 'connected', 15000)));
    assert.deepEqual(rts.map((rt) => rt.connection.id), ids, 'every client resumed (same connectionId)');
    assert.match(node.output, /worker\.exited|worker 0 \(pid \d+\) exited|exited \(signal 9\)/);
  });

  // A worker accepts connections itself and hands them to libwebsockets (listen_shared.c),
  // which then skips its socket options: without TCP_NODELAY, a reply written in two parts
  // waited for the client's delayed ACK, 40 ms per request on a kept-alive connection.
  it('replies on a kept-alive connection are not held for delayed ACKs (TCP_NODELAY)', async () => {
    const key = app.keys[0].keyStr;
    const auth = `Basic ${Buffer.from(key).toString('base64')}`;
    const ms = [];
    // Linux acknowledges at once during a connection's first segments (quick-ack): the
    // stall shows only after them, so time the last 50 of 200 requests on one connection
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${node.port}/keys/${key.split(':')[0]}/requestToken`, {
        method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: '{}',
      });
      await res.json();
      assert.equal(res.status, 200);
      if (i >= 150) ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    // 40 ms is Linux's delayed-ACK floor; a sanitizer build answers in a few ms
    assert.ok(ms[25] < 20, `median requestToken ${ms[25].toFixed(1)} ms (last 50: ${ms.map((x) => x.toFixed(1))})`);
  });

  it('SIGHUP reaches every worker', async () => {
    const pids = await workerPids();
    const before = (node.output.match(/reload/g) || []).length;
    process.kill(node.p.proc.pid, 'SIGHUP');
    await eventually(() => (node.output.match(/reload(ing| done|\.done)/g) || []).length >= before + 2, 5000,
      'both workers reloading');
    assert.deepEqual(await workerPids(), pids, 'the same workers (a reload is not a restart)');
  });

  it('a supervisor killed -9 takes its workers with it (they do not serve unsupervised)', async () => {
    const other = await Node.start({ redis: redis.url, nodeId: 'orphans', args: ['--workers', '2'] });
    const pgrep = async () => {
      try {
        const { stdout } = await run('pgrep', ['-P', String(other.p.proc.pid)]);
        return stdout.split('\n').filter(Boolean).map(Number);
      } catch {
        return [];
      }
    };
    await eventually(async () => (await pgrep()).length === 2, 10000, 'two workers');
    const pids = await pgrep();
    await other.kill9();
    const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
    await eventually(() => pids.every((pid) => !alive(pid)), 10000, 'both workers gone');
    await assert.rejects(fetch(`http://127.0.0.1:${other.port}/health`), 'nothing serves the port');
  });

  it('without Redis, --workers is refused', async () => {
    const r = await run(RTAUTHD, ['--workers', '2', '--listen', '127.0.0.1:0'], { timeout: 5000 }).catch((e) => e);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--workers needs cluster mode/);
  });
});
