// Channel shards (issue 14, `--redis-shard URL`; docs/cluster.md, "Channel shards"): three
// nodes, auth state on the main Redis and channels spread over two more by the hash of their
// tag. Channels of both shards fan out from A to B and C once each, in order, with ably-js;
// history is the same from every node; every channel's keys sit on the shard the documented
// hash names (computed here independently), auth keys only on the main Redis; a shard killed
// -9 fails only its own channels (a 5xx NACK, /ready 503 naming it) and after its restart
// nothing acknowledged is lost; a node with another shard list is refused at start.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { randomId, restClient } from '../interop/lib/helpers.mjs';
import { boundedIt } from '../interop/lib/realtime.mjs';
import { Node, collect, connectRealtime, eventually, useCluster, waitFor } from './lib/cluster.mjs';

const it = boundedIt(90000);

let cluster;
let app;
let appId;
const clients = [];
useCluster({
  shards: 2,
  nodeArgs: ['--channel-linger', '1000'],
  clients,
  use: (c) => {
    ({ cluster, app } = c);
    appId = app.keys[0].keyStr.split('.')[0];
  },
});

// ---- the documented placement, computed independently of the server ----------------------------

const MASK64 = (1n << 64n) - 1n;

function fnv1a64(bytes) {
  let h = 14695981039346656037n;
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * 1099511628211n) & MASK64;
  }
  return h;
}

function jumpHash(key, n) {
  let b = -1;
  let j = 0;
  while (j < n) {
    b = j;
    key = (key * 2862933555777941757n + 1n) & MASK64;
    j = Math.floor((b + 1) * (2 ** 31 / (Number(key >> 33n) + 1)));
  }
  return b;
}

const escapeTag = (s) => s.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The shard (0..n-1) of channel `name` of the app: jump hash of FNV-1a 64 of its tag. */
function shardOf(name, n = 2) {
  return jumpHash(fnv1a64(Buffer.from(`c:${escapeTag(appId)}:${escapeTag(name)}`)), n);
}

/** `count` fresh channel names on shard `shard`. */
function namesOn(shard, count, prefix) {
  const out = [];
  while (out.length < count) {
    const name = randomId(prefix);
    if (shardOf(name) === shard) out.push(name);
  }
  return out;
}

// ---- clients -------------------------------------------------------------------------------------

function realtime(i, opts = {}) {
  return connectRealtime(clients, cluster.nodes[i], true, app.keys[0].keyStr, opts);
}

async function keysOf(redis, pattern) {
  const out = await redis.cmd('--scan', '--pattern', pattern);
  return out ? out.split('\n') : [];
}

