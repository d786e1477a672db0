// Tools for tests/adversarial: a target rtauthd (the sanitizer build when scripts/test runs
// these files, so undefined behaviour and leaks show up), raw TCP/TLS exchanges that send
// exactly the bytes given, CPU accounting of the server process, and the checks every attack
// ends with: the server still answers, exits cleanly on SIGTERM and reported no sanitizer
// finding.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

import { startServer } from '../../interop/lib/server.mjs';

export { provisionApp, startServer } from '../../interop/lib/server.mjs';

const TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** A throw-away self-signed certificate for 127.0.0.1: {dir, cert, key}. */
export function makeCert() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtauth-adv-tls-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { dir, cert, key };
}

/** Starts a target; with `tlsFiles`, serving HTTPS. */
export async function startTarget({ args = [], tlsFiles = null, nofile = 0 } = {}) {
  const extra = tlsFiles ? ['--tls-cert', tlsFiles.cert, '--tls-key', tlsFiles.key, ...args] : args;
  return startServer({ args: extra, nofile });
}

/**
 * Stops the target and asserts it ended as it should: on SIGTERM, exit code 0 within the
 * stop timeout (the lib throws if it needed SIGKILL), and no sanitizer report in its output.
 */
export async function stopClean(server) {
  await server.stop();
  assert.deepEqual(server.exited, { code: 0, signal: null }, `rtauthd exit: ${server.describeExit()}\n${server.output}`);
  assert.doesNotMatch(server.output, /AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehavior/, server.output);
}

/** CPU time (user + system) the process has used, in ms. */
export function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
}

/** CPU ms the process uses over the next `ms` of wall time. */
export async function cpuOver(pid, ms) {
  const before = cpuMs(pid);
  await new Promise((r) => setTimeout(r, ms));
  return cpuMs(pid) - before;
}

/** Resident memory of the process, in MiB. */
export function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) / 1024;
}

/** Opens a TCP (or TLS, certificate not checked) connection to the target. */
export function connect(server, { useTls = server.tls } = {}) {
  return new Promise((resolve, reject) => {
    const sock = useTls
      ? tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false }, () => resolve(sock))
      : net.connect({ host: '127.0.0.1', port: server.port }, () => resolve(sock));
    sock.once('error', reject);
  });
}

/**
 * Sends `bytes` on a fresh connection and collects what comes back until the server closes
 * the connection, `until(data)` holds, or `ms` pass: {data, closed, ms}.
 */
export async function exchange(server, bytes, { ms = 3000, endAfter = false, until = null } = {}) {
  const start = Date.now();
  const sock = await connect(server);
  const chunks = [];
  const closed = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    sock.on('data', (d) => {
      chunks.push(d);
      if (until && until(Buffer.concat(chunks))) {
        clearTimeout(timer);
        resolve(false);
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    sock.write(bytes);
    if (endAfter) sock.end();
  });
  sock.destroy();
  return { data: Buffer.concat(chunks), closed, ms: Date.now() - start };
}

/** The status codes of the HTTP/1.1 responses in `data`, in order. */
export function statuses(data) {
  return [...data.toString('latin1').matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/** The target answers GET /time on a new connection within `ms`. */
export async function assertResponsive(server, ms = 2000, what = 'server') {
  const r = await exchange(server, 'GET /time HTTP/1.1\r\nHost: x\r\n\r\n', {
    ms,
    until: (d) => statuses(d).length > 0 && /\[\d+\]/.test(d.toString('latin1')),
  });
  assert.deepEqual(statuses(r.data).slice(0, 1), [200], `${what}: no answer to GET /time within ${ms} ms`);
}
