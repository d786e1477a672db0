// Starts and stops one rtauthd per test file, and provisions sandbox apps on it.
//
// The binary comes from $RTA_BUILD_DIR (set by scripts/test), else <repo>/build. Every
// server gets a fresh temporary --data-dir; stop() kills the process (SIGTERM, then SIGKILL
// after a bounded wait) and removes the directory. An 'exit' hook does the same
// synchronously in case a file's process ends without running its after() hooks.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
export const BUILD_DIR = process.env.RTA_BUILD_DIR || path.join(REPO_ROOT, 'build');
export const RTAUTHD = path.join(BUILD_DIR, 'rtauthd');

const START_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 5000;
const OUTPUT_LIMIT = 64 * 1024;

const live = new Set(); // servers not yet stopped, for the exit hooks
function killAll() {
  for (const s of live) {
    try {
      s.proc.kill('SIGKILL');
    } catch {}
    try {
      fs.rmSync(s.dataDir, { recursive: true, force: true });
    } catch {}
  }
  live.clear();
}
process.on('exit', killAll);
// A signal (e.g. the test runner giving up on this file) skips 'exit': clean up, then die.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAll();
    process.kill(process.pid, sig);
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

class RunningServer {
  constructor(proc, port, dataDir, tls = false) {
    this.proc = proc;
    this.port = port;
    this.dataDir = dataDir;
    this.tls = tls;
    this.baseUrl = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    this.output = '';
    this.exited = null; // {code, signal} once the process has exited
    this.exitPromise = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve(this.exited);
      });
    });
    const collect = (chunk) => {
      if (this.output.length < OUTPUT_LIMIT) this.output += chunk.toString('utf8');
    };
    proc.stdout.on('data', collect);
    proc.stderr.on('data', collect);
  }

  /** The exit status, or null if the process is still running after `ms`. */
  async waitExit(ms) {
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), ms);
    });
    try {
      return await Promise.race([this.exitPromise, timeout]);
    } finally {
      clearTimeout(timer); // a pending timer would keep the test file's process alive
    }
  }

  describeExit() {
    const e = this.exited;
    return e ? `exit code ${e.code}, signal ${e.signal}` : 'still running';
  }

  /**
   * Stops the server and removes its data dir. Throws (after cleaning up) if the server had
   * died before stop() was called, so a crash during the tests shows up as a failure.
   */
  async stop({ keepData = false } = {}) {
    if (this.stopped) return;
    this.stopped = true;
    const diedEarly = this.exited !== null;
    const earlyExit = this.describeExit();
    if (!diedEarly) {
      this.proc.kill('SIGTERM');
      if ((await this.waitExit(STOP_TIMEOUT_MS)) === null) {
        this.proc.kill('SIGKILL');
        await this.waitExit(STOP_TIMEOUT_MS);
      }
    }
    live.delete(this);
    if (!keepData) fs.rmSync(this.dataDir, { recursive: true, force: true });
    if (diedEarly) {
      throw new Error(`rtauthd died during the tests (${earlyExit}); output:\n${this.output}`);
    }
    if (this.exited && this.exited.signal === 'SIGKILL') {
      throw new Error(`rtauthd did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM; output:\n${this.output}`);
    }
  }

  /** Stops this server (keeping its data dir) and starts a new one on the same data. */
  async restart() {
    try {
      await this.stop({ keepData: true });
    } catch (err) {
      fs.rmSync(this.dataDir, { recursive: true, force: true });
      throw err;
    }
    return startServer({ dataDir: this.dataDir, args: this.extraArgs, nofile: this.nofile });
  }
}

