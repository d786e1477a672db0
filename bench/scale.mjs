// bench/scale.mjs: `make bench-scale` (issue 19): 100,000 token-authenticated WebSocket
// connections on one machine against `rtauthd --workers W` on Redis, opened by G generator
// processes (bench_gateway scale, bench/gwbench_scale.c) each bound to its own 127.0.0.x
// source address. Phases, each timed by the processes that see the event (they all read
// CLOCK_MONOTONIC, as process.hrtime does here):
//   1. connect storm: every generator opens its share at once; a prober (bench_gateway
//      timeprobe) times GET /time on a fresh TCP connection every 10 ms meanwhile;
//   2. hold for RTA_SCALE_HOLD_S (60) seconds, then count who is still connected, and the
//      memory: rtauthd's RSS (supervisor and workers) and the kernel's (/proc/net/sockstat,
//      /proc/slabinfo);
//   3. in-band AUTH round trips at that load, timed by a generator of its own at normal
//      priority (as the prober: a latency probe should not wait for a core behind the load);
//   4. three revocations, each matching 10% of the connections (10,000 of 100,000), spread
//      over every generator and worker: by clientId and by revocationKey (Ably JWTs), one
//      request sent by the prober, by token (100 per request, each generator revoking its
//      own, 4 requests in flight each); between rounds the revoked connections come back with
//      fresh tokens, so every round starts at full strength; before them, the floor: the
//      same number of frames of a DISCONNECTED's size over bare loopback sockets, one per
//      connection (bench_gateway floor), the least CPU the rounds could take on this machine;
//   5. slow consumers: 10% of the connections attach a channel and stop reading while a
//      REST publisher keeps publishing to it; peak RSS, and how many were dropped;
//   6. every connection closes; RSS against its value before the storm.
// Prints how each figure was measured, then `BENCH scale_* <value> <unit>` lines.
// Environment: RTA_BUILD_DIR (build), RTA_SCALE_CONNS (100000), RTA_SCALE_WORKERS (6),
// RTA_SCALE_GENERATORS (6), RTA_SCALE_HOLD_S (60), RTA_SCALE_AUTH_SAMPLES (4000),
// RTA_SCALE_SLOW_S (20), RTA_SCALE_SLOW_RATE (20 msg/s), RTA_SCALE_SLOW_SIZE (16384 bytes);
// RTA_SCALE_PERF=DIR: a system-wide `perf record -g` of the storm, the AUTH phase, each
// revocation round and the close, into DIR/<phase>.data (read with `perf report -i`), to see where their time goes
// (RTA_SCALE_PERF_CALLGRAPH=dwarf for stacks through code without frame pointers: libc, rtauthd;
// RTA_SCALE_PERF_PHASES=storm,auth,revoke-clientId,revoke-revocationKey,revoke-token,close: only those);
// RTA_SCALE_LOG=FILE: rtauthd logs at level info into FILE; RTA_SCALE_ROUNDS: the revocation
// rounds to run (clientId,revocationKey,token); RTA_SCALE_PAUSE_S=N: wait N s after the close,
// every process still running, to inspect rtauthd's workers (their pids are printed).
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const env = (name, def) => Number(process.env[name] ?? def);
const BUILD = resolve(process.env.RTA_BUILD_DIR ?? 'build');
const CONNS = env('RTA_SCALE_CONNS', 100000);
// 6 of each: the fewest that keep every process under this machine's 20,000 descriptors with
// room for SO_REUSEPORT's uneven spread (100,000 / 6 = 16,667 each; the limit less lws's
// reserve is 17,936); more processes would only add context switches on 2 cores.
const WORKERS = env('RTA_SCALE_WORKERS', 6);
const GENS = env('RTA_SCALE_GENERATORS', 6);
const HOLD_S = env('RTA_SCALE_HOLD_S', 60);
const AUTH_SAMPLES = env('RTA_SCALE_AUTH_SAMPLES', 4000);
const AUTH_IN_FLIGHT = 12;
// the AUTH prober's connections: 70% of them are plain (the other 30% are the revocation
// sets), and each sample takes a distinct plain connection
const AUTH_CONNS = Math.ceil(AUTH_SAMPLES / 0.65);
const SLOW_S = env('RTA_SCALE_SLOW_S', 20);
const SLOW_RATE = env('RTA_SCALE_SLOW_RATE', 20);
const SLOW_SIZE = env('RTA_SCALE_SLOW_SIZE', 16384);
const REVOKE = Math.round(CONNS / 10);
// rtauthd's DISCONNECTED 40141 as it goes on the wire: 120 bytes of JSON
// ({"action":6,"error":{"message":"Token revoked","code":40141,...,"href":...}}) behind a
// 2-byte WebSocket header
const FLOOR_BYTES = 122;
const MAX_QUEUE = 262144; // per connection: a slow consumer is dropped past this
const MAX_QUEUE_TOTAL = 64 * 1024 * 1024; // per worker, all connections together
const KEPT_MS = 10000;
const SRC_PER_GEN = 4;

