// A bounded soak of hostile realtime traffic (issue 11): for RTA_SOAK_SECONDS (default 40),
// 16 workers open connections and misbehave: abrupt disconnects at every stage (mid-upgrade,
// after CONNECTED, mid-attach, mid-publish), malformed protocol messages (invalid JSON and
// msgpack, wrong types, unknown actions), malformed WebSocket frames written by hand
// (reserved opcodes and bits, oversized control frames, lengths that lie, fragments that
// never end), and HTTP garbage. scripts/test runs it against the ASan+UBSan build: any memory
// error, leak or undefined behaviour fails it, and so does a server that stops answering or
// does not exit cleanly. Afterwards ably-js must still connect, publish and receive.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe } from 'node:test';

import { randomId } from '../interop/lib/helpers.mjs';
import { Clients, RawPeer, boundedIt, recordMessages, waitConnection } from '../interop/lib/realtime.mjs';
import { msgpack } from '../interop/lib/helpers.mjs';
import { assertResponsive, connect, provisionApp, startTarget, stopClean } from './lib/attack.mjs';

const SECONDS = Number(process.env.RTA_SOAK_SECONDS ?? 40);
const WORKERS = 16;
const it = boundedIt((SECONDS + 60) * 1000);

let server;
let app;
before(async () => {
  server = await startTarget({ args: ['--connection-state-ttl', '2000', '--max-frame-size', '65536'] });
  app = await provisionApp(server);
});
after(async () => {
  await stopClean(server);
});