/** GET path on the server (any certificate for a TLS one): the status code. */
function getStatus(server, path, ms = 1000) {
  if (!server.tls) {
    return fetch(`${server.baseUrl}${path}`, { signal: AbortSignal.timeout(ms) }).then(async (res) => {
      await res.arrayBuffer();
      return res.status;
    });
  }
  return new Promise((resolve, reject) => {
    const req = https.get(`${server.baseUrl}${path}`, { rejectUnauthorized: false, timeout: ms }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function tryStart(existingDir, extraArgs = [], { nofile = 0, env = {}, logLevel = 'warn', listenHost = '127.0.0.1' } = {}) {
  if (!fs.existsSync(RTAUTHD)) {
    throw new Error(`rtauthd not found at ${RTAUTHD} (build it, or set RTA_BUILD_DIR)`);
  }
  const port = await freePort();
  const dataDir = existingDir || fs.mkdtempSync(path.join(os.tmpdir(), 'rtauth-interop-'));
  // logLevel null: no --log-level flag, so that a config file's log_level is in force (ops_reload)
  const level = logLevel ? ['--log-level', logLevel] : [];
  const args = ['--listen', `${listenHost}:${port}`, '--data-dir', dataDir, '--sandbox', ...level, ...extraArgs];
  // nofile: run under that descriptor limit (soft and hard), through the shell's ulimit
  const proc = nofile
    ? spawn('/bin/sh', ['-c', `ulimit -n ${nofile} && exec "$0" "$@"`, RTAUTHD, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
      })
    : spawn(RTAUTHD, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const server = new RunningServer(proc, port, dataDir, extraArgs.includes('--tls-cert'));
  server.extraArgs = extraArgs;
  server.nofile = nofile;
  live.add(server);
  proc.on('error', () => {}); // spawn errors surface as an early exit below
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.exited) break;
    try {
      if ((await getStatus(server, '/time')) === 200) return server;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  const why = server.exited ? `exited (${server.describeExit()})` : `no answer to GET /time within ${START_TIMEOUT_MS} ms`;
  const output = server.output;
  try {
    await server.stop({ keepData: !!existingDir });
  } catch {}
  const err = new Error(`rtauthd on port ${port} ${why}; output:\n${output}`);
  err.exitedEarly = !!server.exited;
  throw err;
}

/**
 * Starts rtauthd (retrying if the chosen port was taken meanwhile) and waits for GET /time.
 * With `dataDir`, reuses that directory (a restart); it is still removed by stop(). `args` are
 * extra rtauthd flags (kept across restart()); `nofile`, a descriptor limit to run under;
 * `env`, extra environment variables (not kept); `logLevel`, the --log-level flag (null: none);
 * `listenHost`, the address to listen on instead of 127.0.0.1 (e.g. 0.0.0.0; the tests still
 * reach it on 127.0.0.1).
 */
export async function startServer({ dataDir, args = [], nofile = 0, env = {}, logLevel = 'warn', listenHost } = {}) {
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await tryStart(dataDir, args, { nofile, env, logLevel, listenHost });
    } catch (err) {
      lastErr = err;
      if (!err.exitedEarly) break; // only an early exit (e.g. port in use) is worth a retry
    }
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  throw lastErr;
}

// Ably's test-app fixture keys (ably-common test-resources/test-app-setup.json).
export const TEST_APP_KEYS = [
  {},
  {
    capability: JSON.stringify({
      'cansubscribe:*': ['subscribe'],
      'canpublish:*': ['publish'],
      'canpublish:andpresence': ['presence', 'publish'],
      'pushenabled:*': ['publish', 'subscribe', 'push-subscribe'],
      'pushenabled:admin:*': ['publish', 'subscribe', 'push-admin'],
    }),
  },
  {
    capability: JSON.stringify({
      channel0: ['publish'],
      channel1: ['publish'],
      channel2: ['publish', 'subscribe'],
      channel3: ['subscribe'],
      channel4: ['presence', 'publish', 'subscribe'],
      channel5: ['presence'],
      channel6: ['*'],
    }),
  },
  { capability: JSON.stringify({ '*': ['subscribe'] }) },
  { revocableTokens: true },
  { capability: JSON.stringify({ '[*]*': ['*'] }) },
];

/**
 * POST /apps on the sandbox. Returns the parsed 201 reply; throws with the status and body
 * otherwise.
 */
export async function provisionApp(server, keys = TEST_APP_KEYS) {
  const res = await fetch(`${server.baseUrl}/apps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ keys }),
    signal: AbortSignal.timeout(10000),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /apps -> ${res.status}: ${text}`);
  return JSON.parse(text);
}

/**
 * A test file's server with one provisioned app: started before its tests (`use(server, app)`
 * gets them) and stopped after them.
 */
export function useServerWithApp(use, opts = {}) {
  let server;
  before(async () => {
    server = await startServer(opts);
    use(server, await provisionApp(server));
  });
  after(async () => {
    if (server) await server.stop();
  });
}
