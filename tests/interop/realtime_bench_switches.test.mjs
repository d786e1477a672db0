// Two server behaviours the gateway benchmarks (scripts/bench-gateway) depend on:
//  - --unsafe-skip-capability-checks (RTAUTHD_UNSAFE_SKIP_CAPABILITY_CHECKS) is OFF by
//    default: a token without the publish capability is refused on ATTACH (40160, S-63) and
//    NACKed on publish (40160); only a server started with the switch grants both, and it
//    says so loudly at start;
//  - liveness (wire doc 2.5): a silent connection gets WebSocket pings (the gateway's sweep,
//    gateway/timers.c, replaced lws's per-connection validity timers), after 10 s of silence
//    (bench-scale, issue 19); one that asked for heartbeats=true (a browser) also a HEARTBEAT
//    message (RTN23b).
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';

import { restClient } from './lib/helpers.mjs';
import { ACTION, RawPeer, boundedIt } from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);
const ENV = 'RTAUTHD_UNSAFE_SKIP_CAPABILITY_CHECKS';

let normal, unsafe;

before(async () => {
  delete process.env[ENV];
  normal = await startServer();
  process.env[ENV] = '1'; // the spawned server inherits it
  try {
    unsafe = await startServer();
  } finally {
    delete process.env[ENV];
  }
});

after(async () => {
  if (normal) await normal.stop();
  if (unsafe) await unsafe.stop();
});

/** A raw connection with a token that may only subscribe on "sub:*". */
async function subscribeOnlyPeer(server, params = {}) {
  const app = await provisionApp(server, [{}]);
  const rest = restClient(server, { key: app.keys[0].keyStr });
  const td = await rest.auth.requestToken({ capability: { 'sub:*': ['subscribe'] } });
  const peer = await RawPeer.open(server, { access_token: td.token, ...params }, 'json');
  await peer.waitAction(ACTION.CONNECTED);
  return peer;
}

describe('benchmark switches', () => {
  it('capability checks are on by default: ATTACH and publish outside the capability -> 40160', async () => {
    const peer = await subscribeOnlyPeer(normal);
    try {
      peer.send({ action: ACTION.ATTACH, channel: 'other' });
      const err = await peer.waitAction(ACTION.ERROR, 5000, 0, (m) => m.channel === 'other');
      assert.equal(err.error.code, 40160);
      peer.send({ action: ACTION.MESSAGE, channel: 'sub:x', msgSerial: 0, messages: [{ data: 'hi' }] });
      const nack = await peer.waitAction(ACTION.NACK);
      assert.equal(nack.error.code, 40160);
      assert.doesNotMatch(normal.output, /unsafe-skip-capability-checks/);
    } finally {
      peer.close();
    }
  });

  it('--unsafe-skip-capability-checks grants what is asked and says so at start', async () => {
    const peer = await subscribeOnlyPeer(unsafe);
    try {
      peer.send({ action: ACTION.ATTACH, channel: 'other' });
      const att = await peer.waitAction(ACTION.ATTACHED, 5000, 0, (m) => m.channel === 'other');
      assert.ok(att.flags & (1 << 17), 'publish mode granted without the capability');
      peer.send({ action: ACTION.MESSAGE, channel: 'sub:x', msgSerial: 0, messages: [{ data: 'hi' }] });
      await peer.waitAction(ACTION.ACK);
      assert.match(unsafe.output, /WARNING: --unsafe-skip-capability-checks/);
    } finally {
      peer.close();
    }
  });

  it('a silent connection is pinged after about 10 s; heartbeats=true also gets HEARTBEAT (2.5, RTN23b)', async () => {
    const [node, browser] = await Promise.all([subscribeOnlyPeer(normal), subscribeOnlyPeer(normal, { heartbeats: 'true' })]);
    try {
      const pinged = (peer) => new Promise((resolve) => peer.ws.once('ping', () => resolve(Date.now())));
      const t0 = Date.now();
      let timer;
      const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve(null), 14000)));
      const [at, atB] = await Promise.all([node, browser].map((p) => Promise.race([pinged(p), timeout])));
      clearTimeout(timer);
      assert.ok(at && atB, 'no WebSocket ping within 14 s');
      assert.ok(at - t0 >= 8000, `pinged after ${at - t0} ms: only 10 s of silence should cause a ping`);
      // the browser's idle timer sees the HEARTBEAT; a Node client's the ping alone
      const hb = await browser.waitAction(ACTION.HEARTBEAT, 2000);
      assert.equal(hb.id, undefined, 'a server HEARTBEAT answers no connection.ping()');
      assert.ok(!node.frames.items.some((m) => m.action === ACTION.HEARTBEAT), 'heartbeats=false got a HEARTBEAT');
    } finally {
      node.close();
      browser.close();
    }
  });
});
