// Channels across nodes (issue 14; design 6.7): a message published on any node reaches the
// subscribers of its channel on every node, once each, in one order per channel, with the
// serial Redis gave it (RTL6, RTL7, RSL1); the publisher is ACKed only once Redis has the
// message, so a message acknowledged before Redis is killed -9 (AOF, appendfsync always)
// still reaches everyone after it restarts; a publish while Redis is away is NACKed with a
// 5xx, never dropped silently; capabilities are still enforced where the client connects.
// Every test runs with the real ably-js 2.28.0, in msgpack and in JSON.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { FORMATS, randomId, restClient } from '../interop/lib/helpers.mjs';
import { boundedIt } from '../interop/lib/realtime.mjs';
import { provisionApp } from '../interop/lib/server.mjs';
import { Cluster, connectRealtime, waitForKey } from './lib/cluster.mjs';

const it = boundedIt(60000);
const LINGER_MS = 1000; // short, so the unsubscribe can be seen (and churns more)

let cluster;
let app; // keys[0]: everything; keys[1]: 'cansubscribe:*' subscribe only, 'canpublish:*' publish
let clients = [];

before(async () => {
  cluster = await Cluster.start({ nodes: 3, nodeArgs: ['--channel-linger', String(LINGER_MS)] });
  app = await provisionApp(cluster.nodes[0]);
  for (const k of app.keys.slice(0, 2)) await waitForKey(cluster.nodes, k.keyStr);
});

after(async () => {
  await cluster?.stop();
});

afterEach(async () => {
  for (const c of clients) await c.closeAll();
  clients = [];
});

/** A connected ably-js Realtime on node i. */
function realtime(i, binary, opts = {}) {
  return connectRealtime(clients, cluster.nodes[i], binary, app.keys[0].keyStr, opts);
}

/** Subscribes to `name` on rt (attached when this returns); messages land in the array. */
async function collect(rt, name) {
  const got = [];
  const ch = rt.channels.get(name);
  await ch.subscribe((m) => got.push(m));
  return got;
}

async function waitFor(pred, ms, what) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Asserts got holds exactly the data of want, in order (each once). */
function assertSequence(got, want, what) {
  assert.deepEqual(got.map((m) => m.data), want, what);
}

