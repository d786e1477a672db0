// --listen binds the address it names (docs/server.md): `--listen 127.0.0.1:P` is reachable on
// 127.0.0.1 only, not on every interface. libwebsockets 4.1.6 made a dual-stack IPv6 socket
// that ignored an IPv4 address and listened on *:P; every other loopback address (127.0.0.2
// here) stands in for the machine's other interfaces. `--listen 0.0.0.0:P` is reachable on
// all of them; a host name, or a port in use, is refused at start with a clear error.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe } from 'node:test';
import { promisify } from 'node:util';

import { boundedIt } from './lib/realtime.mjs';
import { RTAUTHD, startServer } from './lib/server.mjs';

const it = boundedIt(30000);
const run = promisify(execFile);
const servers = [];

/** 'open' when host:port accepts a TCP connection, else the error code (ECONNREFUSED). */
function probe(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => { s.destroy(); resolve('open'); });
    s.once('error', (e) => resolve(e.code));
  });
}

after(async () => {
  for (const s of servers) await s.stop();
});

describe('--listen', () => {
  it('127.0.0.1:P listens on 127.0.0.1 only', async () => {
    const s = await startServer({ listenHost: '127.0.0.1' });
    servers.push(s);
    assert.equal(await probe('127.0.0.1', s.port), 'open');
    assert.equal(await probe('127.0.0.2', s.port), 'ECONNREFUSED', 'not on other addresses');
  });

  it('0.0.0.0:P listens on every address', async () => {
    const s = await startServer({ listenHost: '0.0.0.0' });
    servers.push(s);
    assert.equal(await probe('127.0.0.1', s.port), 'open');
    assert.equal(await probe('127.0.0.2', s.port), 'open');
  });

  it('a port in use is refused at start: exit 1 and why (it once exited 0 at once)', async () => {
    const s = await startServer();
    servers.push(s);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtauth-listen-'));
    const r = await run(RTAUTHD, ['--listen', `127.0.0.1:${s.port}`, '--data-dir', dir, '--no-dev-app'],
      { timeout: 5000 }).catch((e) => e);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${s.port}: Address already in use`));
  });

  it('a host name is refused at start with a clear error', async () => {
    const r = await run(RTAUTHD, ['--listen', 'localhost:0'], { timeout: 5000 }).catch((e) => e);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /HOST must be an IP address/);
  });
});
