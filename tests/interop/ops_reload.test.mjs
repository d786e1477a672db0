// SIGHUP reload (issue 17): rtauthd reads its config file again and applies what can change
// live, and loads the TLS certificate and key again without dropping a connection
// (certificates rotate). A bad certificate or config on reload is logged as an error and the
// running settings stay; a setting that cannot change live is warned about and kept; flags
// keep their precedence over the file. Real rtauthd over TLS, real ably-js 2.28.0 over WSS
// (RTN14 connect, RTL6 publish, RTL7 subscribe), both formats.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, afterEach, before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { FORMATS, raw, restClient } from './lib/helpers.mjs';
import { Clients, boundedIt, recordConnection, recordMessages, waitConnection } from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

// The test certificates are self-signed: ably-js (ws) and fetch accept them for this file only.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

const it = boundedIt(40000);

let dir;
const certs = {}; // name -> { cert, key, sha256 }

function makeCert(name) {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  certs[name] = { cert, key, sha256: new crypto.X509Certificate(fs.readFileSync(cert)).fingerprint256 };
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtauth-ops-reload-'));
  for (const n of ['certA', 'certB', 'certC']) makeCert(n);
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The SHA-256 fingerprint of the certificate a new TLS handshake with the server gets. */
function peerFingerprint(port) {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      const fp = sock.getPeerCertificate().fingerprint256;
      sock.end();
      resolve(fp);
    });
    sock.setTimeout(5000, () => sock.destroy(new Error('TLS handshake timed out')));
    sock.on('error', reject);
  });
}

/** Sends SIGHUP and waits for the reload's outcome in the log (json): the event. */
async function hup(server, from) {
  server.proc.kill('SIGHUP');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const ev = logEvents(server, from).find((e) => e.event === 'reload.done' || e.event === 'reload.failed');
    if (ev) return ev;
    await sleep(20);
  }
  throw new Error(`no reload outcome in the log:\n${server.output}`);
}

