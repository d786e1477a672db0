// Connection resume across nodes (issue 14; RTN15, RTN16; gateway/adopt.c). In cluster mode a
// connectionKey is a MAC every node can verify for the credentials it was made for; a node
// that does not have the connection takes it over: CONNECTED with the same connectionId and no
// error. ably-js then re-attaches its channels with their channelSerials and gets what it
// missed from the shared stream (RTL4c1). The node that had the connection, if it still runs,
// hears the claim and drops its copy at once (the fence); its presence members move with the
// connection (presence across nodes): no LEAVE anywhere. A key whose MAC does not verify for the presented
// credentials (tampered, another clientId) is a new connection with 80008, as on one node.
// Real redis-server and rtauthd nodes; ably-js 2.28.0 in msgpack and JSON.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { FORMATS, randomId } from '../interop/lib/helpers.mjs';
import { Clients, boundedIt, recordConnection, waitConnection } from '../interop/lib/realtime.mjs';
import { useFronted } from './lib/cluster.mjs';

const it = boundedIt(60000);
const recoveryKey = (connectionKey) => JSON.stringify({ connectionKey, msgSerial: 0, channelSerials: {} });

let cluster;
let app;
let front; // the address the client knows: a TCP proxy to node A, then to node B
const clients = [];

useFronted({ clients, use: (f) => ({ cluster, app, front } = f) });

function client(server, binary, opts = {}) {
  const c = new Clients(server, binary);
  clients.push(c);
  return c.recorded({ key: app.keys[0].keyStr, disconnectedRetryTimeout: 300, ...opts });
}

async function connected(server, binary, opts = {}) {
  const { rt, conn } = client(server, binary, opts);
  await waitConnection(rt, 'connected');
  return { rt, conn };
}

async function waitFor(pred, ms, what) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Sends the client's next reconnect to node B (after `away` ran with it cut off). */
async function moveTo(rt, b, away) {
  front.cut();
  await away();
  await waitFor(() => rt.connection.state !== 'connected', 5000, 'the client to notice');
  front.targetPort = b.port;
  front.heal();
  await waitConnection(rt, 'connected', 15000);
}

