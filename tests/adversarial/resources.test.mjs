// Memory held for connections nobody reads (issue 11): detached connections (dropped without
// CLOSE, kept for resume) did not count toward --max-connections and each held up to
// --max-queue for connectionStateTtl: with --max-connections 100, 500 detached connections
// held 503 MB. Now they count (the oldest make room), all queues share a server-wide budget
// (--max-queue-total), and a discarded connection's resume is a new connection with 80008.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';

import { randomId } from '../interop/lib/helpers.mjs';
import { ACTION, RawPeer, boundedIt } from '../interop/lib/realtime.mjs';
import { provisionApp, rssMiB, startTarget, stopClean } from './lib/attack.mjs';

const it = boundedIt(120000);
// The sanitizer build keeps freed memory in quarantine: RSS says nothing there.
const MEASURE_RSS = !process.env.RTA_SANITIZED;

let server;
let app;
before(async () => {
  server = await startTarget({
    args: ['--max-connections', '100', '--max-queue', '1048576', '--max-queue-total', '33554432'],
  });
  app = await provisionApp(server);
});
after(async () => {
  await stopClean(server);
});

/** A raw connection with the app's key that attaches `channel`, then drops without CLOSE. */
async function attachAndDrop(channel) {
  const peer = await RawPeer.open(server, { key: app.keys[0].keyStr });
  const connected = await peer.waitAction(ACTION.CONNECTED);
  peer.send({ action: ACTION.ATTACH, channel });
  await peer.waitAction(ACTION.ATTACHED);
  peer.close(); // abrupt: the connection is kept detached, resumable
  return connected.connectionDetails.connectionKey;
}

async function publishBig(channel, count, size) {
  const data = 'x'.repeat(size);
  const auth = `Basic ${Buffer.from(app.keys[0].keyStr).toString('base64')}`;
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${server.baseUrl}/channels/${channel}/messages`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'big', data }),
    });
    await res.arrayBuffer();
    assert.ok(res.status < 300, `publish ${i}: ${res.status}`);
  }
}

describe('detached connections and the queue budget', () => {
  it('500 dropped connections on a busy channel stay within the connection limit and the budget', async () => {
    const channel = randomId('busy');
    const rss0 = rssMiB(server.proc.pid);
    const keys = [];
    for (let batch = 0; batch < 10; batch++) {
      keys.push(...(await Promise.all(Array.from({ length: 50 }, () => attachAndDrop(channel)))));
      await publishBig(channel, 2, 60000); // held for every detached connection on the channel
    }
    await publishBig(channel, 5, 60000);
    const rss1 = rssMiB(server.proc.pid);
    console.log(`# rtauthd RSS ${rss0.toFixed(1)} MiB -> ${rss1.toFixed(1)} MiB after 500 detached connections`);
    if (MEASURE_RSS) assert.ok(rss1 - rss0 < 120, `RSS grew by ${(rss1 - rss0).toFixed(1)} MiB`);

    // The oldest were discarded to make room: resuming one is a new connection with 80008.
    const old = await RawPeer.open(server, { key: app.keys[0].keyStr, resume: keys[0] });
    const c = await old.waitAction(ACTION.CONNECTED);
    assert.equal(c.error?.code, 80008, JSON.stringify(c.error));
    old.close();
    // The newest is still there: it resumes (same connectionId, no error).
    const last = keys.at(-1);
    const fresh = await RawPeer.open(server, { key: app.keys[0].keyStr, resume: last });
    const c2 = await fresh.waitAction(ACTION.CONNECTED);
    assert.equal(c2.error, undefined, JSON.stringify(c2.error));
    assert.equal(c2.connectionId, last.split('!')[0]);
    fresh.close();
  });

  it('live connections are still limited at --max-connections (40111)', async () => {
    const peers = [];
    try {
      for (let i = 0; i < 100; i++) {
        const p = await RawPeer.open(server, { key: app.keys[0].keyStr });
        await p.waitAction(ACTION.CONNECTED);
        peers.push(p);
      }
      const over = await RawPeer.open(server, { key: app.keys[0].keyStr });
      const d = await over.waitAction(ACTION.DISCONNECTED);
      assert.equal(d.error?.code, 40111);
      over.close();
    } finally {
      for (const p of peers) p.close();
    }
  });
});
