// ablyjs_peer.mjs: the ably-js 2.28.0 side of tests/sdk/test_rt_interop.c. A Realtime client
// (clientId js-peer) attached and subscribed to CHANNEL, driven line by line on stdin:
//   publish   -> publishes a text, a JSON object and a binary message; prints "published"
//   expect N  -> waits for N messages from other clients and prints one line each:
//                "got <name> <data> <clientId> <connectionId>" with data as str:<json string>,
//                json:<JSON text> or hex:<bytes>; then "done"
//   quit      -> closes and exits 0
// Prints "ready <connectionId>" once attached. Exits 3 after 20 s whatever happens, so the C
// test can never hang on it.
// Usage: node tests/sdk/ablyjs_peer.mjs PORT KEY CHANNEL BINARY(0|1)
import readline from 'node:readline';

import Ably from 'ably';

const [port, key, channelName, binary] = process.argv.slice(2);
setTimeout(() => {
  console.log('timeout');
  process.exit(3);
}, 20000).unref();

const rt = new Ably.Realtime({
  key,
  clientId: 'js-peer',
  endpoint: '127.0.0.1',
  port: Number(port),
  tls: false,
  useBinaryProtocol: binary === '1',
  logLevel: 0,
});
const ch = rt.channels.get(channelName);
const got = [];
let wake = () => {};
await ch.subscribe((m) => {
  if (m.clientId === 'js-peer') return;
  got.push(m);
  wake();
});
console.log(`ready ${rt.connection.id}`);

function show(data) {
  if (typeof data === 'string') return `str:${JSON.stringify(data)}`;
  if (Buffer.isBuffer(data) || data instanceof Uint8Array) return `hex:${Buffer.from(data).toString('hex')}`;
  return `json:${JSON.stringify(data)}`;
}

for await (const line of readline.createInterface({ input: process.stdin })) {
  const [cmd, arg] = line.trim().split(' ');
  if (cmd === 'publish') {
    await ch.publish('js-text', 'from ably-js \u00fc');
    await ch.publish('js-json', { a: 1, b: [true, 'x'] });
    await ch.publish('js-bin', Buffer.from([0, 1, 2, 255]));
    console.log('published');
  } else if (cmd === 'expect') {
    while (got.length < Number(arg)) await new Promise((resolve) => (wake = resolve));
    for (const m of got.splice(0, Number(arg))) console.log(`got ${m.name} ${show(m.data)} ${m.clientId} ${m.connectionId}`);
    console.log('done');
  } else if (cmd === 'quit') {
    rt.close();
    process.exit(0);
  }
}