for (const fmt of FORMATS) {
  describe(`connection resume across nodes (${fmt.name})`, () => {
    it('its node killed -9: the client resumes on another node, same connectionId, no error, no message lost', async () => {
      const { rt, conn } = await connected(front, fmt.binary, { clientId: 'ann' });
      const { rt: pub } = await connected(cluster.nodes[1], fmt.binary);
      const id = rt.connection.id;
      const name = randomId('resume');
      const got = [];
      await rt.channels.get(name).subscribe((m) => got.push(m.data));
      const pch = pub.channels.get(name);
      const want = [];
      const publish = async (from, to) => {
        for (let i = from; i < to; i++) want.push(`m${i}`);
        await Promise.all(want.slice(from).map((d) => pch.publish('seq', d)));
      };
      await publish(0, 5);
      await waitFor(() => got.length >= 5, 10000, 'the first messages');
      const mark = conn.items.length;
      await moveTo(rt, cluster.nodes[1], async () => {
        await cluster.nodes[0].kill9();
        await publish(5, 15); // acknowledged while it is away
      });
      assert.equal(rt.connection.id, id, 'the same connectionId (resumed, RTN15c6)');
      const back = conn.items.slice(mark).find((e) => e.current === 'connected');
      assert.equal(back.reason, undefined, `resumed without an error: ${back.summary}`);
      assert.equal(rt.connection.errorReason, null);
      await publish(15, 20);
      await waitFor(() => got.length >= 20, 10000, 'every message');
      await sleep(300);
      assert.deepEqual(got, want, 'every message once, in order');
      // the connection is usable on B: it publishes and gets its own message back
      const own = [];
      await rt.channels.get(`${name}-own`).subscribe((m) => own.push(m.connectionId));
      await rt.channels.get(`${name}-own`).publish('x', 'y');
      await waitFor(() => own.length === 1, 5000, 'its own message');
      assert.equal(own[0], id);
    });

    it('its node still up: the node it left drops it when it resumes elsewhere, and its presence member moves with it (no LEAVE)', async () => {
      const name = randomId('fence');
      const { rt } = await connected(front, fmt.binary, { clientId: 'bob' });
      const { rt: watcher } = await connected(cluster.nodes[0], fmt.binary); // on A
      const wch = watcher.channels.get(name);
      const events = [];
      await wch.presence.subscribe((p) => events.push(`${p.action}:${p.clientId}`));
      // ably-js re-enters (RTP17) only the members it has seen its own ENTER for: wait for it,
      // or a move right after the ACK could lose that echo and with it the re-enter
      const own = [];
      await rt.channels.get(name).presence.subscribe('enter', (p) => own.push(p.clientId));
      await rt.channels.get(name).presence.enter('here');
      await waitFor(() => events.includes('enter:bob'), 5000, 'the enter on A');
      await waitFor(() => own.includes('bob'), 5000, 'the client seeing its own enter');
      const id = rt.connection.id;
      await moveTo(rt, cluster.nodes[1], async () => {});
      assert.equal(rt.connection.id, id);
      assert.equal(rt.connection.errorReason, null);
      // presence across nodes: A drops the connection on the claim (the fence) but its member
      // is B's now, in every node's view: no LEAVE (at most an UPDATE if ably-js re-entered)
      const { rt: watcherB } = await connected(cluster.nodes[1], fmt.binary);
      const onB = watcherB.channels.get(name);
      let members = [];
      const t1 = Date.now();
      // (after its channel re-attached on B, which a busy sanitizer build can take seconds for)
      while (!members.length && Date.now() - t1 < 15000) {
        members = await onB.presence.get();
        if (!members.length) await sleep(50);
      }
      const diag = () => `client: ${rt.connection.state} ${rt.channels.get(name).state}; node B's log:\n${cluster.nodes[1].output.slice(-2000)}`;
      assert.deepEqual(members.map((m) => `${m.clientId}:${m.connectionId}`), [`bob:${id}`], members.length ? undefined : diag());
      await sleep(1000);
      assert.deepEqual(events.filter((e) => e !== 'update:bob'), ['enter:bob'], 'no LEAVE on A');
      assert.deepEqual((await wch.presence.get()).map((m) => `${m.clientId}:${m.connectionId}`), [`bob:${id}`]);
      // and it leaves once, from B
      await rt.channels.get(name).presence.leave();
      await waitFor(() => events.includes('leave:bob'), 5000, 'the leave on A');
      await sleep(300);
      assert.equal(events.filter((e) => e === 'leave:bob').length, 1);
    });

    it('a key that does not verify for the credentials is a new connection with 80008 (RTN15c7, RTN16l)', async () => {
      const { rt } = await connected(cluster.nodes[0], fmt.binary, { clientId: 'cat' });
      const key = rt.connection.key;
      assert.match(key, /^[A-Za-z0-9]{12}![0-9a-f]{8}[A-Za-z0-9_-]{22}$/, 'a cluster key');
      const last = key.at(-1) === 'A' ? 'B' : 'A';
      const tampered = key.slice(0, -1) + last;
      const other = [
        { clientId: 'cat', recover: recoveryKey(tampered) }, // a forged tag
        { clientId: 'dog', recover: recoveryKey(key) }, // another clientId
      ];
      for (const opts of other) {
        const { rt: r2 } = client(cluster.nodes[1], fmt.binary, opts);
        await waitConnection(r2, 'connected');
        assert.notEqual(r2.connection.id, rt.connection.id, JSON.stringify(opts));
        assert.equal(r2.connection.errorReason?.code, 80008, JSON.stringify(opts));
      }
      assert.equal(rt.connection.state, 'connected', 'the real one is untouched');
    });
  });
}
