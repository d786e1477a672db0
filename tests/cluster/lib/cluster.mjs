// The cluster fixture: real processes on loopback, no mocks. redis-server with AOF on
// (appendfsync always) in a temporary directory on a free port; N rtauthd nodes with --redis;
// optionally a TCP proxy between a node and Redis (to cut it off), haproxy in front of the
// nodes (examples/cluster/haproxy.cfg, the documented config), a replica and redis-sentinel.
// Everything started here is killed and its directory removed when the test file ends (an
// 'exit' hook as well, for a file that dies without its after() hooks).
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { Clients, waitConnection } from '../../interop/lib/realtime.mjs';
import { freePort, provisionApp } from '../../interop/lib/server.mjs';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
export const BUILD_DIR = process.env.RTA_BUILD_DIR || path.join(REPO_ROOT, 'build');
export const RTAUTHD = path.join(BUILD_DIR, 'rtauthd');
export const RTAUTH = path.join(BUILD_DIR, 'rtauth');
export const HAPROXY_CFG = path.join(REPO_ROOT, 'examples', 'cluster', 'haproxy.cfg');
const OUTPUT_LIMIT = 256 * 1024;

const live = new Set(); // processes and directories to clean up
function cleanupAll() {
  for (const x of live) {
    try {
      x.proc?.kill('SIGKILL');
    } catch {}
    try {
      x.server?.close();
    } catch {}
    if (x.dir) fs.rmSync(x.dir, { recursive: true, force: true });
  }
  live.clear();
}
process.on('exit', cleanupAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    cleanupAll();
    process.kill(process.pid, sig);
  });
}

export { freePort }; // the interop suite's (tests/interop/lib/server.mjs)

export function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const entry = { dir };
  live.add(entry);
  return { dir, forget: () => live.delete(entry) };
}

/** A child process with its output kept (bounded) and its exit awaited. */
class Proc {
  constructor(cmd, args, opts = {}) {
    this.cmd = cmd;
    this.output = '';
    this.proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.exited = null;
    this.exitPromise = new Promise((resolve) =>
      this.proc.on('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve(this.exited);
      }),
    );
    const keep = (d) => {
      if (this.output.length < OUTPUT_LIMIT) this.output += d.toString('utf8');
    };
    this.proc.stdout.on('data', keep);
    this.proc.stderr.on('data', keep);
    this.proc.on('error', () => {});
    this.entry = { proc: this.proc };
    live.add(this.entry);
  }

  async waitExit(ms) {
    let t;
    const r = await Promise.race([this.exitPromise, new Promise((res) => (t = setTimeout(() => res(null), ms)))]);
    clearTimeout(t);
    return r;
  }

  async kill(sig = 'SIGTERM', ms = 5000) {
    if (!this.exited) {
      this.proc.kill(sig);
      if ((await this.waitExit(ms)) === null) {
        this.proc.kill('SIGKILL');
        await this.waitExit(ms);
      }
    }
    live.delete(this.entry);
    return this.exited;
  }
}

// ---- Redis -------------------------------------------------------------------------------------

export class RedisServer {
  static async start({ port, dir, appendonly = 'yes', fsync = 'always', replicaOf, extra = [] } = {}) {
    const r = new RedisServer();
    r.port = port || (await freePort());
    r.tmp = dir ? null : tempDir('rtauth-redis-');
    r.dir = dir || r.tmp.dir;
    r.args = ['--port', String(r.port), '--bind', '127.0.0.1', '--dir', r.dir, '--appendonly', appendonly,
      '--appendfsync', fsync, '--save', '', '--daemonize', 'no', '--loglevel', 'warning', ...extra];
    if (replicaOf) r.args.push('--replicaof', '127.0.0.1', String(replicaOf));
    await r.spawn();
    return r;
  }

  async spawn() {
    this.p = new Proc('redis-server', this.args);
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
      if (this.p.exited) throw new Error(`redis-server exited: ${this.p.output}`);
      try {
        if ((await this.cmd('PING')) === 'PONG') return;
      } catch {}
      await sleep(50);
    }
    throw new Error(`redis-server did not answer on ${this.port}: ${this.p.output}`);
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** One command through redis-cli; its raw output, trimmed. */
  async cmd(...args) {
    const { stdout } = await run('redis-cli', ['-p', String(this.port), '--raw', ...args], { timeout: 5000 });
    return stdout.trim();
  }

  async kill9() {
    await this.p.kill('SIGKILL');
  }