const ROUNDS = (process.env.RTA_SCALE_ROUNDS ?? 'clientId,revocationKey,token').split(',');
if (ROUNDS.some((r) => !['clientId', 'revocationKey', 'token'].includes(r))) throw new Error(`RTA_SCALE_ROUNDS: ${ROUNDS}`);
const PERF_DIR = process.env.RTA_SCALE_PERF;
const LOG_FILE = process.env.RTA_SCALE_LOG; // rtauthd's log at level info, appended there
const PAUSE_S = env('RTA_SCALE_PAUSE_S', 0); // after the close, before the teardown
// perf record over fn(), when asked for: its own process group, stopped with SIGINT (perf
// then writes its file).
const PERF_PHASES = process.env.RTA_SCALE_PERF_PHASES?.split(','); // e.g. revoke-token: only those
async function profiled(phase, fn) {
  if (!PERF_DIR || (PERF_PHASES && !PERF_PHASES.includes(phase))) return fn();
  mkdirSync(PERF_DIR, { recursive: true });
  const graph = process.env.RTA_SCALE_PERF_CALLGRAPH; // e.g. dwarf: stacks through code built without frame pointers
  const perf = spawn('perf', ['record', '-a', ...(graph ? ['--call-graph', graph] : ['-g']), '-q', '-o', join(PERF_DIR, `${phase}.data`)], { stdio: 'ignore' });
  await sleep(500);
  try {
    return await fn();
  } finally {
    const done = new Promise((ok) => perf.once('exit', ok));
    perf.kill('SIGINT');
    await done;
  }
}
const nowMs = () => Number(process.hrtime.bigint()) / 1e6; // CLOCK_MONOTONIC, as the C side
const children = [];
const work = mkdtempSync(join(tmpdir(), 'rta-scale-'));
// SIGTERM first: rtauthd's supervisor passes it on (and a worker stops when its supervisor
// dies: PR_SET_PDEATHSIG), the generators and Redis stop at once; SIGKILL what is left.
async function shutdown() {
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  const exited = running.map((c) => new Promise((ok) => c.once('exit', ok)));
  for (const c of running) try { c.kill('SIGTERM'); } catch { /* gone */ }
  await Promise.race([Promise.all(exited), sleep(5000)]);
  cleanup();
}
function cleanup() {
  for (const c of children) try { c.kill('SIGKILL'); } catch { /* gone */ }
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143)); // 'exit' then kills the children

function freePort() {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

// A child speaking lines on stdout: next(prefix) resolves with the next line starting so.
function lineChild(name, cmd, args, opts = {}) {
  const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  children.push(p);
  const lines = [], waiters = [];
  let buf = '', errTail = '';
  p.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1);
      const w = waiters.findIndex((x) => line.startsWith(x.prefix));
      if (w >= 0) waiters.splice(w, 1)[0].ok(line); else lines.push(line);
    }
  });
  p.stderr.on('data', (d) => { errTail = (errTail + d).slice(-4000); });
  p.on('exit', (code) => {
    for (const w of waiters.splice(0)) w.fail(new Error(`${name} exited (${code}): ${errTail}`));
  });
  return {
    proc: p,
    send: (l) => p.stdin.write(l + '\n'),
    next(prefix, timeoutMs = 900000) {
      const i = lines.findIndex((l) => l.startsWith(prefix));
      if (i >= 0) return Promise.resolve(lines.splice(i, 1)[0]);
      return new Promise((ok, fail) => {
        const t = setTimeout(() => fail(new Error(`${name}: no ${prefix} in ${timeoutMs} ms: ${errTail}`)), timeoutMs);
        waiters.push({ prefix, ok: (l) => { clearTimeout(t); ok(l); }, fail });
      });
    },
    stderr: () => errTail,
  };
}