for (const fmt of FORMATS) {
  describe(`channels across nodes (${fmt.name})`, () => {
    it('a publisher on A reaches subscribers on B and C, every message once, in order (RTL6, RTL7)', async () => {
      const name = randomId('fanout');
      const [pub, b, c] = await Promise.all([0, 1, 2].map((i) => realtime(i, fmt.binary)));
      const gotB = await collect(b, name);
      const gotC = await collect(c, name);
      const ch = pub.channels.get(name);
      const want = [];
      for (let i = 0; i < 100; i++) want.push(`m${i}`);
      // sequential and concurrent publishes: ACKed ones only, order is the publish order
      for (let i = 0; i < 50; i++) await ch.publish('seq', want[i]);
      await Promise.all(want.slice(50).map((d) => ch.publish('seq', d)));
      await waitFor(() => gotB.length >= 100 && gotC.length >= 100, 10000, 'messages on B and C');
      await sleep(300); // nothing more may come (duplicates)
      assertSequence(gotB, want, 'B');
      assertSequence(gotC, want, 'C');
      // one serial order everywhere, the ids and connectionId of the publisher (TM2a, TM2c)
      assert.deepEqual(gotB.map((m) => m.id), gotC.map((m) => m.id));
      assert.equal(gotB[0].connectionId, pub.connection.id);
      assert.equal(gotB[0].id, `${pub.connection.id}:0:0`);
      // a later attach on A (which did not follow the channel) starts at the serial Redis
      // gave the last message (RTL15b)
      const late = (await realtime(0, fmt.binary)).channels.get(name);
      await late.attach();
      assert.equal(late.properties.channelSerial, '100');
    });

    it('Redis killed -9 and restarted mid-stream: every acknowledged publish reaches B and C once, in order (RTL6, RTN7)', async (t) => {
      const name = randomId('crash');
      const [a1, a2, b, c] = await Promise.all([0, 0, 1, 2].map((i) => realtime(i, fmt.binary)));
      const gotB = await collect(b, name);
      const gotC = await collect(c, name);
      const acked = [];
      const failed = [];
      let stop = false;
      async function publisher(rt, tag) {
        const ch = rt.channels.get(name);
        for (let i = 0; !stop; i++) {
          const data = `${tag}:${i}`;
          try {
            await ch.publish('seq', data);
            acked.push(data);
          } catch (e) {
            failed.push({ data, code: e.code, statusCode: e.statusCode });
            await sleep(50);
          }
          await sleep(5);
        }
      }
      const running = [publisher(a1, 'p1'), publisher(a2, 'p2')];
      await sleep(1500);
      const before = acked.length;
      await cluster.redis.kill9();
      await sleep(1000);
      await cluster.redis.restart(); // same port, same directory: its AOF
      const t0 = Date.now();
      while (acked.length < before + 40 && Date.now() - t0 < 20000) await sleep(50); // live again
      stop = true;
      await Promise.all(running);
      assert.ok(acked.length >= before + 40, `publishing did not resume after the restart (${acked.length})`);
      // every failure said why, with a 5xx (never a silent drop)
      for (const f of failed) assert.ok(f.statusCode >= 500 && f.code >= 50000, `failure ${JSON.stringify(f)}`);
      const ackedSet = new Set(acked);
      const has = (got) => new Set(got.map((m) => m.data));
      await waitFor(() => acked.every((d) => has(gotB).has(d) && has(gotC).has(d)), 20000,
        'every acknowledged message on B and C');
      await sleep(300);
      for (const [got, where] of [[gotB, 'B'], [gotC, 'C']]) {
        const datas = got.map((m) => m.data);
        assert.equal(new Set(datas).size, datas.length, `a duplicate on ${where}`);
        for (const tag of ['p1', 'p2']) { // each publisher's messages in its order
          const seq = datas.filter((d) => d.startsWith(`${tag}:`)).map((d) => Number(d.split(':')[1]));
          assert.deepEqual(seq, [...seq].sort((x, y) => x - y), `${tag} out of order on ${where}`);
        }
        for (const d of datas) // anything else is a publish that got an error but went through
          if (!ackedSet.has(d)) assert.ok(failed.some((f) => f.data === d), `${d} on ${where} was never published`);
      }
      // B and C saw one order
      assert.deepEqual(gotB.map((m) => m.data), gotC.map((m) => m.data), 'B and C disagree on the order');
      t.diagnostic(`${acked.length} acknowledged (${before} before the kill), ${failed.length} refused, ` +
        `${gotB.length} delivered on B`);
    });

    it('REST publish on B reaches a realtime subscriber on C (RSL1)', async () => {
      const name = randomId('rest');
      const c = await realtime(2, fmt.binary);
      const got = await collect(c, name);
      const rest = restClient(cluster.nodes[1], { key: app.keys[0].keyStr }, fmt.binary);
      await rest.channels.get(name).publish('r', 'one');
      await rest.channels.get(name).publish([{ name: 'r', data: 'two' }, { name: 'r', data: 'three' }]);
      await waitFor(() => got.length >= 3, 5000, 'REST messages on C');
      await sleep(200);
      assertSequence(got, ['one', 'two', 'three'], 'C');
    });

    it('history is the same from every node: the shared channel log, paged (RSL2, RSL2b)', async () => {
      const name = randomId('hist');
      const a = await realtime(0, fmt.binary);
      const ch = a.channels.get(name);
      for (let i = 0; i < 3; i++) await ch.publish('h', `rt${i}`);
      const restB = restClient(cluster.nodes[1], { key: app.keys[0].keyStr }, fmt.binary);
      await restB.channels.get(name).publish([{ name: 'h', data: 'rest0' }, { name: 'h', data: 'rest1' }]);
      const want = ['rt0', 'rt1', 'rt2', 'rest0', 'rest1'];
      for (const i of [0, 1, 2]) {
        const rest = restClient(cluster.nodes[i], { key: app.keys[0].keyStr }, fmt.binary);
        const page = await rest.channels.get(name).history();
        assert.deepEqual(page.items.map((m) => m.data), [...want].reverse(), `backwards from n${i + 1}`);
        assert.equal(page.items[4].id, `${a.connection.id}:0:0`);
        assert.equal(page.items[4].connectionId, a.connection.id);
        assert.ok(page.items.every((m) => m.timestamp > 0));
        const fwd = await rest.channels.get(name).history({ direction: 'forwards', limit: 2 });
        const seen = [];
        for (let p = fwd; p; p = p.hasNext() ? await p.next() : null) seen.push(...p.items.map((m) => m.data));
        assert.deepEqual(seen, want, `forwards in pages of 2 from n${i + 1}`);
      }
    });

    it('echoMessages false: the publisher does not get its own message back, B does (RTL7f)', async () => {
      const name = randomId('echo');
      const a = await realtime(0, fmt.binary, { echoMessages: false });
      const a2 = await realtime(0, fmt.binary);
      const b = await realtime(1, fmt.binary);
      const gotA = await collect(a, name);
      const gotA2 = await collect(a2, name);
      const gotB = await collect(b, name);
      await a.channels.get(name).publish('e', 'one');
      await waitFor(() => gotB.length >= 1 && gotA2.length >= 1, 5000, 'the message on B and on A');
      await sleep(300);
      assert.equal(gotA.length, 0, 'echoed back to its publisher');
      assertSequence(gotB, ['one'], 'B');
    });

    it('names with braces and percent signs stay apart across nodes', async () => {
      const base = randomId('tag');
      const names = [`${base}{x}`, `${base}%7Bx%7D`, `${base}}:log`, base];
      const b = await realtime(1, fmt.binary);
      const got = {};
      for (const n of names) got[n] = await collect(b, n);
      const a = await realtime(0, fmt.binary);
      for (const n of names) await a.channels.get(n).publish('n', n);
      await waitFor(() => names.every((n) => got[n].length >= 1), 5000, 'every channel');
      await sleep(200);
      for (const n of names) assertSequence(got[n], [n], n);
    });

    it('the subscriber connections are cut (CLIENT KILL TYPE pubsub): nodes resubscribe and catch up from the stream, once each, in order', async () => {
      const name = randomId('cut');
      const [a, b, c] = await Promise.all([0, 1, 2].map((i) => realtime(i, fmt.binary)));
      const gotB = await collect(b, name);
      const gotC = await collect(c, name);
      const ch = a.channels.get(name);
      const acked = [];
      let stop = false;
      const pub = (async () => {
        for (let i = 0; !stop; i++) {
          await ch.publish('cut', `c${i}`); // Redis stays up: every publish must succeed
          acked.push(`c${i}`);
          await sleep(2);
        }
      })();
      await sleep(500);
      await cluster.redis.cmd('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await sleep(1500);
      stop = true;
      await pub;
      await waitFor(() => gotB.length >= acked.length && gotC.length >= acked.length, 10000,
        'every message on B and C');
      await sleep(300);
      assertSequence(gotB, acked, 'B');
      assertSequence(gotC, acked, 'C');
    });

    it('REST publish while Redis is down: 500 with code 50000 and a message, never a silent 201 (RSL1)', async () => {
      const name = randomId('down');
      const rest = restClient(cluster.nodes[1], { key: app.keys[0].keyStr }, fmt.binary);
      await cluster.redis.kill9();
      try {
        await assert.rejects(rest.channels.get(name).publish('d', 'lost'), (e) => {
          assert.equal(e.statusCode, 500);
          assert.equal(e.code, 50000);
          assert.match(e.message, /not confirmed by the cluster's store/);
          return true;
        });
      } finally {
        await cluster.redis.restart();
      }
      for (const n of cluster.nodes) await n.waitReady(15000);
      await rest.channels.get(name).publish('d', 'after'); // and it works again
    });

    it('a node unsubscribes --channel-linger after the last local detach, and subscribes again on the next attach', async () => {
      const name = randomId('linger');
      const appId = app.keys[0].keyStr.split('.')[0];
      const rchan = `rt:{c:${appId}:${name}}`;
      const numsub = async () => Number((await cluster.redis.cmd('PUBSUB', 'NUMSUB', rchan)).split('\n')[1]);
      const [a, b] = await Promise.all([0, 1].map((i) => realtime(i, fmt.binary)));
      const ch = b.channels.get(name);
      const got = [];
      await ch.subscribe((m) => got.push(m));
      assert.equal(await numsub(), 1, 'B subscribed in Redis while attached');
      await a.channels.get(name).publish('l', 'one');
      await waitFor(() => got.length >= 1, 5000, 'the first message');
      await ch.detach();
      const t0 = Date.now();
      while ((await numsub()) !== 0) {
        if (Date.now() - t0 > LINGER_MS + 5000) assert.fail('still subscribed long after the detach');
        await sleep(100);
      }
      await a.channels.get(name).publish('l', 'unheard'); // nobody on B: not delivered there
      await ch.attach();
      assert.equal(await numsub(), 1, 'subscribed again');
      await a.channels.get(name).publish('l', 'two');
      await waitFor(() => got.length >= 2, 5000, 'the message after the re-attach');
      await sleep(200);
      assertSequence(got, ['one', 'two'], 'B');
    });

    it('a publish denied by capability on A never reaches B (S-51, RTL6)', async () => {
      const name = `cansubscribe:${randomId('cap')}`; // key 1 may subscribe there, not publish
      const b = await realtime(1, fmt.binary);
      const got = await collect(b, name);
      const denied = await realtime(0, fmt.binary, { key: app.keys[1].keyStr });
      await assert.rejects(denied.channels.get(name).publish('x', 'forbidden'), (e) => e.code === 40160);
      // a refusal sent while an allowed publish is with Redis is answered after it: ably-js
      // completes every message up to a NACK's msgSerial, so out of order it would fail both
      const okFirst = denied.channels.get(`canpublish:${randomId('cap')}`).publish('x', 'first');
      const deniedNext = denied.channels.get(name).publish('x', 'forbidden too');
      await okFirst;
      await assert.rejects(deniedNext, (e) => e.code === 40160);
      // the same client may still publish where its capability allows, and that arrives
      const okName = `canpublish:${randomId('cap')}`;
      const gotOk = await collect(b, okName);
      await denied.channels.get(okName).publish('x', 'allowed');
      await waitFor(() => gotOk.length >= 1, 5000, 'the allowed message');
      await sleep(300);
      assert.equal(got.length, 0, 'the denied message reached B');
      assertSequence(gotOk, ['allowed'], 'allowed');
    });
  });
}