  /** Starts again on the same port and directory (its AOF). */
  async restart() {
    if (!this.p.exited) await this.p.kill('SIGTERM');
    await this.spawn();
  }

  async stop() {
    await this.p?.kill('SIGKILL');
    if (this.tmp) {
      fs.rmSync(this.dir, { recursive: true, force: true });
      this.tmp.forget();
    }
  }
}

/** redis-sentinel watching the primary `masterPort` as `name` (quorum 1, fast timeouts). */
export class Sentinel {
  static async start({ masterPort, name = 'rtmaster', downAfterMs = 1000 } = {}) {
    const s = new Sentinel();
    s.port = await freePort();
    s.name = name;
    s.tmp = tempDir('rtauth-sentinel-');
    const cfg = path.join(s.tmp.dir, 'sentinel.conf');
    fs.writeFileSync(
      cfg,
      [`port ${s.port}`, 'bind 127.0.0.1', `dir ${s.tmp.dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
        `sentinel failover-timeout ${name} 5000`, `sentinel parallel-syncs ${name} 1`, ''].join('\n'),
    );
    s.p = new Proc('redis-sentinel', [cfg]);
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
      try {
        const out = await s.cmd('SENTINEL', 'get-master-addr-by-name', name);
        if (out.includes(String(masterPort))) return s;
      } catch {}
      await sleep(100);
    }
    throw new Error(`redis-sentinel did not start: ${s.p.output}`);
  }

  async cmd(...args) {
    const { stdout } = await run('redis-cli', ['-p', String(this.port), '--raw', ...args], { timeout: 5000 });
    return stdout.trim();
  }

  async primaryPort() {
    const out = (await this.cmd('SENTINEL', 'get-master-addr-by-name', this.name)).split('\n');
    return Number(out[1]);
  }

  async stop() {
    await this.p.kill('SIGKILL');
    fs.rmSync(this.tmp.dir, { recursive: true, force: true });
    this.tmp.forget();
  }
}

// ---- rtauthd nodes ---------------------------------------------------------------------------

export class Node {
  /**
   * rtauthd --listen ... --redis URL --node-id ID --sandbox, nothing else unless `args` (so a
   * node needs no other flag), in a fresh working directory; waits until GET /ready is 200
   * unless `wait` is false.
   */
  static async start({ redis, nodeId, args = [], env = {}, port, wait = true } = {}) {
    const n = new Node();
    n.redis = redis;
    n.nodeId = nodeId;
    n.extraArgs = args;
    n.env = env;
    n.port = port || (await freePort());
    n.baseUrl = `http://127.0.0.1:${n.port}`;
    n.tmp = tempDir('rtauth-node-');
    await n.spawn(wait);
    return n;
  }

  async spawn(wait = true) {
    const redisArgs = typeof this.redis === 'string' ? ['--redis', this.redis] : this.redis;
    const args = ['--listen', `127.0.0.1:${this.port}`, ...redisArgs, '--node-id', this.nodeId, '--sandbox',
      ...this.extraArgs];
    this.p = new Proc(RTAUTHD, args, { cwd: this.tmp.dir, env: { ...process.env, ...this.env } });
    if (wait) await this.waitReady(20000);
  }

  get output() {
    return this.p.output;
  }

  /** GET path: {status, body}; status 0 when the node does not answer. */
  async get(pathname, ms = 1000) {
    try {
      const res = await fetch(this.baseUrl + pathname, { signal: AbortSignal.timeout(ms) });
      return { status: res.status, body: await res.text() };
    } catch {
      return { status: 0, body: '' };
    }
  }

  async ready() {
    return (await this.get('/ready')).status === 200;
  }

  /** Waits for /ready to be 200 (or, with want=false, anything else); the time it took. */
  async waitReady(ms = 10000, want = true) {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (this.p.exited) throw new Error(`node ${this.nodeId} exited (${JSON.stringify(this.p.exited)}):\n${this.output}`);
      if ((await this.ready()) === want) return Date.now() - t0;
      await sleep(25);
    }
    throw new Error(`node ${this.nodeId} not ${want ? 'ready' : 'unready'} within ${ms} ms:\n${this.output.slice(-4000)}`);
  }

  async kill9() {
    await this.p.kill('SIGKILL');
  }

  async restart() {
    await this.p.kill('SIGTERM');
    await this.spawn(true);
  }

  /** Stops it; throws (after cleaning up) if it had died on its own, or did not stop on SIGTERM. */
  async stop() {
    const died = this.p.exited;
    const ex = await this.p.kill('SIGTERM');
    fs.rmSync(this.tmp.dir, { recursive: true, force: true });
    this.tmp.forget();
    if (died && died.signal !== 'SIGKILL') throw new Error(`node ${this.nodeId} died: ${JSON.stringify(died)}\n${this.output}`);
    if (!died && ex?.signal === 'SIGKILL') throw new Error(`node ${this.nodeId} ignored SIGTERM:\n${this.output}`);
    // a clean shutdown exits 0; under the sanitizers a leak or an error report does not
    if (!died && ex && ex.code !== 0) throw new Error(`node ${this.nodeId} exited ${ex.code}:\n${this.output.slice(-8000)}`);
  }
}

/** The rtauth CLI with args; {code, stdout, stderr}. */
export async function cli(args, env = {}) {
  try {
    const { stdout, stderr } = await run(RTAUTH, args, { timeout: 15000, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

// ---- a TCP proxy to cut a node off Redis ------------------------------------------------------

export class TcpProxy {
  static async start(targetPort) {
    const p = new TcpProxy();
    p.targetPort = targetPort;
    p.cutOff = false;
    p.sockets = new Set();
    p.server = net.createServer((client) => p.accept(client));
    await new Promise((resolve) => p.server.listen(0, '127.0.0.1', resolve));
    p.port = p.server.address().port;
    p.entry = { server: p.server };
    live.add(p.entry);
    return p;
  }

  accept(client) {
    if (this.cutOff) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Cuts every connection through it, and refuses new ones until heal(). */
  cut() {
    this.cutOff = true;
    for (const s of this.sockets) s.destroy();
  }

  heal() {
    this.cutOff = false;
  }

  async close() {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
    live.delete(this.entry);
  }
}

// ---- haproxy ----------------------------------------------------------------------------------

/** haproxy with the repository's example config in front of `nodes` (at most three). */
export class Haproxy {
  static async start(nodes) {
    const h = new Haproxy();
    h.port = await freePort();
    h.baseUrl = `http://127.0.0.1:${h.port}`;
    const env = { ...process.env, RTA_LB_ADDR: `127.0.0.1:${h.port}` };
    for (let i = 0; i < 3; i++) env[`RTA_NODE${i + 1}`] = `127.0.0.1:${(nodes[i] ?? nodes[0]).port}`;
    h.p = new Proc('haproxy', ['-db', '-f', HAPROXY_CFG], { env });
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
      if (h.p.exited) throw new Error(`haproxy exited: ${h.p.output}`);
      try {
        const r = await fetch(`${h.baseUrl}/ready`, { signal: AbortSignal.timeout(1000) });
        if (r.status === 200) return h;
      } catch {}
      await sleep(100);
    }
    throw new Error(`haproxy did not serve: ${h.p.output}`);
  }

  async stop() {
    await this.p.kill('SIGTERM');
  }
}

// ---- a whole cluster -------------------------------------------------------------------------

export class Cluster {
  /**
   * Redis, then `shards` more Redis instances for channels (`--redis-shard`, in order; same
   * settings as the main one), then `nodes` nodes (node i through a TcpProxy when proxied
   * includes i).
   */
  static async start({ nodes = 3, nodeArgs = [], nodeEnv = {}, proxied = [], redis = {}, shards = 0 } = {}) {
    const c = new Cluster();
    c.redis = await RedisServer.start(redis);
    c.shards = [];
    for (let i = 0; i < shards; i++) c.shards.push(await RedisServer.start(redis));
    c.proxies = {};
    c.nodes = [];
    for (let i = 0; i < nodes; i++) {
      let url = c.redis.url;
      if (proxied.includes(i)) {
        c.proxies[i] = await TcpProxy.start(c.redis.port);
        url = c.proxies[i].url;
      }
      c.nodes.push(await Node.start({ redis: url, nodeId: `n${i + 1}`, args: [...c.shardArgs(), ...nodeArgs], env: nodeEnv }));
    }
    return c;
  }

  /** The `--redis-shard URL` flags of `list` (the cluster's shards by default). */
  shardArgs(list = this.shards) {
    return list.flatMap((r) => ['--redis-shard', r.url]);
  }

  /** A node more; it gets the cluster's shard flags before opts.args. */
  async addNode(opts = {}) {
    const { args = [], ...rest } = opts;
    const n = await Node.start({ redis: this.redis.url, nodeId: `n${this.nodes.length + 1}`, args: [...this.shardArgs(), ...args], ...rest });
    this.nodes.push(n);
    return n;
  }

  async stop() {
    const errors = [];
    for (const n of this.nodes) {
      try {
        await n.stop();
      } catch (e) {
        errors.push(e);
      }
    }
    for (const p of Object.values(this.proxies)) await p.close();
    await this.redis.stop();
    for (const r of this.shards) await r.stop();
    if (errors.length) throw errors[0];
  }
}

// ---- waiting for the cluster ---------------------------------------------------------------------

/** Waits until every node knows keyStr's key (apps reach the others within a second). */
export async function waitForKey(nodes, keyStr, ms = 5000) {
  const [keyName] = keyStr.split(':');
  const auth = `Basic ${Buffer.from(keyStr).toString('base64')}`;
  for (const n of nodes) {
    const t0 = Date.now();
    for (;;) {
      const res = await fetch(`${n.baseUrl}/keys/${keyName}/requestToken`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: '{}',
        signal: AbortSignal.timeout(2000),
      }).catch(() => null);
      if (res?.status === 200) break;
      if (Date.now() - t0 > ms) throw new Error(`node ${n.nodeId} does not know key ${keyName} after ${ms} ms`);
      await sleep(50);
    }
  }
}

/** Polls fn() until it returns truthy; its value. */
export async function eventually(fn, ms = 5000, what = 'condition', step = 50) {
  const t0 = Date.now();
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() - t0 > ms) throw new Error(`${what} not met within ${ms} ms (last: ${JSON.stringify(last)})`);
    await sleep(step);
  }
}

// ---- one cluster for a test file ----------------------------------------------------------------

/**
 * The hooks of a file that runs one cluster with one app: before, `nodes` nodes (and `shards`
 * Redis shards) with `nodeArgs`, an app every node knows, then `use({ cluster, app })`; after,
 * the cluster stops; after each test, the ably-js clients it opened (`clients`, an array the
 * file pushes its `Clients` to) are closed.
 */
export function useCluster({ nodes = 3, shards, nodeArgs = [], clients, use }) {
  let cluster;
  before(async () => {
    cluster = await Cluster.start({ nodes, shards, nodeArgs });
    const app = await provisionApp(cluster.nodes[0]);
    await waitForKey(cluster.nodes, app.keys[0].keyStr);
    use({ cluster, app });
  });
  after(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.closeAll();
  });
}

/**
 * A connected ably-js Realtime on `server` (a node or a proxy) with `key`, its Clients pushed
 * to `clients` (closed after each test by useCluster / useFronted).
 */
export async function connectRealtime(clients, server, binary, key, opts = {}) {
  const c = new Clients(server, binary);
  clients.push(c);
  const rt = c.realtime({ key, ...opts });
  await waitConnection(rt, 'connected');
  return rt;
}

/** Polls the synchronous pred every 20 ms until it holds; throws after ms. */
export async function waitFor(pred, ms, what) {
  return eventually(pred, ms, what, 20);
}

/** Subscribes rt to channel `name` (attached when this returns): the messages it receives. */
export async function collect(rt, name) {
  const got = [];
  await rt.channels.get(name).subscribe((m) => got.push(m));
  return got;
}

// ---- a client's node going away -----------------------------------------------------------------

/**
 * Two nodes (with `nodeArgs`), an app, and a TCP proxy ("the front") to node A: the address a
 * client knows, which tests point at node B when A is killed or left (resume.test.mjs,
 * catch_up.test.mjs). `reset()` (after each test) brings A back if it was killed and points the
 * front at it again; `stop()` ends it all.
 */
export async function startFronted({ nodeArgs = [] } = {}) {
  const cluster = await Cluster.start({ nodes: 2, nodeArgs });
  const app = await provisionApp(cluster.nodes[0]);
  await waitForKey(cluster.nodes, app.keys[0].keyStr);
  const front = await TcpProxy.start(cluster.nodes[0].port);
  return {
    cluster,
    app,
    front,
    async reset() {
      const a = cluster.nodes[0];
      if (a.p.exited) await a.spawn(true);
      front.targetPort = a.port;
      front.heal();
    },
    async stop() {
      await front.close();
      await cluster.stop();
    },
  };
}

/**
 * startFronted's life in a test file: started before its tests (`use` gets it), stopped after
 * them, and after each test the clients in `clients` (Clients objects, emptied) closed and the
 * front reset.
 */
export function useFronted({ nodeArgs = [], clients, use }) {
  let fronted;
  before(async () => {
    fronted = await startFronted({ nodeArgs });
    use(fronted);
  });
  after(async () => {
    await fronted?.stop();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.closeAll();
    await fronted.reset(); // the killed node back, the front pointing at it again
  });
}