// rtauthd's memory: the supervisor and its workers.
function rtauthdPids(sup) {
  let kids = [];
  try { kids = readFileSync(`/proc/${sup}/task/${sup}/children`, 'utf8').trim().split(/\s+/).filter(Boolean); } catch { /* gone */ }
  return [sup, ...kids.map(Number)];
}
function rssKib(pids) {
  return memKib(pids).rss;
}
// The same, by kind (kiB, summed over the processes): VmRSS counts a page shared by the
// supervisor and its workers (the binary's and libraries' code, copy-on-write data from
// before the fork) once in every process; Pss divides each shared page among its sharers,
// so its sum is what the processes occupy together.
// The largest rtauthd_revocation_index_{records,bytes} of 12 scrapes on fresh connections.
async function revocationIndex(port) {
  const out = { records: 0, bytes: 0 };
  for (let i = 0; i < 12; i++) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: 'close' } })).text();
    const v = (name) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    out.records = Math.max(out.records, v('rtauthd_revocation_index_records'));
    out.bytes = Math.max(out.bytes, v('rtauthd_revocation_index_bytes'));
  }
  return out;
}

function memKib(pids) {
  const sum = { rss: 0, anon: 0, file: 0, pss: 0 };
  for (const pid of pids) {
    try {
      const st = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (re) => Number(re.exec(st)?.[1] ?? 0);
      sum.rss += kb(/VmRSS:\s+(\d+)/);
      sum.anon += kb(/RssAnon:\s+(\d+)/);
      sum.file += kb(/RssFile:\s+(\d+)/);
      sum.pss += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch { /* gone */ }
  }
  return sum;
}
// CPU time (ms) of the processes, every thread (/proc/PID/task/TID/schedstat: ns on a CPU).
function cpuMs(pids) {
  let ns = 0;
  for (const pid of pids) {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`))
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch { /* gone */ }
  }
  return ns / 1e6;
}
const memStr = (m) => `VmRSS ${(m.rss / 1024).toFixed(1)} MiB (anonymous ${(m.anon / 1024).toFixed(1)}, file ${(m.file / 1024).toFixed(1)}), Pss ${(m.pss / 1024).toFixed(1)} MiB`;

// Kernel memory of TCP sockets: buffer pages (sockstat) and the slab objects a socket holds.
const SLABS = ['TCP', 'sock_inode_cache', 'filp', 'eventpoll_epi', 'eventpoll_pwq'];
function kernelBytes() {
  const ss = readFileSync('/proc/net/sockstat', 'utf8');
  const pages = Number(/TCP:.* mem (\d+)/.exec(ss)[1]);
  let slab = 0;
  try {
    for (const line of readFileSync('/proc/slabinfo', 'utf8').split('\n')) {
      const f = line.split(/\s+/);
      if (SLABS.includes(f[0])) slab += Number(f[1]) * Number(f[3]);
    }
  } catch { /* not readable: buffers only */ }
  return { buffers: pages * 4096, slab };
}
const pct = (v, p) => { const s = [...v].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.round(p * (s.length - 1)))] : 0; };
const all = (gens, f) => Promise.all(gens.map(f));
const kib = (b) => (b / 1024).toFixed(2);

async function main() {
  const bench = join(BUILD, 'bench_gateway');
  const rport = await freePort(), port = await freePort();
  mkdirSync(join(work, 'redis'));
  const redis = spawn('redis-server', ['--port', String(rport), '--bind', '127.0.0.1', '--dir', join(work, 'redis'),
    '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction',
    '--loglevel', 'warning'], { stdio: 'ignore' });
  children.push(redis);
  for (let i = 0; i < 100; i++) {
    try { execFileSync('redis-cli', ['-p', String(rport), 'ping'], { stdio: 'pipe' }); break; } catch { await sleep(100); }
  }
  const rtauthdArgs = ['--listen', `127.0.0.1:${port}`, '--redis', `redis://127.0.0.1:${rport}`, '--node-id', 'scale',
    '--workers', String(WORKERS), '--sandbox', '--log-level', LOG_FILE ? 'info' : 'error', '--max-connections-per-client', '0',
    '--max-queue', String(MAX_QUEUE), '--max-queue-total', String(MAX_QUEUE_TOTAL),
    // Kept by design after the connections close: channel history (--history-max-age, 2 min
    // by default) and the revoked connections, detached for a resume with a new token
    // (--connection-state-ttl, 2 min, RTN15h). 10 s each here, and RSS is read 15 s after the
    // last close: what is left then is what the connections left behind.
    '--history-max-age', String(KEPT_MS), '--connection-state-ttl', String(KEPT_MS)];
  const server = spawn(join(BUILD, 'rtauthd'), rtauthdArgs, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(server);
  let serverErr = '';
  server.stderr.on('data', (d) => { serverErr = (serverErr + d).slice(-4000); if (LOG_FILE) appendFileSync(LOG_FILE, d); });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/ready`)).ok) break; } catch { /* not yet */ }
    if (i > 300) throw new Error(`rtauthd not ready: ${serverErr}`);
    await sleep(100);
  }
  const app = await (await fetch(`${base}/apps`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ keys: [{ revocableTokens: true }] }) })).json();
  const key = app.keys[0].keyStr;
  await sleep(1500); // every worker hears of the key within a second
  const pids = rtauthdPids(server.pid);
  if (pids.length !== WORKERS + 1) throw new Error(`expected ${WORKERS} workers, found ${pids.length - 1}`);

  // Generators: each its share, source addresses of its own (SRC_PER_GEN, in turn: one
  // address has ~28,000 ephemeral ports, and bind() searches longer as they fill up), a
  // tenth of its share per revocation set. GENS of them at a lower priority hold the load: on
  // a real deployment the clients are other machines; here they share the 2 cores, and the
  // server's latencies should not wait behind their work. One more, at normal priority, holds
  // AUTH_CONNS of the connections and times the AUTH round trips, as the /time prober does
  // for HTTP: a probe waiting for a core behind 100,000 clients' pongs would time itself.
  const srcs = (g) => Array.from({ length: SRC_PER_GEN }, (_, k) => `127.0.0.${10 + g * SRC_PER_GEN + k}`).join(',');
  const gens = [];
  const bulk = CONNS - AUTH_CONNS;
  for (let g = 0; g <= GENS; g++) {
    const prober = g === GENS;
    const n = prober ? AUTH_CONNS : Math.floor(bulk / GENS) + (g < bulk % GENS ? 1 : 0);
    const args = [bench, 'scale', '127.0.0.1', String(port), key, '--conns', String(n),
      '--id', String(g), '--src', srcs(g), '--revoke', String(Math.round(n / 10)), '--handshakes', '128'];
    gens.push(prober ? lineChild('AUTH prober', args[0], args.slice(1)) : lineChild(`generator ${g}`, 'nice', ['-n', '10', ...args]));
  }
  const authProber = gens[GENS];
  const minted = await all(gens, (g) => g.next('MINTED'));
  console.log(`tokens: ${CONNS} minted by ${GENS + 1} generators in ${Math.max(...minted.map((l) => Number(l.split(' ')[1])))} s (not timed)`);
  await sleep(2000);
  const memStart = memKib(pids), rssStart = memStart.rss, kStart = kernelBytes();

  // 1. the storm, with GET /time probed on fresh connections
  const probe = lineChild('timeprobe', bench, ['timeprobe', '127.0.0.1', String(port), '--interval-ms', '10']);
  await probe.next('PROBING');
  const stormCpu0 = cpuMs(pids);
  for (const g of gens) g.send('connect');
  const t0 = Date.now();
  const progress = setInterval(() => {
    const est = Number(/TCP:.* inuse (\d+)/.exec(readFileSync('/proc/net/sockstat', 'utf8'))[1]);
    console.log(`  storm: ${Math.round((Date.now() - t0) / 1000)} s, ${est} TCP sockets in use (both ends)`);
  }, 10000);
  const conn = (await profiled('storm', () => all(gens, (g) => g.next('CONNECTED')))).map((l) => l.split(' ').slice(1).map(Number));
  const stormCpu = cpuMs(pids) - stormCpu0;
  clearInterval(progress);
  probe.send('stop');
  const [, probes, probeFailed, p50t, p99t, maxt] = (await probe.next('TIMEPROBE')).split(' ').map(Number);
  const connected = conn.reduce((s, c) => s + c[0], 0), failed = conn.reduce((s, c) => s + c[1] + c[2], 0);
  const retried = conn.reduce((s, c) => s + c[5], 0);
  const stormS = (Math.max(...conn.map((c) => c[4])) - Math.min(...conn.map((c) => c[3]))) / 1000;
  console.log(`storm: ${connected} of ${CONNS} CONNECTED in ${stormS.toFixed(1)} s (${Math.round(connected / stormS)} conn/s), ${failed} failed or closed ` +
    `(${retried} lost by the generators' libwebsockets without a callback and started again); ` +
    `GET /time on a fresh connection every 10 ms meanwhile: ${probes} answered, ${probeFailed} failed, p50 ${p50t} ms, p99 ${p99t} ms, max ${maxt} ms; ` +
    `rtauthd CPU ${(stormCpu / 1000).toFixed(1)} s (${(stormCpu * 1000 / CONNS).toFixed(0)} us per connection)`);
  if (connected !== CONNS) throw new Error(`only ${connected} of ${CONNS} connected: ${gens.map((g) => g.stderr()).join('')}`);

  // 2. hold
  let rssPeak = 0;
  for (let t = 0; t < HOLD_S; t += 5) { await sleep(5000); rssPeak = Math.max(rssPeak, rssKib(pids)); }
  const status = async () => (await all(gens, async (g) => { g.send('status'); return g.next('STATUS'); }))
    .map((l) => Object.fromEntries(l.split(' ').slice(1).map((kv) => kv.split('=').map((x, i) => (i ? Number(x) : x)))))
    .reduce((s, o) => { for (const k in o) s[k] = (s[k] ?? 0) + o[k]; return s; }, {});
  const held = await status();
  const rssHeld = rssKib(pids), kHeld = kernelBytes();
  const perConn = rssHeld / held.connected;
  const kBuf = (kHeld.buffers - kStart.buffers) / held.connected / 2, kSlab = (kHeld.slab - kStart.slab) / held.connected / 2;
  console.log(`hold: ${held.connected} of ${CONNS} still connected after ${HOLD_S} s`);
  console.log(`memory: rtauthd (supervisor + ${WORKERS} workers) VmRSS ${(rssStart / 1024).toFixed(1)} MiB before the storm, ` +
    `${(rssHeld / 1024).toFixed(1)} MiB holding (peak ${(rssPeak / 1024).toFixed(1)}): ${perConn.toFixed(2)} KiB per connection in all, ` +
    `${((rssHeld - rssStart) / held.connected).toFixed(2)} KiB added per connection; ` +
    `kernel per server-side socket (both ends live on this machine, so halved): buffers ${kib(kBuf)} KiB (/proc/net/sockstat TCP mem), ` +
    `slab ${kib(kSlab)} KiB (${SLABS.join(', ')} from /proc/slabinfo)`);

  // 3. AUTH round trips at full load
  const auth = await profiled('auth', async () => { authProber.send(`auth ${AUTH_SAMPLES} ${AUTH_IN_FLIGHT}`); return [await authProber.next('AUTH')]; });
  let wrong = 0; const ms = [];
  for (const l of auth) { const [, w, list] = l.split(' '); wrong += Number(w); if (list) ms.push(...list.split(',').map(Number)); }
  console.log(`auth: ${ms.length} AUTH with fresh tokens on distinct connections of the prober (${AUTH_IN_FLIGHT} in flight), ` +
    `write to CONNECTED: p50 ${pct(ms, 0.5).toFixed(3)} ms, p99 ${pct(ms, 0.99).toFixed(3)} ms, max ${pct(ms, 1).toFixed(3)} ms; ${wrong} wrong or missing`);
  if (wrong) throw new Error('AUTH replies were wrong');

  // 4. revocations, after the floor under them: what the kernel alone takes to deliver one
  // small frame on each of REVOKE loopback connections, both ends on this machine as here
  // (bench_gateway floor, gwbench_floor.c), measured now, beside the rounds
  const floorOut = execFileSync(bench, ['floor', String(REVOKE), '--rounds', '5', '--bytes', String(FLOOR_BYTES)], { encoding: 'utf8' });
  const [floorMs, floorSendUs, floorRecvUs] = floorOut.split('\n').find((l) => l.startsWith('FLOOR ')).split(' ').slice(1).map(Number);
  // the least wall time this machine's cores need for that CPU, however it is spread
  const floorCpuMs = ((floorSendUs + floorRecvUs) * REVOKE) / 1000 / cpus().length;
  console.log(`floor: ${REVOKE} frames of ${FLOOR_BYTES} bytes, one per loopback TCP connection, sent by one process and read by ` +
    `another in epoll, nothing else (median of 5): ${floorMs.toFixed(1)} ms; send ${floorSendUs.toFixed(2)} us and epoll + recv ` +
    `${floorRecvUs.toFixed(2)} us of CPU per connection, so at least ${floorCpuMs.toFixed(1)} ms of ${cpus().length} cores`);
  const rounds = {};
  let otherDropped = 0;
  const genPids = gens.map((g) => g.proc.pid);
  for (const set of ROUNDS) {
    const armed = (await all(gens, async (g) => { g.send(`arm ${set}`); return g.next('ARMED'); })).reduce((s, l) => s + Number(l.split(' ')[1]), 0);
    // the one request of a clientId or revocationKey round comes from the prober (at normal
    // priority, as a backend on a machine of its own); each generator revokes its own tokens
    const senders = set === 'token' ? gens : [authProber];
    const cpu0 = [cpuMs(pids), cpuMs(genPids), cpuMs([redis.pid])];
    const [sent, revoked] = await profiled(`revoke-${set}`, async () => {
      for (const g of senders) g.send('send-revoke');
      const sent = (await all(senders, (g) => g.next('SENT'))).map((l) => l.split(' ').slice(1).map(Number));
      const revoked = await all(gens, async (g) => {
        try { return await g.next('REVOKED', 15000); } catch { g.send('report'); return g.next('REVOKED'); }
      });
      return [sent, revoked];
    });
    const r = revoked.map((l) => l.split(' ').slice(1).map(Number));
    const seen = r.reduce((s, x) => s + x[0], 0), others = r.reduce((s, x) => s + x[2], 0);
    const t0 = Math.min(...sent.map((s) => s[0])), last = Math.max(...r.map((x) => x[1]));
    // CPU spent until every generator reported (a little after the last DISCONNECTED): how
    // much of the round's wall time the server's work alone needs on these 2 cores
    const cpu = [cpuMs(pids), cpuMs(genPids), cpuMs([redis.pid])].map((v, i) => v - cpu0[i]);
    const st = await status();
    otherDropped += others + st.plain_down;
    rounds[set] = { ms: last - t0 };
    console.log(`revoke by ${set}: ${seen} of ${armed} matching connections got DISCONNECTED 40141, the last ${(last - t0).toFixed(1)} ms after ` +
      `the first of ${sent.reduce((s, x) => s + x[2], 0)} revokeTokens requests was sent (${sent.reduce((s, x) => s + x[3], 0)} not 201; ` +
      `the last acknowledged after ${(Math.max(...sent.map((s) => s[1])) - t0).toFixed(1)} ms); ${others + st.plain_down} others dropped; ` +
      `CPU meanwhile: rtauthd ${cpu[0].toFixed(0)} ms, generators ${cpu[1].toFixed(0)} ms, redis ${cpu[2].toFixed(0)} ms`);
    if (seen !== armed) throw new Error(`revoke by ${set}: ${seen} of ${armed}`);
    const refilled = await all(gens, async (g) => { g.send('refill'); return g.next('REFILLED'); });
    const back = refilled.reduce((s, l) => s + Number(l.split(' ')[1]), 0);
    if (back !== CONNS) throw new Error(`after the ${set} round only ${back} of ${CONNS} reconnected`);
  }

  // 5. slow consumers
  const slowN = (await all(gens, async (g) => { g.send('slow-attach'); return g.next('SLOW'); })).reduce((s, l) => s + Number(l.split(' ')[1]), 0);
  await all(gens, async (g) => { g.send('slow-stop'); return g.next('SLOW'); });
  const auth64 = Buffer.from(key).toString('base64');
  const payload = 'x'.repeat(SLOW_SIZE);
  let published = 0, pubFailed = 0, slowPeak = rssKib(pids);
  const kBefore = kernelBytes();
  let kPeak = 0;
  const tEnd = nowMs() + SLOW_S * 1000;
  const sampler = setInterval(() => { slowPeak = Math.max(slowPeak, rssKib(pids)); const k = kernelBytes(); kPeak = Math.max(kPeak, k.buffers); }, 200);
  // a steady rate, up to 4 publishes in flight (each 201 comes once Redis has the message)
  const inFlight = new Set();
  for (let k = 0; nowMs() < tEnd; k++) {
    const due = tEnd - SLOW_S * 1000 + (k * 1000) / SLOW_RATE;
    if (due > nowMs()) await sleep(due - nowMs());
    while (inFlight.size >= 4) await Promise.race(inFlight);
    const p = fetch(`${base}/channels/bench:slow/messages`, { method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${auth64}` }, body: JSON.stringify({ name: 'm', data: payload }) })
      .then(async (res) => { await res.arrayBuffer(); if (res.status === 201) published++; else pubFailed++; }, () => { pubFailed++; })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  clearInterval(sampler);
  await all(gens, async (g) => { g.send('slow-resume'); return g.next('SLOW'); });
  const afterSlow = await status();
  console.log(`slow consumers: ${slowN} connections (10%) attached bench:slow and stopped reading; ${published} messages of ${SLOW_SIZE} bytes ` +
    `published over ${SLOW_S} s (${pubFailed} failed); --max-queue ${MAX_QUEUE}, --max-queue-total ${MAX_QUEUE_TOTAL} per worker: ` +
    `${afterSlow.slow_down} of them dropped, ${afterSlow.plain_down} others; rtauthd peak VmRSS ${(slowPeak / 1024).toFixed(1)} MiB; ` +
    `kernel TCP buffers peak ${(kPeak / 1048576).toFixed(1)} MiB (from ${(kBefore.buffers / 1048576).toFixed(1)})`);

  // 6. close everything
  const closeCpu0 = cpuMs(pids);
  await profiled('close', () => all(gens, async (g) => { g.send('close'); return g.next('CLOSED'); }));
  const closeCpu = cpuMs(pids) - closeCpu0;
  console.log(`close: ${CONNS} connections closed; rtauthd CPU ${(closeCpu / 1000).toFixed(1)} s (${(closeCpu * 1000 / CONNS).toFixed(0)} us per connection)`);
  await sleep(KEPT_MS + 5000);
  const memEnd = memKib(pids), rssEnd = memEnd.rss;
  console.log(`close: rtauthd ${memStr(memEnd)} ${(KEPT_MS + 5000) / 1000} s after every connection closed (CLOSE, as a client's close() sends); ` +
    `before the storm ${memStr(memStart)}`);
  const anonPerProcess = () => pids.map((p) => (memKib([p]).anon / 1024).toFixed(1)).join(' ');
  const anonEnd = pids.slice(1).map((p) => memKib([p]).anon).sort((a, b) => a - b);
  console.log(`close: anonymous RSS per process (MiB, supervisor first): ${anonPerProcess()}`);
  if (anonEnd[anonEnd.length - 1] > 3 * anonEnd[anonEnd.length >> 1]) {
    // Some runs leave a few workers several times larger than the others (not understood
    // yet): is it still there later, or only not returned yet?
    await sleep(15000);
    console.log(`close: a worker holds over 3x the median; 15 s later: ${anonPerProcess()} (not in the figure)`);
  }
  // Of which the revocation index, held by design until the revoked tokens expire (an hour):
  // every worker holds every record. /metrics answers for whichever worker the kernel gives
  // the connection; the workers hold the same records, so the largest seen, times the workers.
  const index = await revocationIndex(port);
  const indexMiB = (index.bytes * WORKERS) / 1048576;
  console.log(`close: the revocation index holds ${index.records} records per worker in ${(index.bytes / 1048576).toFixed(2)} MiB ` +
    `(${indexMiB.toFixed(1)} MiB in all, rtauthd_revocation_index_bytes); without it RSS would be ` +
    `${((rssEnd / 1024 - indexMiB) / (rssStart / 1024)).toFixed(2)}x its start`);
  if (PAUSE_S) { // everything still running, for gdb or /proc/PID/smaps
    console.log(`pause: ${PAUSE_S} s before the teardown; rtauthd pids ${pids.join(' ')}`);
    await sleep(PAUSE_S * 1000);
  }
  for (const g of gens) g.send('quit');

  console.log(`method: rtauthd --workers ${WORKERS} on one redis-server (AOF always), ${GENS} generator processes ` +
    `(bench_gateway scale at nice 10) and an AUTH prober at normal priority holding ${AUTH_CONNS} of the connections, ` +
    `source addresses 127.0.0.10-${9 + (GENS + 1) * SRC_PER_GEN}, ${CONNS} rtauth/JWT token connections (format=json)`);
  const bench_ = (name, v, unit) => console.log(`BENCH ${name} ${v} ${unit}`);
  bench_('scale_connected_at_end', held.connected, 'conns');
  bench_('scale_rss_per_connection_kib', perConn.toFixed(2), 'KiB');
  bench_('scale_kernel_per_connection_kib', kib(kBuf + kSlab), 'KiB');
  bench_('scale_storm_time_p99_ms', p99t.toFixed(1), 'ms');
  bench_('scale_storm_connect_rate', Math.round(connected / stormS), 'conn/s');
  bench_('scale_auth_rtt_p99_ms', pct(ms, 0.99).toFixed(3), 'ms');
  if (rounds.clientId) bench_(`scale_revoke_${REVOKE}_of_${CONNS}_ms`, rounds.clientId.ms.toFixed(1), 'ms');
  if (rounds.revocationKey) bench_(`scale_revoke_${REVOKE}_of_${CONNS}_by_revocation_key_ms`, rounds.revocationKey.ms.toFixed(1), 'ms');
  if (rounds.token) bench_(`scale_revoke_${REVOKE}_of_${CONNS}_by_token_ms`, rounds.token.ms.toFixed(1), 'ms');
  bench_('scale_revoke_floor_ms', floorCpuMs.toFixed(1), 'ms');
  if (rounds.clientId) bench_('scale_revoke_vs_floor', (rounds.clientId.ms / floorCpuMs).toFixed(2), 'x');
  bench_('scale_revoke_other_dropped', otherDropped, 'conns');
  bench_('scale_rss_after_close_ratio', (rssEnd / rssStart).toFixed(2), 'x');
  bench_('scale_revocation_index_mib', indexMiB.toFixed(1), 'MiB');
  bench_('scale_slow_consumer_peak_rss_mib', (slowPeak / 1024).toFixed(1), 'MiB');
  bench_('scale_slow_consumers_dropped', afterSlow.slow_down, 'conns');
}

main().then(async () => { await shutdown(); process.exit(0); },
  async (e) => { console.error(`bench-scale: ${e.stack ?? e}`); await shutdown(); process.exit(1); });