const pick = (xs) => xs[crypto.randomInt(xs.length)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One WebSocket frame as a client writes it (masked unless told otherwise). */
function frame(opcode, payload, { fin = true, mask = true, rsv = 0, lieLength = null } = {}) {
  const len = lieLength ?? payload.length;
  const head = [((fin ? 0x80 : 0) | (rsv << 4) | opcode) & 0xff];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
  else head.push(m | 127, 0, 0, 0, 0, (len >>> 24) & 0xff, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff);
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = crypto.randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i % 4]));
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** A raw socket upgraded to WebSocket by hand (or abandoned mid-handshake). */
async function rawUpgrade(query, { abandon = false } = {}) {
  const sock = await connect(server);
  sock.on('error', () => {});
  const req = `GET /?${query} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  if (abandon) {
    sock.write(req.slice(0, crypto.randomInt(req.length)));
    sock.destroy();
    return null;
  }
  sock.write(req);
  const ok = await new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), 2000);
    sock.once('data', (d) => {
      clearTimeout(t);
      resolve(d.toString('latin1').startsWith('HTTP/1.1 101'));
    });
    sock.once('close', () => resolve(false));
  });
  if (!ok) sock.destroy();
  return ok ? sock : null;
}

const keyQuery = () => new URLSearchParams({ key: app.keys[0].keyStr, format: pick(['json', 'msgpack']), v: '6', heartbeats: 'false' }).toString();

const MALFORMED_MESSAGES = [
  () => Buffer.from('{not json'),
  () => Buffer.from('[]'),
  () => Buffer.from('{"action":"ten"}'),
  () => Buffer.from('{"action":10,"channel":12345}'),
  () => Buffer.from('{"action":15,"channel":"c","messages":{"a":1}}'),
  () => Buffer.from('{"action":17,"auth":{"accessToken":12}}'),
  () => Buffer.from('{"action":99}'),
  () => Buffer.from(JSON.stringify({ action: 14, channel: 'c', presence: [{ action: 9, data: 'x'.repeat(70000) }] })),
  () => crypto.randomBytes(crypto.randomInt(1, 300)),
  () => Buffer.from(msgpack.encode({ action: 15, channel: 'c', messages: [{ data: Buffer.alloc(10) }] })),
  () => Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]), // msgpack map claiming 4G entries
  () => Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), // msgpack array claiming 4G entries
  () => Buffer.from('\xff\xfe invalid utf-8 \xc3\x28', 'latin1'),
];

const ATTACKS = {
  // ws library (well-formed framing), then misbehave at some stage
  async abruptAtStage() {
    const peer = await RawPeer.open(server, { key: app.keys[0].keyStr }, pick(['json', 'msgpack'])).catch(() => null);
    if (!peer) return;
    const stage = crypto.randomInt(4);
    if (stage > 0) await peer.waitAction(4, 2000).catch(() => {});
    if (stage > 1) peer.send({ action: 10, channel: randomId('soak') });
    if (stage > 2) peer.send({ action: 15, channel: 'soak', msgSerial: 0, messages: [{ name: 'n', data: 'd' }] });
    await sleep(crypto.randomInt(20));
    peer.close();
  },
  async malformedMessage() {
    const sock = await rawUpgrade(keyQuery());
    if (!sock) return;
    for (let i = 0; i < 3; i++) sock.write(frame(pick([1, 2]), pick(MALFORMED_MESSAGES)()));
    await sleep(crypto.randomInt(50));
    sock.destroy();
  },
  async malformedFrame() {
    const sock = await rawUpgrade(keyQuery());
    if (!sock) return;
    const p = Buffer.from('{"action":0}');
    sock.write(pick([
      () => frame(3, p), // reserved opcode
      () => frame(1, p, { rsv: 4 }), // reserved bit
      () => frame(9, Buffer.alloc(200)), // control frame over 125 bytes
      () => frame(8, Buffer.from([0x03])), // close with a 1-byte payload
      () => frame(1, p, { fin: false }), // a fragment that never ends...
      () => Buffer.concat([frame(1, p, { fin: false }), frame(1, p)]), // ...or a new message inside it
      () => frame(0, p), // continuation of nothing
      () => frame(1, p, { lieLength: 70000 }), // length that lies
      () => frame(2, Buffer.alloc(0), { lieLength: 2 ** 31 }), // a 2 GiB promise
      () => crypto.randomBytes(64),
    ])());
    await sleep(crypto.randomInt(100));
    sock.destroy();
  },
  async abandonedUpgrade() {
    await rawUpgrade(keyQuery(), { abandon: true });
  },
  async httpGarbage() {
    const sock = await connect(server).catch(() => null);
    if (!sock) return;
    sock.on('error', () => {});
    sock.write(pick([
      () => crypto.randomBytes(crypto.randomInt(1, 4000)),
      () => Buffer.from(`GET /${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`),
      () => Buffer.from(`POST /keys/a.b/requestToken HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n{`),
      () => Buffer.from(`GET /time HTTP/1.1\r\n${'X-Long: y\r\n'.repeat(2000)}\r\n`),
    ])());
    await sleep(crypto.randomInt(50));
    sock.destroy();
  },
};

describe(`soak: ${SECONDS} s of abrupt disconnects and malformed frames`, () => {
  it('the server survives, stays correct and leaks nothing', async () => {
    const names = Object.keys(ATTACKS);
    const counts = Object.fromEntries(names.map((n) => [n, 0]));
    const deadline = Date.now() + SECONDS * 1000;
    await Promise.all(Array.from({ length: WORKERS }, async () => {
      while (Date.now() < deadline) {
        const name = pick(names);
        counts[name]++;
        await ATTACKS[name]().catch(() => {});
      }
    }));
    console.log(`# soak attacks: ${JSON.stringify(counts)}`);
    assert.equal(server.exited, null, `rtauthd died: ${server.output}`);
    await assertResponsive(server, 3000, 'after the soak');
    // a well-behaved client still gets full service
    const clients = new Clients(server, false);
    try {
      const rt = clients.realtime({ key: app.keys[0].keyStr });
      await waitConnection(rt, 'connected');
      const ch = rt.channels.get(randomId('after-soak'));
      const got = await recordMessages(ch);
      await ch.publish('hello', 'world');
      await got.waitFor((m) => m.data === 'world', 5000, 'message after the soak');
    } finally {
      await clients.closeAll();
    }
  });
});
