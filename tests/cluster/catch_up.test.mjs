// A re-attach with a channelSerial catches up across nodes (RTL4c1; issue 14, "resume and
// re-ATTACH with a channel serial lose nothing across a node restart"). A subscriber's node
// is killed -9; messages are published (and acknowledged) on another node while the
// subscriber is away; the subscriber comes back through the same address, now served by
// another node, which has none of its channels (whether it resumes the connection, as it
// does since gateway/adopt.c, or the client starts afresh): ably-js re-attaches with the
// channelSerial of the last message it saw, and the node sends
// ATTACHED with RESUMED (the channel's `attached` event says resumed, RTL2f) followed by exactly the messages it
// missed, then the live ones: every message once, in order. When the stream no longer holds
// what was missed, the attach is a fresh one: resumed false tells the client continuity
// was lost (RTL2f), and no partial backlog is sent.
// Real redis-server and rtauthd nodes; ably-js 2.28.0 in msgpack and JSON.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { FORMATS, randomId } from '../interop/lib/helpers.mjs';
import { boundedIt, recordChannel, waitConnection } from '../interop/lib/realtime.mjs';
import { connectRealtime, useFronted } from './lib/cluster.mjs';

const it = boundedIt(60000);
const HISTORY_MAX = 100; // the stream keeps about this many (MAXLEN ~: whole nodes of 100)

let cluster;
let app;
let front; // the address the subscriber knows: a TCP proxy to one node, then to another
const clients = [];

useFronted({ nodeArgs: ['--history-max-messages', String(HISTORY_MAX), '--max-inbound-rate', '10000'], clients, use: (f) => ({ cluster, app, front } = f) });

function realtime(server, binary, opts = {}) {
  return connectRealtime(clients, server, binary, app.keys[0].keyStr, { disconnectedRetryTimeout: 300, ...opts });
}

async function waitFor(pred, ms, what) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function publishAll(ch, from, to) {
  const want = [];
  for (let i = from; i < to; i++) want.push(`m${i}`);
  await Promise.all(want.map((d) => ch.publish('seq', d))); // each ACKed: Redis has it
  return want;
}

/** A subscriber through the front (node A at first) and a publisher on node B, on one channel. */
async function pair(fmt, prefix) {
  const name = randomId(prefix);
  const sub = await realtime(front, fmt.binary);
  const pub = await realtime(cluster.nodes[1], fmt.binary);
  const got = [];
  const sch = sub.channels.get(name);
  await sch.subscribe((m) => got.push(m));
  return { sub, pub, got, sch, events: recordChannel(sch), pch: pub.channels.get(name) };
}

/** Kills the subscriber's node while it is cut off, runs `away`, then lets it reach node B. */
async function moveSubscriber(sub, away) {
  const idBefore = sub.connection.id;
  front.cut(); // nothing reconnects until we say so
  await cluster.nodes[0].kill9();
  await waitFor(() => sub.connection.state !== 'connected', 5000, 'the subscriber to notice');
  await away();
  front.targetPort = cluster.nodes[1].port;
  front.heal();
  await waitConnection(sub, 'connected', 15000);
  // node B took the connection over (resume.test.mjs); its channels are new there either way
  assert.equal(sub.connection.id, idBefore);
}

for (const fmt of FORMATS) {
  describe(`re-attach with a channelSerial across nodes (${fmt.name})`, () => {
    it('the node that did not have the connection sends the missed messages, then the live ones (RTL4c1, RTL15b)', async () => {
      const { sub, pub, got, sch, events, pch } = await pair(fmt, 'catchup');
      const want = await publishAll(pch, 0, 10);
      await waitFor(() => got.length >= 10, 10000, 'the first messages');
      assert.equal(sch.properties.channelSerial, '10');

      await moveSubscriber(sub, async () => {
        want.push(...(await publishAll(pch, 10, 30))); // acknowledged while it is away
      });
      await waitFor(() => got.length >= 30, 10000, 'the missed messages');
      want.push(...(await publishAll(pch, 30, 40))); // live again
      await waitFor(() => got.length >= 40, 10000, 'the live messages');
      await sleep(300); // nothing more may come (duplicates)
      assert.deepEqual(got.map((m) => m.data), want, 'every message once, in order');
      assert.equal(sch.properties.channelSerial, '40');
      assert.equal(sch.state, 'attached');
      // RESUMED: the re-attach kept continuity (RTL2f), nothing reported lost (RTL12)
      const reattach = events.items.filter((e) => e.event === 'attached' || e.event === 'update');
      assert.deepEqual(reattach.map((e) => [e.summary, e.resumed]), [['attached:attaching->attached', true]]);
      // the missed messages keep their publisher's ids and connectionId (TM2a, TM2c)
      assert.equal(got[20].id, `${pub.connection.id}:20:0`);
      assert.equal(got[20].connectionId, pub.connection.id);
    });

    it('publishes never stop while the subscriber moves: the backlog and the live messages meet with no gap and no duplicate', async () => {
      const { sub, got, sch, pch } = await pair(fmt, 'race');
      const acked = [];
      let stop = false;
      const running = (async () => {
        for (let i = 0; !stop; i++) {
          await pch.publish('seq', `r${i}`);
          acked.push(`r${i}`);
          await sleep(10); // fewer than HISTORY_MAX while it is away: the backlog stays whole
        }
      })();
      await waitFor(() => got.length >= 20, 10000, 'the first messages');
      await moveSubscriber(sub, () => sleep(500));
      await sleep(1000); // the backlog read races the live publishes
      stop = true;
      await running;
      await waitFor(() => got.length >= acked.length, 10000, 'every acknowledged message');
      await sleep(300);
      assert.deepEqual(got.map((m) => m.data), acked, 'every message once, in order');
    });

    it('a backlog the stream no longer holds: a fresh attach, continuity lost (RTL2f), no partial backlog', async () => {
      const { sub, pub, got, sch, events, pch } = await pair(fmt, 'lost');
      await publishAll(pch, 0, 3);
      await waitFor(() => got.length >= 3, 10000, 'the first messages');

      await moveSubscriber(sub, async () => {
        for (let i = 3; i < 3 + 4 * HISTORY_MAX; i += 50) await publishAll(pch, i, i + 50); // trims the stream
      });
      await waitFor(() => events.items.some((e) => e.event === 'attached'), 10000, 'the re-attach');
      const reattach = events.items.filter((e) => e.event === 'attached' || e.event === 'update');
      assert.deepEqual(reattach.map((e) => [e.summary, e.resumed]), [['attached:attaching->attached', false]],
        'continuity lost (RTL2f)');
      const live = await publishAll(pch, 1000, 1003);
      await waitFor(() => got.length >= 6, 10000, 'the live messages');
      await sleep(300);
      assert.deepEqual(got.map((m) => m.data), ['m0', 'm1', 'm2', ...live], 'nothing of the lost backlog, the live ones');
      assert.equal(sch.state, 'attached');
    });
  });
}