function logEvents(server, from = 0) {
  return server.output
    .slice(from)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

function install(server, name) {
  fs.copyFileSync(certs[name].cert, server.certPath);
  fs.copyFileSync(certs[name].key, server.keyPath);
}

describe('SIGHUP: the TLS certificate rotates without dropping a connection', () => {
  let server;
  let app;
  let certPath;
  let keyPath;

  before(async () => {
    certPath = path.join(dir, 'live.crt');
    keyPath = path.join(dir, 'live.key');
    fs.copyFileSync(certs.certA.cert, certPath);
    fs.copyFileSync(certs.certA.key, keyPath);
    server = await startServer({ args: ['--tls-cert', certPath, '--tls-key', keyPath, '--log-format', 'json', '--log-level', 'info'] });
    server.certPath = certPath;
    server.keyPath = keyPath;
    app = await provisionApp(server);
  });

  after(async () => {
    if (server) await server.stop();
  });

  for (const { name, binary } of FORMATS) {
    describe(`over WSS (${name})`, () => {
      const clients = new Clients(null, binary);
      before(() => {
        clients.server = server;
        install(server, 'certA');
      });
      afterEach(() => clients.closeAll());

      it('a connection made under cert A stays connected, publishes and receives after cert B is loaded; new handshakes get B', async () => {
        const from = server.output.length;
        const first = await hup(server, from); // cert A again, whatever the previous test left
        assert.equal(first.event, 'reload.done', JSON.stringify(first));
        assert.equal(await peerFingerprint(server.port), certs.certA.sha256);

        const rt = clients.realtime({ key: app.keys[0].keyStr, tls: true, tlsPort: server.port, clientId: `rot-${name}` });
        const conn = recordConnection(rt);
        await waitConnection(rt, 'connected');
        const id = rt.connection.id;
        const channel = rt.channels.get(`rotate-${name}`);
        const got = await recordMessages(channel);
        await channel.publish('before', 'one');
        await got.waitFor((m) => m.name === 'before', 5000, 'message before the reload');

        install(server, 'certB');
        const ev = await hup(server, server.output.length);
        assert.equal(ev.event, 'reload.done', JSON.stringify(ev));
        assert.match(ev.msg, /TLS certificate/);
        assert.equal(await peerFingerprint(server.port), certs.certB.sha256, 'a new handshake presents cert B');

        await channel.publish('after', 'two');
        await got.waitFor((m) => m.name === 'after', 5000, 'message after the reload');
        assert.equal(rt.connection.state, 'connected');
        assert.equal(rt.connection.id, id);
        assert.deepEqual(conn.items.map((e) => e.current), ['connecting', 'connected'], `no drop: ${conn.describe()}`);

        // and a new WSS connection works under cert B
        const rt2 = clients.realtime({ key: app.keys[0].keyStr, tls: true, tlsPort: server.port });
        await waitConnection(rt2, 'connected');
      });

      it('a broken certificate, or a key that does not match, is an error on reload: cert B stays served', async () => {
        install(server, 'certB');
        assert.equal((await hup(server, server.output.length)).event, 'reload.done');
        const rt = clients.realtime({ key: app.keys[0].keyStr, tls: true, tlsPort: server.port });
        await waitConnection(rt, 'connected');

        fs.writeFileSync(server.certPath, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
        let ev = await hup(server, server.output.length);
        assert.equal(ev.event, 'reload.failed', JSON.stringify(ev));
        assert.equal(ev.level, 'error');
        assert.equal(ev.code, 40003);
        assert.equal(await peerFingerprint(server.port), certs.certB.sha256);

        fs.copyFileSync(certs.certC.cert, server.certPath); // C's certificate with B's key
        ev = await hup(server, server.output.length);
        assert.equal(ev.event, 'reload.failed', JSON.stringify(ev));
        assert.match(ev.msg, /does not match/);
        assert.equal(await peerFingerprint(server.port), certs.certB.sha256);
        assert.equal(rt.connection.state, 'connected');
        assert.equal((await raw(server, 'GET', '/time')).status, 200);
      });
    });
  }
});

describe('SIGHUP: the config file is read again', () => {
  let server;
  let app;
  let conf;

  const writeConf = (lines) => fs.writeFileSync(conf, `${lines.join('\n')}\n`);

  before(async () => {
    conf = path.join(dir, 'rtauthd.conf');
    writeConf(['log_level = warn', 'cors_origins = https://one.example.com']);
    // no --log-level flag: the file's log_level is in force (a flag would win over it)
    server = await startServer({ logLevel: null, args: ['--config', conf, '--log-format', 'json'] });
    app = await provisionApp(server);
  });

  after(async () => {
    if (server) await server.stop();
  });

  const allowOrigin = async (origin) => (await raw(server, 'GET', '/time', { headers: { origin } })).headers.get('access-control-allow-origin');

  it('the log level and the CORS origins change live', async () => {
    const rest = restClient(server, { key: app.keys[0].keyStr });
    assert.equal(await allowOrigin('https://one.example.com'), 'https://one.example.com');
    assert.equal(await allowOrigin('https://two.example.com'), null);
    let from = server.output.length;
    await rest.auth.requestToken({ clientId: 'quiet' });
    await sleep(100);
    assert.ok(!logEvents(server, from).some((e) => e.event === 'token.issued'), 'info lines at warn');

    writeConf(['log_level = info', 'cors_origins = https://two.example.com']);
    const ev = await hup(server, server.output.length);
    assert.equal(ev.event, 'reload.done', JSON.stringify(ev));
    assert.match(ev.msg, /log_level/);
    assert.match(ev.msg, /cors_origins/);
    assert.equal(await allowOrigin('https://two.example.com'), 'https://two.example.com');
    assert.equal(await allowOrigin('https://one.example.com'), null);
    from = server.output.length;
    await rest.auth.requestToken({ clientId: 'loud' });
    for (let i = 0; i < 50 && !logEvents(server, from).some((e) => e.event === 'token.issued'); i++) await sleep(20);
    const issued = logEvents(server, from).find((e) => e.event === 'token.issued');
    assert.ok(issued, server.output.slice(from));
    assert.equal(issued.clientId, 'loud');
  });

  it('a gateway limit changes for new connections; a setting that cannot change live is warned about and kept', async () => {
    writeConf(['log_level = info', 'cors_origins = https://two.example.com', 'max_message_size = 32768', 'max_frame_size = 100000',
      'history_max_messages = 5']);
    const from = server.output.length;
    const ev = await hup(server, from);
    assert.equal(ev.event, 'reload.done', JSON.stringify(ev));
    const ignored = logEvents(server, from).filter((e) => e.event === 'reload.ignored');
    assert.deepEqual(ignored.map((e) => e.msg.split(' ')[1]).sort(), ['history_max_messages', 'max_frame_size']);
    assert.ok(ignored.every((e) => e.level === 'warn'));
    const clients = new Clients(server, true);
    try {
      const rt = clients.realtime({ key: app.keys[0].keyStr });
      await waitConnection(rt, 'connected');
      const details = rt.connection.connectionManager.connectionDetails;
      assert.equal(details.maxMessageSize, 32768, 'reloaded');
      assert.equal(details.maxFrameSize, 524288, 'kept');
    } finally {
      await clients.closeAll();
    }
  });

  it('a bad config file is an error and changes nothing', async () => {
    writeConf(['log_level = warn', 'cors_origins = https://three.example.com', 'max_body = lots']);
    const ev = await hup(server, server.output.length);
    assert.equal(ev.event, 'reload.failed');
    assert.equal(ev.level, 'error');
    assert.match(ev.msg, /max_body/);
    assert.equal(await allowOrigin('https://two.example.com'), 'https://two.example.com');
    assert.equal(await allowOrigin('https://three.example.com'), null);
    assert.equal((await raw(server, 'GET', '/health')).status, 200);
  });

  it('flags keep their precedence over the file on reload, as at start', async () => {
    writeConf(['log_level = info']); // the previous test left a bad file
    const other = await startServer({
      logLevel: 'info',
      args: ['--config', conf, '--log-format', 'json', '--cors-origins', 'https://flag.example.com'],
    });
    try {
      // were the file's warn in force, the reload's own info line would not be written
      writeConf(['log_level = warn', 'cors_origins = https://file.example.com']);
      const ev = await hup(other, other.output.length);
      assert.equal(ev.event, 'reload.done', JSON.stringify(ev));
      assert.doesNotMatch(ev.msg, /log_level|cors_origins/);
      const origin = async (o) => (await raw(other, 'GET', '/time', { headers: { origin: o } })).headers.get('access-control-allow-origin');
      assert.equal(await origin('https://flag.example.com'), 'https://flag.example.com');
      assert.equal(await origin('https://file.example.com'), null);
    } finally {
      await other.stop();
    }
  });
});
