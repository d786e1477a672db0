// The gateway's tenant limits with ably-js 2.28.0 and raw WebSocket peers:
//   - connections per clientId within an app (--max-connections-per-client, default 100) and
//     per app (--max-connections-per-app, or the app's own cap from the sandbox's `limits` or
//     `rtauth app set-limits`): the next connection gets DISCONNECTED 40111 (statusCode 403)
//     naming the cap; other clientIds and other apps are unaffected; a closed connection frees
//     its place; a detached one keeps it until resumed or discarded; a resume and an in-band
//     AUTH never count twice;
//   - channels per connection (--max-channels-per-connection, default 1000): the next ATTACH
//     gets a channel ERROR 90010 (statusCode 400, Ably's "maximum number of channels per
//     connection") and the connection stays up.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, afterEach, before, describe } from 'node:test';
import { promisify } from 'node:util';

import { randomId, restClient } from './lib/helpers.mjs';
import {
  ACTION,
  Clients,
  RawPeer,
  assertReason,
  boundedIt,
  recordConnection,
  tokenCallback,
  waitConnection,
} from './lib/realtime.mjs';
import { BUILD_DIR, provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(60000);
const run = promisify(execFile);

let dflt; // default limits (the inbound rate lifted: the channel test attaches 1000 at once)
let tight; // --max-connections-per-app 4 --max-connections-per-client 2 --max-channels-per-connection 3

before(async () => {
  [dflt, tight] = await Promise.all([
    startServer({ args: ['--max-inbound-rate', '100000'] }),
    startServer({
      args: ['--max-connections-per-app', '4', '--max-connections-per-client', '2', '--max-channels-per-connection', '3'],
    }),
  ]);
});

after(async () => {
  await Promise.all([dflt, tight].filter(Boolean).map((s) => s.stop()));
});

/** POST /apps with one all-powerful key and, optionally, the app's own connection caps. */
async function sandboxApp(server, limits) {
  const res = await fetch(`${server.baseUrl}/apps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ keys: [{}], ...(limits ? { limits } : {}) }),
    signal: AbortSignal.timeout(10000),
  });
  const body = await res.json();
  return { status: res.status, body, key: body.keys?.[0]?.keyStr, appId: body.appId };
}

/** `rtauth ARGS --data-dir <server's>`: stdout, or throws with the exit status. */
async function cli(server, ...args) {
  const { stdout } = await run(path.join(BUILD_DIR, 'rtauth'), [...args, '--data-dir', server.dataDir]);
  return stdout;
}

describe('connection caps', () => {
  const peers = [];
  const clients = new Clients(null, true);
  afterEach(async () => {
    peers.splice(0).forEach((p) => p.close());
    await clients.closeAll();
  });

  async function open(server, params) {
    const p = await RawPeer.open(server, params);
    peers.push(p);
    return p;
  }
  async function connected(server, params) {
    const p = await open(server, params);
    const c = await p.waitAction(ACTION.CONNECTED);
    assert.equal(c.error, undefined, JSON.stringify(c.error));
    return { p, c };
  }
  /** Refused with DISCONNECTED 40111 whose message names `which`, then closed. */
  async function refused(server, params, which) {
    const p = await open(server, params);
    const f = await firstAnswer(p);
    assert.equal(f.action, ACTION.DISCONNECTED, `expected a refusal, got ${JSON.stringify(f)}`);
    assertReason(f.error, { code: 40111, statusCode: 403 }, 'cap');
    assert.match(f.error.message, new RegExp(`for this ${which} \\(\\d+\\)`));
    assert.notEqual(await p.waitClosed(), 'timeout');
  }
  /** The first CONNECTED or DISCONNECTED. */
  function firstAnswer(p) {
    return p.frames.waitFor((m) => m.action === ACTION.DISCONNECTED || m.action === ACTION.CONNECTED, 5000, 'answer');
  }
  /** CLOSE: the connection and its place go at once (a dropped transport would stay detached). */
  async function closeCleanly(p) {
    p.send({ action: ACTION.CLOSE });
    await p.waitClosed();
  }
  /** Retries `check` (true when done) for up to 5 s, closing what each try opened cleanly. */
  async function until(check, what) {
    const deadline = Date.now() + 5000;
    for (;;) {
      const ok = await check();
      if (ok) return;
      await Promise.all(peers.splice(0).map((p) => closeCleanly(p)));
      assert.ok(Date.now() < deadline, `${what}: not within 5 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  async function heartbeat(p) {
    const id = randomId('hb');
    p.send({ action: ACTION.HEARTBEAT, id });
    await p.waitAction(ACTION.HEARTBEAT, 5000, 0, (f) => f.id === id);
  }

  it('per clientId, 100 by default: the 101st is refused, other clientIds and anonymous ones are not', async () => {
    const { key } = await sandboxApp(dflt);
    const alices = [];
    for (let i = 0; i < 100; i++) alices.push((await connected(dflt, { key, clientId: 'alice' })).p);
    await refused(dflt, { key, clientId: 'alice' }, 'clientId');
    await connected(dflt, { key, clientId: 'bob' });
    await connected(dflt, { key });
    await heartbeat(alices[0]); // the ones in place stay
    await closeCleanly(alices[7]);
    await connected(dflt, { key, clientId: 'alice' }); // a closed one frees its place
  });

  it("per app, the app's own cap from the sandbox: the next is refused; other apps are unaffected", async () => {
    const capped = await sandboxApp(dflt, { maxConnections: 3 });
    assert.equal(capped.status, 201, JSON.stringify(capped.body));
    const other = await sandboxApp(dflt);
    for (let i = 0; i < 3; i++) await connected(dflt, { key: capped.key, clientId: `u${i}` });
    await refused(dflt, { key: capped.key }, 'app');
    await refused(dflt, { key: capped.key, clientId: 'someone-else' }, 'app');
    for (let i = 0; i < 5; i++) await connected(dflt, { key: other.key });
    // a sandbox app may tighten the server's caps, never loosen them
    const loose = await sandboxApp(dflt, { maxConnectionsPerClient: 101 });
    assert.equal(loose.status, 400);
    assert.equal(loose.body.error.code, 40003);
  });

  it('`rtauth app set-limits` overrides the caps of one running app; `default` restores them', async () => {
    const a = await sandboxApp(dflt);
    const b = await sandboxApp(dflt);
    const out = await cli(dflt, 'app', 'set-limits', a.appId, '--max-connections', '2', '--max-connections-per-client', '1', '--json');
    const set = JSON.parse(out);
    assert.deepEqual([set.appId, set.maxConnections, set.maxConnectionsPerClient], [a.appId, 2, 1]);
    // rtauthd reloads apps within a second of a change in the store: poll until it shows
    await until(async () => {
      const x1 = await connected(dflt, { key: a.key, clientId: 'x' });
      const answer = await firstAnswer(await open(dflt, { key: a.key, clientId: 'x' }));
      await closeCleanly(x1.p);
      return answer.action === ACTION.DISCONNECTED;
    }, 'set-limits applied');
    await connected(dflt, { key: a.key, clientId: 'x' });
    await refused(dflt, { key: a.key, clientId: 'x' }, 'clientId');
    await connected(dflt, { key: a.key, clientId: 'y' });
    await refused(dflt, { key: a.key }, 'app');
    for (let i = 0; i < 4; i++) await connected(dflt, { key: b.key, clientId: 'x' }); // b: the server's caps
    await cli(dflt, 'app', 'set-limits', a.appId, '--max-connections', 'default', '--max-connections-per-client', 'default');
    await until(async () => (await firstAnswer(await open(dflt, { key: a.key, clientId: 'x' }))).action === ACTION.CONNECTED, 'default restored');
    // an unknown app: 40400 and a non-zero exit
    await assert.rejects(cli(dflt, 'app', 'set-limits', 'no-such-app', '--max-connections', '5'), (e) => e.code === 1);
  });

  it('server flags: per clientId then per app; ably-js sees DISCONNECTED 40111 (statusCode 403)', async () => {
    const { key } = await sandboxApp(tight);
    const other = await sandboxApp(tight);
    await connected(tight, { key, clientId: 'x' });
    await connected(tight, { key, clientId: 'x' });
    await refused(tight, { key, clientId: 'x' }, 'clientId');
    await connected(tight, { key });
    const wildcard = await restClient(tight, { key }).auth.requestToken({ clientId: '*' });
    await connected(tight, { access_token: wildcard.token }); // clientId "*": the app's cap only
    await refused(tight, { key, clientId: 'y' }, 'app');
    for (let i = 0; i < 4; i++) await connected(tight, { key: other.key, clientId: `o${i % 2}` });
    // what an ably-js user sees: disconnected (it retries after disconnectedRetryTimeout)
    clients.server = tight;
    const rt = clients.realtime({ key, clientId: "late" });
    const conn = recordConnection(rt);
    await conn.waitFor((i) => i.current === 'disconnected', 10000, 'disconnected');
    assertReason(rt.connection.errorReason, { code: 40111, statusCode: 403 }, 'ably-js');
  });

  it('resume: never refused at the cap (the connection is already counted); a detached one keeps its place', async () => {
    const { key } = await sandboxApp(tight);
    const a = await connected(tight, { key, clientId: 'r' });
    await connected(tight, { key, clientId: 'r' });
    a.p.close(); // dropped without CLOSE: detached, resumable
    await a.p.waitClosed();
    await refused(tight, { key, clientId: 'r' }, 'clientId'); // a new one: the detached holds its place
    const back = await connected(tight, { key, clientId: 'r', resume: a.c.connectionDetails.connectionKey });
    assert.equal(back.c.connectionId, a.c.connectionId);
    await heartbeat(back.p);
    await refused(tight, { key, clientId: 'r' }, 'clientId'); // still 2, not 1 or 3
  });

  it('in-band AUTH (authorize()) keeps the counts exact', async () => {
    const { key } = await sandboxApp(tight);
    const rest = restClient(tight, { key });
    const mk = () => {
      clients.server = tight;
      const rt = clients.realtime({ authCallback: tokenCallback(rest, { override: { clientId: "z" } }) });
      return rt;
    };
    const r1 = mk();
    const r2 = mk();
    await Promise.all([waitConnection(r1, 'connected'), waitConnection(r2, 'connected')]);
    await r1.auth.authorize();
    await r1.auth.authorize();
    assert.equal(r1.connection.state, 'connected');
    await refused(tight, { key, clientId: 'z' }, 'clientId');
    r2.close();
    await waitConnection(r2, 'closed');
    await new Promise((r) => setTimeout(r, 200)); // CLOSE reaches the server
    await connected(tight, { key, clientId: 'z' });
    await refused(tight, { key, clientId: 'z' }, 'clientId');
  });
});

describe('channels per connection', () => {
  const peers = [];
  const clients = new Clients(null, true);
  afterEach(async () => {
    peers.splice(0).forEach((p) => p.close());
    await clients.closeAll();
  });

  it('1000 by default: the 1001st ATTACH is a channel ERROR 90010, the connection stays up', async () => {
    const { key } = await sandboxApp(dflt);
    const p = await RawPeer.open(dflt, { key });
    peers.push(p);
    await p.waitAction(ACTION.CONNECTED);
    const prefix = randomId('many');
    for (let i = 0; i < 1000; i++) p.send({ action: ACTION.ATTACH, channel: `${prefix}:${i}` });
    await p.frames.waitFor((f) => f.action === ACTION.ATTACHED && f.channel === `${prefix}:999`, 20000, 'attached 999');
    assert.equal(p.frames.items.filter((f) => f.action === ACTION.ATTACHED).length, 1000);
    p.send({ action: ACTION.ATTACH, channel: `${prefix}:extra` });
    const e = await p.waitAction(ACTION.ERROR, 5000);
    assert.equal(e.channel, `${prefix}:extra`);
    assertReason(e.error, { code: 90010, statusCode: 400 }, 'channel cap');
    assert.match(e.error.message, /\(1000\)/);
    p.send({ action: ACTION.HEARTBEAT, id: 'alive' });
    await p.waitAction(ACTION.HEARTBEAT, 5000, 0, (f) => f.id === 'alive');
    // re-attaching one it has is not a new one; a DETACH makes room
    const from = p.frames.items.length;
    p.send({ action: ACTION.ATTACH, channel: `${prefix}:5` });
    await p.waitAction(ACTION.ATTACHED, 5000, from, (f) => f.channel === `${prefix}:5`);
    p.send({ action: ACTION.DETACH, channel: `${prefix}:0` });
    await p.waitAction(ACTION.DETACHED, 5000, from);
    p.send({ action: ACTION.ATTACH, channel: `${prefix}:extra` });
    await p.waitAction(ACTION.ATTACHED, 5000, from, (f) => f.channel === `${prefix}:extra`);
  });

  it('ably-js: over --max-channels-per-connection attach() rejects with 90010, the channel fails, the connection stays', async () => {
    const { key } = await sandboxApp(tight);
    clients.server = tight;
    const rt = clients.realtime({ key });
    await waitConnection(rt, 'connected');
    for (let i = 0; i < 3; i++) await rt.channels.get(`c${i}`).attach();
    const ch = rt.channels.get('c3');
    await assert.rejects(ch.attach(), (e) => {
      assertReason(e, { code: 90010, statusCode: 400 }, 'attach c3');
      return true;
    });
    assert.equal(ch.state, 'failed');
    assert.equal(rt.connection.state, 'connected');
    await rt.channels.get('c0').detach();
    await rt.channels.get('c4').attach();
  });
});
