// Presence across nodes (issue 14; docs/cluster.md "Presence across nodes"; RTP2, RTP17,
// RTP18, RTP19): a member entered, updated or left on any node is seen by presence
// subscribers on every node, once each, with its clientId, connectionId, data, id and
// timestamp; presence.get() on any node (the attach SYNC) includes the members of the
// others, also on a node started after they entered. A node killed -9: each member it held
// leaves once, on every other node, after the presence grace and not before; a client
// that resumes elsewhere keeps its members there (no LEAVE, no second ENTER).
// Real redis-server and rtauthd nodes; ably-js 2.28.0 in msgpack and JSON.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { FORMATS, randomId } from '../interop/lib/helpers.mjs';
import { boundedIt } from '../interop/lib/realtime.mjs';
import { TcpProxy, connectRealtime, useCluster, waitFor, waitForKey } from './lib/cluster.mjs';

const it = boundedIt(60000);
// a dead node's members leave this long (plus a heartbeat) after it was last heard: shorter
// than the 15 s default so that the test is quick (--presence-grace)
const GRACE_MS = 6000;
const NODE_ARGS = ['--presence-grace', String(GRACE_MS)];

let cluster;
let app;
const clients = [];
useCluster({ nodeArgs: NODE_ARGS, clients, use: (c) => ({ cluster, app } = c) });

/** A connected ably-js Realtime on `server` (a node or a proxy). */
function realtime(server, binary, opts = {}) {
  return connectRealtime(clients, server, binary, app.keys[0].keyStr, { disconnectedRetryTimeout: 300, ...opts });
}

/** Subscribes to presence on `name` (attached when this returns); enter/update/leave events. */
async function watch(rt, name) {
  const got = [];
  await rt.channels.get(name).presence.subscribe((p) => {
    if (p.action !== 'present') got.push(p);
  });
  return got;
}

const summary = (events) => events.map((p) => `${p.action}:${p.clientId}:${p.data ?? ''}`);

for (const fmt of FORMATS) {
  describe(`presence across nodes (${fmt.name})`, () => {
    it('enter, update and leave on A are seen on B and C once each, and get() there has the member (RTP2, RTP18)', async () => {
      const name = randomId('pres');
      const [a, b, c] = await Promise.all([
        realtime(cluster.nodes[0], fmt.binary, { clientId: 'alice' }),
        realtime(cluster.nodes[1], fmt.binary),
        realtime(cluster.nodes[2], fmt.binary),
      ]);
      const onB = await watch(b, name);
      const onC = await watch(c, name);
      await a.channels.get(name).presence.enter('hello');
      await waitFor(() => onB.length >= 1 && onC.length >= 1, 5000, 'the enter on B and C');
      for (const [where, got] of [['B', onB], ['C', onC]]) {
        const e = got[0];
        assert.equal(e.action, 'enter', where);
        assert.equal(e.clientId, 'alice', where);
        assert.equal(e.connectionId, a.connection.id, where);
        assert.equal(e.data, 'hello', where);
        assert.ok(e.id?.startsWith(`${a.connection.id}:`), `${where}: id ${e.id}`);
        assert.ok(Math.abs(e.timestamp - Date.now()) < 10000, `${where}: timestamp ${e.timestamp}`);
      }
      for (const rt of [b, c]) {
        const members = await rt.channels.get(name).presence.get();
        assert.deepEqual(members.map((m) => [m.clientId, m.connectionId, m.data]), [['alice', a.connection.id, 'hello']]);
      }
      await a.channels.get(name).presence.update('bye');
      await a.channels.get(name).presence.leave();
      await waitFor(() => onB.length >= 3 && onC.length >= 3, 5000, 'the update and leave on B and C');
      await sleep(500); // nothing more comes
      assert.deepEqual(summary(onB), ['enter:alice:hello', 'update:alice:bye', 'leave:alice:bye']);
      assert.deepEqual(summary(onC), ['enter:alice:hello', 'update:alice:bye', 'leave:alice:bye']);
      assert.deepEqual(await b.channels.get(name).presence.get(), []);
      assert.deepEqual(await c.channels.get(name).presence.get(), []);
    });

    it('enterClient on A is seen on B; a node that attaches later (and one started later) syncs the members from Redis (RTP14, RTP18)', async () => {
      const name = randomId('pres-sync');
      const a = await realtime(cluster.nodes[0], fmt.binary);
      const ch = a.channels.get(name);
      await ch.presence.enterClient('x', 'one');
      await ch.presence.enterClient('y', 'two');
      // B attaches only now: its first attach reads the members from Redis
      const b = await realtime(cluster.nodes[1], fmt.binary);
      const members = await b.channels.get(name).presence.get();
      assert.deepEqual(members.map((m) => `${m.clientId}:${m.data}`).sort(), ['x:one', 'y:two']);
      assert.ok(members.every((m) => m.connectionId === a.connection.id));
      // a node started after the enters
      const late = await cluster.addNode({ args: NODE_ARGS });
      try {
        await waitForKey([late], app.keys[0].keyStr);
        const d = await realtime(late, fmt.binary);
        const seen = await d.channels.get(name).presence.get();
        assert.deepEqual(seen.map((m) => m.clientId).sort(), ['x', 'y']);
        const onD = await watch(d, name);
        await ch.presence.leaveClient('x');
        await waitFor(() => onD.length >= 1, 5000, 'the leave on the late node');
        await sleep(300);
        assert.deepEqual(summary(onD), ['leave:x:one']);
      } finally {
        for (const c of clients.splice(0)) await c.closeAll();
        await late.stop();
        cluster.nodes.splice(cluster.nodes.indexOf(late), 1);
      }
    });

    it('a client that closes on A leaves once on B, at once', async () => {
      const name = randomId('pres-close');
      const a = await realtime(cluster.nodes[0], fmt.binary, { clientId: 'carol' });
      const b = await realtime(cluster.nodes[1], fmt.binary);
      const onB = await watch(b, name);
      await a.channels.get(name).presence.enter();
      await waitFor(() => onB.length >= 1, 5000, 'the enter on B');
      a.close();
      await waitFor(() => onB.length >= 2, 5000, 'the leave on B');
      await sleep(500);
      assert.deepEqual(summary(onB), ['enter:carol:', 'leave:carol:']);
    });
  });
}

