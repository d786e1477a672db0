// ably-js 2.28.0's Realtime client against a running rtauthd, the node side of
// scripts/bench-realtime; bench/bench_realtime.c does exactly the same with librtauth:
//   connect HOST PORT KEY N  N times: new Realtime (key, Basic, JSON, autoConnect false), time
//                            from connect() to 'connected'; closed between samples. Median.
//   auth HOST PORT KEY N     one client connected with a token; N tokens requested beforehand
//                            (not timed); N times auth.authorize(null, {token}) (RSA10e), i.e.
//                            AUTH on the live connection until its CONNECTED reply. Median.
//   authkey HOST PORT KEY N  authorize() as a key client does it: a TokenRequest signed locally,
//                            POST /keys/{keyName}/requestToken, then AUTH on the live connection
//                            until its CONNECTED reply (RSA10, RTC8a); one warm-up call switches
//                            the Basic connection to token auth first. N times. Median.
//   memory HOST PORT KEY N   N idle clients connected at once in this process: RSS delta / N
//                            after 1 s of quiet and a full GC (run with --expose-gc).
//   rawauth HOST PORT KEY N  the floor, no SDK at all: a bare WebSocket ('ws') sends the same
//                            AUTH frame and waits for the CONNECTED reply; what the wire and
//                            rtauthd cost, which no client can go under. Median.
// Usage: node --expose-gc bench/ablyjs_realtime.mjs MODE HOST PORT KEY N
import { setTimeout as sleep } from 'node:timers/promises';

import Ably from 'ably';
import WebSocket from 'ws';

const [mode, host, port, key, nArg] = process.argv.slice(2);
const n = Math.max(1, Number(nArg));
const base = { endpoint: host, port: Number(port), tls: false, useBinaryProtocol: false, logLevel: 0 };
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// count tokens from the key over REST, requested before any timing starts
async function requestTokens(count) {
  const rest = new Ably.Rest({ ...base, key });
  const tokens = [];
  for (let i = 0; i < count; i++) tokens.push((await rest.auth.requestToken()).token);
  return tokens;
}

function connected(rt) {
  if (rt.connection.state === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    rt.connection.on((c) => {
      if (c.current === 'connected') resolve();
      if (c.current === 'failed') reject(c.reason);
    });
  });
}

async function closeAll(rts) {
  await Promise.all(
    rts.map((rt) => {
      rt.close();
      return rt.connection.state === 'closed' ? null : rt.connection.once('closed');
    }),
  );
}

if (mode === 'connect') {
  const v = [];
  for (let i = 0; i < n; i++) {
    const rt = new Ably.Realtime({ ...base, key, autoConnect: false });
    const t0 = performance.now();
    rt.connect();
    await connected(rt);
    v.push(performance.now() - t0);
    await closeAll([rt]);
  }
  console.log(`ablyjs_connect_ms ${median(v).toFixed(3)}`);
} else if (mode === 'auth') {
  const tokens = await requestTokens(n + 1);
  const rt = new Ably.Realtime({ ...base, token: tokens[0] });
  await connected(rt);
  const v = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await rt.auth.authorize(null, { token: tokens[i + 1] });
    v.push(performance.now() - t0);
  }
  console.log(`ablyjs_auth_ms ${median(v).toFixed(3)}`);
  await closeAll([rt]);
} else if (mode === 'authkey') {
  const rt = new Ably.Realtime({ ...base, key });
  await connected(rt);
  await rt.auth.authorize();
  const v = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await rt.auth.authorize();
    v.push(performance.now() - t0);
  }
  console.log(`ablyjs_authkey_ms ${median(v).toFixed(3)}`);
  await closeAll([rt]);
} else if (mode === 'rawauth') {
  const tokens = await requestTokens(n + 1);
  const q = new URLSearchParams({ v: '6', format: 'json', heartbeats: 'false', access_token: tokens[0] });
  const ws = new WebSocket(`ws://${host}:${port}/?${q}`);
  let next = null;
  ws.on('message', (d) => {
    if (JSON.parse(String(d)).action === 4 && next) next();
  });
  await new Promise((resolve) => (next = resolve));
  const v = [];
  for (let i = 0; i < n; i++) {
    const frame = JSON.stringify({ action: 17, auth: { accessToken: tokens[i + 1] } });
    const t0 = performance.now();
    await new Promise((resolve) => {
      next = resolve;
      ws.send(frame);
    });
    v.push(performance.now() - t0);
  }
  console.log(`rawws_auth_ms ${median(v).toFixed(3)}`);
  ws.close();
} else if (mode === 'memory') {
  const warm = new Ably.Realtime({ ...base, key });
  await connected(warm);
  await sleep(200);
  global.gc();
  const before = process.memoryUsage().rss;
  const rts = Array.from({ length: n }, () => new Ably.Realtime({ ...base, key }));
  await Promise.all(rts.map(connected));
  await sleep(1000);
  global.gc();
  const after = process.memoryUsage().rss;
  console.log(`ablyjs_idle_conn_kib ${((after - before) / 1024 / n).toFixed(1)}`);
  await closeAll([...rts, warm]);
}
process.exit(0);