describe('channels over two Redis shards', () => {
  it('every channel lives on the shard its tag hashes to; auth state only on the main Redis', async () => {
    const rest = restClient(cluster.nodes[0], { key: app.keys[0].keyStr });
    const names = [];
    for (let i = 0; i < 40; i++) names.push(randomId('place'));
    for (const name of names) await rest.channels.get(name).publish('p', name);
    const onShard = await Promise.all(cluster.shards.map((r) => keysOf(r, 'rt:{c:*}:m')));
    for (let s = 0; s < 2; s++) assert.ok(onShard[s].length > 5, `shard ${s} holds ${onShard[s].length} channels`);
    for (const name of names) {
      const key = `rt:{c:${appId}:${name}}:m`;
      const s = shardOf(name);
      assert.ok(onShard[s].includes(key), `${name} not on shard ${s}`);
      assert.ok(!onShard[1 - s].includes(key), `${name} also on shard ${1 - s}`);
    }
    // the main Redis: auth state and the shard list, no channel; the shards: no auth state
    assert.deepEqual(await keysOf(cluster.redis, 'rt:{c:*'), []);
    assert.ok((await keysOf(cluster.redis, 'rt:{g}:key:*')).length > 0);
    assert.equal(await cluster.redis.cmd('GET', 'rt:{g}:shards'),
      `2 127.0.0.1:${cluster.shards[0].port}/0,127.0.0.1:${cluster.shards[1].port}/0`);
    for (const r of cluster.shards) {
      assert.deepEqual(await keysOf(r, 'rt:{g}:*'), []);
      assert.deepEqual(await keysOf(r, 'rt:n:*'), []);
      // the Functions library is loaded on every shard
      assert.match(await r.cmd('FUNCTION', 'LIST'), /rtauthd_v\d+/);
    }
  });

  it('a publisher on A reaches B and C on channels of both shards, once each, in order; history alike everywhere', async () => {
    const names = [...namesOn(0, 3, 'fan0'), ...namesOn(1, 3, 'fan1')];
    const [a, b, c] = await Promise.all([0, 1, 2].map((i) => realtime(i)));
    const got = {};
    for (const name of names) got[name] = [await collect(b, name), await collect(c, name)];
    const want = [];
    for (let i = 0; i < 30; i++) want.push(`m${i}`);
    // the channels' publishes run side by side (each channel's in order): the node's batches
    // to Redis then carry several shards' publishes at once
    await Promise.all(names.map(async (n) => {
      for (const d of want) await a.channels.get(n).publish('seq', d);
    }));
    await waitFor(() => names.every((n) => got[n].every((g) => g.length >= 30)), 15000, 'messages on B and C');
    await sleep(300);
    for (const n of names) {
      assert.deepEqual(got[n][0].map((m) => m.data), want, `${n} on B`);
      assert.deepEqual(got[n][1].map((m) => m.data), want, `${n} on C`);
    }
    for (const n of names) {
      let first;
      for (const i of [0, 1, 2]) {
        const rest = restClient(cluster.nodes[i], { key: app.keys[0].keyStr });
        const page = await rest.channels.get(n).history({ limit: 100 });
        const datas = page.items.map((m) => m.data);
        assert.deepEqual(datas, [...want].reverse(), `history of ${n} from n${i + 1}`);
        if (first) assert.deepEqual(page.items.map((m) => m.id), first);
        first = page.items.map((m) => m.id);
      }
    }
  });

  it('a shard killed -9 fails only its channels, with a 5xx; after its restart nothing acknowledged is lost', async () => {
    const [live] = namesOn(0, 1, 'live');
    const [dead] = namesOn(1, 1, 'dead');
    const [a, b, c] = await Promise.all([0, 1, 2].map((i) => realtime(i)));
    const got = {
      [live]: [await collect(b, live), await collect(c, live)],
      [dead]: [await collect(b, dead), await collect(c, dead)],
    };
    const acked = { [live]: [], [dead]: [] };
    const failed = { [live]: [], [dead]: [] };
    let stop = false;
    async function publisher(name) {
      const ch = a.channels.get(name);
      for (let i = 0; !stop; i++) {
        const data = `${name}:${i}`;
        try {
          await ch.publish('seq', data);
          acked[name].push(data);
        } catch (e) {
          failed[name].push({ data, code: e.code, statusCode: e.statusCode, message: e.message });
          await sleep(50);
        }
        await sleep(10);
      }
    }
    const running = [publisher(live), publisher(dead)];
    await sleep(1000);
    await cluster.shards[1].kill9();
    const killedAt = { live: acked[live].length, dead: acked[dead].length };
    // the other shard's channel goes on; the dead one's publishes are refused with a 5xx
    await eventually(() => failed[dead].length >= 3, 10000, 'publishes on the dead shard refused');
    await eventually(() => acked[live].length >= killedAt.live + 30, 10000, 'publishes on the live shard');
    await eventually(() => got[live][0].length >= killedAt.live + 30 && got[live][1].length >= killedAt.live + 30,
      10000, 'live channel delivered on B and C while the other shard is down');
    // every node says which shard is missing
    for (const n of cluster.nodes) {
      await eventually(async () => {
        const r = await n.get('/ready');
        return r.status === 503 && /shard 1/.test(r.body);
      }, 5000, `n${cluster.nodes.indexOf(n) + 1} unready naming shard 1`);
    }
    await sleep(500);
    await cluster.shards[1].restart(); // same port, same directory: its AOF
    const t0 = Date.now();
    while (acked[dead].length < killedAt.dead + 30 && Date.now() - t0 < 20000) await sleep(50);
    stop = true;
    await Promise.all(running);
    assert.ok(acked[dead].length >= killedAt.dead + 30, `publishing on the restarted shard did not resume (${acked[dead].length})`);
    assert.equal(failed[live].length, 0, `the live shard's channel failed: ${JSON.stringify(failed[live][0])}`);
    for (const f of failed[dead])
      assert.ok(f.statusCode >= 500 && f.code === 50000, `failure ${JSON.stringify(f)}`);
    for (const n of cluster.nodes) await n.waitReady(10000);
    for (const name of [live, dead]) {
      const has = (g) => new Set(g.map((m) => m.data));
      await waitFor(() => got[name].every((g) => acked[name].every((d) => has(g).has(d))), 20000,
        `every acknowledged message of ${name} on B and C`);
      await sleep(200);
      for (const [g, where] of [[got[name][0], 'B'], [got[name][1], 'C']]) {
        const datas = g.map((m) => m.data);
        assert.equal(new Set(datas).size, datas.length, `a duplicate on ${where}`);
        const idx = datas.map((d) => Number(d.split(':').pop()));
        for (let i = 1; i < idx.length; i++) assert.ok(idx[i] > idx[i - 1], `out of order on ${where}: ${datas.slice(i - 1, i + 1)}`);
      }
    }
  });

  it('a node whose shard list differs from the cluster\'s is refused at start', async () => {
    const variants = [
      ['swapped', cluster.shardArgs([cluster.shards[1], cluster.shards[0]])],
      ['one fewer', cluster.shardArgs([cluster.shards[0]])],
      ['none', []],
    ];
    for (const [what, shardArgs] of variants) {
      const n = await Node.start({ redis: cluster.redis.url, nodeId: `odd-${what.replace(/ /g, '')}`, args: shardArgs, wait: false });
      const ex = await n.p.waitExit(20000);
      fs.rmSync(n.tmp.dir, { recursive: true, force: true });
      n.tmp.forget();
      assert.ok(ex && ex.code !== 0, `${what}: the node was not refused: ${JSON.stringify(ex)}\n${n.output.slice(-2000)}`);
      assert.match(n.output, /Redis shards differ from the cluster's/, `${what}: ${n.output.slice(-2000)}`);
    }
    // the cluster's nodes are undisturbed
    for (const n of cluster.nodes) assert.ok(await n.ready());
  });
});