describe('presence across nodes: a node killed -9', () => {
  it('each member it held leaves once on every other node, after the grace and not before; a client resumed elsewhere keeps its member', { timeout: 90000 }, async () => {
    const name = randomId('pres-dead');
    const doomed = await cluster.addNode({ args: NODE_ARGS });
    const front = await TcpProxy.start(doomed.port); // the address the resuming client knows
    try {
      await waitForKey([doomed], app.keys[0].keyStr);
      const [w1, w2] = await Promise.all([realtime(cluster.nodes[0], true), realtime(cluster.nodes[1], false)]);
      const on1 = await watch(w1, name);
      const on2 = await watch(w2, name);
      const gone = await realtime(doomed, true); // two members, no way back
      await gone.channels.get(name).presence.enterClient('p', '1');
      await gone.channels.get(name).presence.enterClient('q', '2');
      const mover = await realtime(front, true, { clientId: 'mover' }); // resumes on node 1
      const own = [];
      await mover.channels.get(name).presence.subscribe('enter', (p) => own.push(p.clientId));
      await mover.channels.get(name).presence.enter('m');
      await waitFor(() => own.includes('mover'), 5000, 'the mover seeing its own enter');
      await waitFor(() => on1.length >= 3 && on2.length >= 3, 5000, 'three enters on each watcher');
      const id = mover.connection.id;

      gone.connection.on('disconnected', () => {}); // it retries a dead node: fine
      front.cut();
      await doomed.kill9();
      const killedAt = Date.now();
      front.targetPort = cluster.nodes[0].port;
      front.heal();
      await waitFor(() => mover.connection.state === 'connected' && mover.connection.id === id, 15000,
        'the mover resumed on node 1 with its connectionId');
      assert.equal(mover.connection.errorReason, null);

      // nothing leaves within the grace
      while (Date.now() - killedAt < GRACE_MS - 1500) {
        const left = [...on1, ...on2].filter((p) => p.action === 'leave');
        assert.deepEqual(summary(left), [], `no LEAVE ${Date.now() - killedAt} ms after the kill`);
        await sleep(200);
      }
      await waitFor(() => on1.filter((p) => p.action === 'leave').length >= 2 &&
        on2.filter((p) => p.action === 'leave').length >= 2, GRACE_MS + 10000 - (Date.now() - killedAt),
        'the LEAVEs of the dead node\'s members');
      const leftAt = Date.now() - killedAt;
      assert.ok(leftAt >= GRACE_MS - 1500, `left ${leftAt} ms after the kill`);
      await sleep(2500); // nothing more comes: one LEAVE each, none for the mover
      for (const got of [on1, on2]) {
        const after = summary(got.slice(3)).sort();
        assert.deepEqual(after.filter((s) => !s.startsWith('update:mover')), ['leave:p:1', 'leave:q:2']);
      }
      for (const rt of [w1, w2]) {
        const members = await rt.channels.get(name).presence.get();
        assert.deepEqual(members.map((m) => `${m.clientId}:${m.connectionId}`), [`mover:${id}`]);
      }
      // the mover leaves once, from its new node
      const before1 = on1.length;
      await mover.channels.get(name).presence.leave();
      await waitFor(() => on1.length > before1, 5000, 'the mover\'s leave');
      await sleep(300);
      assert.deepEqual(summary(on1.slice(before1)), ['leave:mover:m']);
    } finally {
      for (const c of clients.splice(0)) await c.closeAll();
      await front.close();
      cluster.nodes.splice(cluster.nodes.indexOf(doomed), 1);
      await doomed.stop();
    }
  });
});
