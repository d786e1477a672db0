// The operator console (rtauthd --console, issue 18) in headless Chromium against a real
// rtauthd: a wrong password is shown and refused; logging in by typing and clicking sets a
// session cookie that is HttpOnly, SameSite=Strict, Path=/console (not Secure: plain HTTP);
// a key created in the UI works (requestToken with it from node, RSA8); ably-js realtime
// clients with a clientId (one per format, msgpack and JSON) show in the live connections
// view, and revoking that clientId from the UI disconnects both with DISCONNECTED 40141
// (RSA17, RTN15h); the charts draw connections from the server's metrics; a cross-site
// request (a page on another origin, a request without the CSRF token or with a foreign
// Origin) is refused and changes nothing (40300); repeated failed logins get 429/42910 with
// Retry-After; and /console is 404 without --console. Screenshots of the main states go to
// $RTA_CONSOLE_SCREENSHOTS or a temporary directory (printed; never committed).
// Run: RTA_BUILD_DIR=$PWD/build node --test tests/browser/console.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import Ably from 'ably';

import { FORMATS } from '../interop/lib/helpers.mjs';
import { provisionApp, startServer } from '../interop/lib/server.mjs';
import { launchChromium, startPageServer } from './lib/browser.mjs';

const chromium = await launchChromium();
const TEST = { timeout: 120000, skip: chromium.skip };
const SHOTS = process.env.RTA_CONSOLE_SCREENSHOTS || fs.mkdtempSync(path.join(os.tmpdir(), 'rtauth-console-'));
const PASSWORD = 'console password for the browser test';

function realtimeClient(rtauthd, keyStr, clientId, binary) {
  const rest = new Ably.Rest({ key: keyStr, endpoint: '127.0.0.1', port: rtauthd.port, tls: false, logLevel: 0 });
  const rt = new Ably.Realtime({
    endpoint: '127.0.0.1', port: rtauthd.port, tls: false, useBinaryProtocol: binary, logLevel: 0,
    clientId, disconnectedRetryTimeout: 60000, // stays disconnected long enough to be seen
    authCallback: (params, cb) => rest.auth.requestToken({ clientId }).then((t) => cb(null, t), (e) => cb(e, null)),
  });
  const changes = [];
  rt.connection.on((s) => changes.push({ current: s.current, code: s.reason?.code, statusCode: s.reason?.statusCode }));
  return { rt, changes };
}

async function waitFor(pred, what, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the operator console (/console) in Chromium', () => {
  let rtauthd;
  let app;
  let page;
  let pwFile;
  let pageServer;
  let createdKeyStr;
  const clients = [];
  const log = [];

  before(async () => {
    if (chromium.skip) return;
    pwFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rtauth-console-pw-')), 'password');
    fs.writeFileSync(pwFile, PASSWORD + '\n', { mode: 0o600 });
    rtauthd = await startServer({ args: ['--console', '--console-password-file', pwFile] });
    app = await provisionApp(rtauthd, [{}]);
    page = await chromium.browser.newPage();
    await page.setViewport({ width: 1200, height: 1100 });
    page.on('console', (m) => log.push(`[console.${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
    page.on('requestfailed', (r) => log.push(`[requestfailed] ${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
    await page.goto(`${rtauthd.baseUrl}/console/`, { waitUntil: 'load', timeout: 15000 });
    console.log(`# console screenshots: ${SHOTS}`);
  });

  after(async () => {
    for (const c of clients) c.rt.close();
    await page?.close().catch(() => {});
    await chromium.close?.();
    await pageServer?.close();
    await rtauthd?.stop();
    if (pwFile) fs.rmSync(path.dirname(pwFile), { recursive: true, force: true });
  });

  async function until(pred, what, ms = 15000, arg) {
    try {
      await page.waitForFunction(pred, { timeout: ms, polling: 100 }, arg);
    } catch (err) {
      const st = await page.evaluate(() => JSON.stringify({ ...window.rtaConsole, apps: undefined, metrics: undefined })).catch(() => '?');
      throw new Error(`${what}: ${err.message}\nwindow.rtaConsole: ${st}\n${log.join('\n')}\nrtauthd: ${rtauthd.output}`);
    }
  }
  const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  const appKeys = () => page.evaluate(async (appId) => {
    const r = await fetch('/console/api/apps');
    return (await r.json()).apps.find((a) => a.appId === appId).keys.map((k) => k.keyName).sort();
  }, app.appId);

  it('a wrong password shows an error and is refused (40101)', TEST, async () => {
    await until(() => !document.getElementById('login-view').classList.contains('hidden'), 'login view');
    await page.type('#password', 'not the password');
    await page.click('#login-btn');
    await until(() => document.getElementById('login-error').textContent.length > 0, 'login error');
    const r = await page.evaluate(() => ({ text: document.getElementById('login-error').textContent,
                                           err: window.rtaConsole.lastError, main: document.getElementById('main-view').className }));
    assert.equal(r.err.status, 401);
    assert.equal(r.err.code, 40101);
    assert.match(r.text, /Wrong console password/);
    assert.match(r.main, /hidden/);
    assert.equal((await page.cookies()).length, 0, 'no cookie for a failed login');
    await shot('1-login-refused');
  });

  it('logs in by typing the password: session cookie HttpOnly, SameSite=Strict, Path=/console', TEST, async () => {
    await page.click('#password', { clickCount: 3 });
    await page.type('#password', PASSWORD);
    await page.click('#login-btn');
    await until(() => window.rtaConsole.loggedIn && window.rtaConsole.apps.length > 0, 'logged in');
    const cookies = await page.cookies();
    assert.equal(cookies.length, 1);
    const c = cookies[0];
    assert.equal(c.name, 'rtauthd_console');
    assert.match(c.value, /^[0-9a-f]{64}$/);
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, 'Strict');
    assert.equal(c.path, '/console');
    assert.equal(c.secure, false, 'plain HTTP: Secure is set only under TLS');
    assert.equal(c.session, true);
    // the cookie is invisible to the page's script
    assert.equal(await page.evaluate(() => document.cookie), '');
    // security headers, and never CORS, on console replies
    const res = await fetch(`${rtauthd.baseUrl}/console/`, { headers: { origin: 'http://evil.example' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy'), /default-src 'self'.*frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    await shot('2-logged-in');
  });

  it('creates a key in the UI; it works (requestToken from node, RSA8) and its secret is shown once', TEST, async () => {
    const before = await appKeys();
    await page.select('#key-app', app.appId);
    await page.click('#key-capability', { clickCount: 3 });
    await page.evaluate(() => { document.getElementById('key-capability').value = ''; });
    await page.type('#key-capability', '{"chat:*":["publish","subscribe"]}');
    await page.click('#key-create');
    await until(() => window.rtaConsole.createdKey && document.getElementById('key-created-str'), 'key created');
    const keyStr = await page.$eval('#key-created-str', (e) => e.textContent);
    const [keyName] = keyStr.split(':');
    assert.ok(keyName.startsWith(app.appId + '.'), keyName);
    await until((k) => document.querySelector(`tr[data-key="${k}"]`), 'new key listed', 15000, keyName);
    assert.deepEqual(await appKeys(), [...before, keyName].sort());
    // the listing never carries a secret
    const listing = await page.evaluate(async () => (await fetch('/console/api/apps')).text());
    assert.ok(!listing.includes(keyStr.split(':')[1]), 'no key secret in GET /console/api/apps');
    const rest = new Ably.Rest({ key: keyStr, endpoint: '127.0.0.1', port: rtauthd.port, tls: false, logLevel: 0 });
    const td = await rest.auth.requestToken({ clientId: 'bob' });
    assert.equal(td.clientId, 'bob');
    assert.deepEqual(JSON.parse(td.capability), { 'chat:*': ['publish', 'subscribe'] });
    createdKeyStr = keyStr;
    await shot('3-keys');
  });

  it("changes a key's capability in the UI: new tokens get it; an invalid one is refused (40000)", TEST, async () => {
    const [keyName] = createdKeyStr.split(':');
    await until((k) => document.querySelector(`#cap-key option[value="${k}"]`), 'key in the capability form', 15000, keyName);
    await page.select('#cap-key', keyName);
    await page.evaluate(() => { document.getElementById('cap-value').value = ''; });
    await page.type('#cap-value', '{"chat:*":["publish"');
    await page.click('#cap-save');
    await until(() => /not JSON/.test(document.getElementById('cap-result').textContent), 'client-side refusal');
    await page.evaluate(() => { document.getElementById('cap-value').value = ''; });
    await page.type('#cap-value', '{"chat:*":["fly"]}'); // JSON, but not a capability
    await page.click('#cap-save');
    await until(() => window.rtaConsole.capabilityChange?.error, 'server refusal');
    assert.equal(await page.evaluate(() => window.rtaConsole.capabilityChange.error.code), 40000);
    await page.evaluate(() => { document.getElementById('cap-value').value = ''; });
    await page.type('#cap-value', '{"news:*":["subscribe"]}');
    await page.click('#cap-save');
    await until(() => window.rtaConsole.capabilityChange?.keyName, 'capability saved');
    const rest = new Ably.Rest({ key: createdKeyStr, endpoint: '127.0.0.1', port: rtauthd.port, tls: false, logLevel: 0 });
    const td = await rest.auth.requestToken({});
    assert.deepEqual(JSON.parse(td.capability), { 'news:*': ['subscribe'] });
    const listed = await page.evaluate(async (k) => (await (await fetch('/console/api/apps')).json())
      .apps.flatMap((a) => a.keys).find((x) => x.keyName === k).capability, keyName);
    assert.equal(listed, '{"news:*":["subscribe"]}');
  });

  it('shows live connections by clientId; revoking that clientId in the UI disconnects them (40141, RSA17)', TEST, async () => {
    // a revocable key for the realtime clients, created through the console API from the page
    const created = await page.evaluate(async (appId) => {
      const r = await fetch('/console/api/keys', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': window.rtaConsole.csrf },
        body: JSON.stringify({ appId, revocableTokens: true }),
      });
      return { status: r.status, body: await r.json() };
    }, app.appId);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const key = created.body;
    for (const { binary } of FORMATS) clients.push(realtimeClient(rtauthd, key.keyStr, 'alice', binary));
    await Promise.all(clients.map((c) => new Promise((resolve, reject) => {
      c.rt.connection.once('connected', resolve);
      c.rt.connection.once('failed', (s) => reject(new Error(`failed: ${s.reason?.message}`)));
    })));
    const ids = clients.map((c) => c.rt.connection.id).sort();
    await page.evaluate(() => { document.getElementById('conn-client').value = ''; });
    await page.type('#conn-client', 'alice');
    await page.click('#conn-find');
    await until((n) => document.querySelectorAll('#conn-list tr').length === n &&
                      window.rtaConsole.connections.connections.every((c) => c.clientId === 'alice'),
                'alice in the connections view', 15000, clients.length);
    const shown = await page.$$eval('#conn-list tr', (rows) => rows.map((r) => r.dataset.conn).sort());
    assert.deepEqual(shown, ids);
    const perApp = await page.evaluate((a) => window.rtaConsole.connections.perApp[a], app.appId);
    assert.equal(perApp.live, clients.length);
    await shot('4-connections');

    await until((k) => document.querySelector(`#revoke-key option[value="${k}"]`), 'the revocable key listed', 15000, key.keyName);
    await page.select('#revoke-key', key.keyName);
    await page.select('#revoke-type', 'clientId');
    await page.type('#revoke-value', 'alice');
    const t0 = Date.now();
    await page.click('#revoke-btn');
    await until(() => /Revoked clientId:alice/.test(document.getElementById('revoke-result').textContent), 'revoked');
    for (const c of clients) {
      const d = await waitFor(() => c.changes.find((s) => s.current === 'disconnected'), 'DISCONNECTED');
      assert.equal(d.code, 40141);
      assert.equal(d.statusCode, 401);
    }
    const took = Date.now() - t0;
    console.log(`# revoked from the UI: both clients DISCONNECTED 40141 ${took} ms after the click`);
    assert.ok(took < 5000, `${took} ms`);
    // (ably-js then renews its token through authCallback and reconnects, RTN15h2: a token
    // minted after the revocation is not covered by it)
    await shot('5-revoked');
  });

  it('revokes a single token (its key found from the token) and a revocationKey from the UI', TEST, async () => {
    const keyStr = await page.evaluate(async (appId) => {
      const r = await fetch('/console/api/keys', { method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': window.rtaConsole.csrf },
        body: JSON.stringify({ appId, revocableTokens: true }) });
      return { status: r.status, body: await r.json() };
    }, app.appId).then((r) => {
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.keyStr;
    });
    const rest = new Ably.Rest({ key: keyStr, endpoint: '127.0.0.1', port: rtauthd.port, tls: false, logLevel: 0 });
    const td = await rest.auth.requestToken({ clientId: 'erin' });
    const probe = () => fetch(`${rtauthd.baseUrl}/channels/x/messages`, {
      headers: { authorization: `Bearer ${Buffer.from(td.token).toString('base64')}` } });
    const ok = await probe();
    assert.equal(ok.status, 200, `before the revocation: ${ok.status} ${await ok.text()}`);
    await page.select('#revoke-type', 'token');
    await page.evaluate(() => { document.getElementById('revoke-value').value = ''; });
    await page.type('#revoke-value', td.token);
    await page.click('#revoke-btn');
    await until(() => /Revoked a token/.test(document.getElementById('revoke-result').textContent), 'token revoked');
    assert.equal(await page.evaluate(() => window.rtaConsole.revokeResult.keyName), keyStr.split(':')[0]);
    const refused = await probe();
    const body = await refused.text();
    assert.equal(refused.status, 401, body);
    assert.equal(JSON.parse(body).error.code, 40141, body);
    // revocationKey (a JWT claim, RSA17): accepted and stored for that key
    await until((k) => document.querySelector(`#revoke-key option[value="${k}"]`), 'key listed', 15000, keyStr.split(':')[0]);
    await page.select('#revoke-key', keyStr.split(':')[0]);
    await page.select('#revoke-type', 'revocationKey');
    await page.evaluate(() => { document.getElementById('revoke-value').value = ''; });
    await page.type('#revoke-value', 'group-7');
    await page.click('#revoke-btn');
    await until(() => /Revoked revocationKey:group-7/.test(document.getElementById('revoke-result').textContent), 'revocationKey revoked');
    assert.equal(await page.evaluate(() => window.rtaConsole.revokeResult.result.successCount), 1);
  });

  it('draws the live charts from the server metrics: connections and token requests per second', TEST, async () => {
    // token requests while the page polls: the rate chart must see them (metrics.h counter)
    const rest = new Ably.Rest({ key: app.keys[0].keyStr, endpoint: '127.0.0.1', port: rtauthd.port, tls: false, logLevel: 0 });
    const t0 = Date.now();
    let sent = 0;
    while (Date.now() - t0 < 3000) {
      await rest.auth.requestToken({ clientId: `chart-${sent}` });
      sent++;
      await new Promise((r) => setTimeout(r, 50));
    }
    await until((n) => window.rtaConsole.metrics.filter((m) => m.rate > 0).length >= 2 &&
                      window.rtaConsole.metrics.at(-1).tokenRequests >= n, 'token request rate samples', 15000, sent);
    const m = await page.evaluate(() => window.rtaConsole.metrics);
    const last = m.at(-1);
    assert.equal(typeof last.connections, 'number');
    assert.ok(last.tokenRequests >= sent, `counter ${last.tokenRequests} >= ${sent} sent`);
    const peak = Math.max(...m.map((x) => x.rate ?? 0));
    assert.ok(peak > 1 && peak < 1000, `peak rate ${peak}/s`);
    assert.equal(await page.$eval('#now-connections', (e) => e.textContent), String(last.connections));
    // both lines are drawn: blue (connections) and green (token requests)
    const pixels = (id, test) => page.$eval(id, (c, src) => {
      const f = new Function('r', 'g', 'b', 'return ' + src);
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (f(d[i], d[i + 1], d[i + 2])) n++;
      return n;
    }, test);
    assert.ok(await pixels('#chart-connections', 'b > 200 && r < 80') > 20, 'connections line');
    assert.ok(await pixels('#chart-tokens', 'g > 150 && r < 80 && b < 160') > 20, 'token rate line');
    await page.evaluate(() => document.getElementById('charts').scrollIntoView());
    await shot('6-charts');
  });

  it('refuses cross-site requests and requests without the CSRF token (40300); nothing changes', TEST, async () => {
    const before = await appKeys();
    // 1. a page on another origin, in the same browser (the session cookie is in its jar)
    pageServer = await startPageServer();
    const evil = await chromium.browser.newPage();
    try {
      await evil.goto(`${pageServer.origin}/`, { waitUntil: 'load', timeout: 15000 });
      const r = await evil.evaluate(async (target, appId) => {
        const out = {};
        try { // a JSON POST with credentials: preflighted, and the preflight gets no CORS
          const res = await fetch(target, { method: 'POST', credentials: 'include',
            headers: { 'content-type': 'application/json', 'x-csrf-token': 'guess' },
            body: JSON.stringify({ appId }) });
          out.json = res.status;
        } catch (e) { out.json = 'blocked: ' + e.message; }
        try { // a "simple" request (no preflight): sent, but without the SameSite cookie
          await fetch(target, { method: 'POST', mode: 'no-cors', credentials: 'include',
            headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ appId }) });
          out.simple = 'sent';
        } catch (e) { out.simple = 'blocked: ' + e.message; }
        return out;
      }, `${rtauthd.baseUrl}/console/api/keys`, app.appId);
      assert.match(String(r.json), /^blocked/);
      assert.equal(r.simple, 'sent');
    } finally {
      await evil.close();
    }
    // 2. from the console's own page, without the X-CSRF-Token header
    const noCsrf = await page.evaluate(async (appId) => {
      const res = await fetch('/console/api/keys', { method: 'POST', headers: { 'content-type': 'application/json' },
                                                     body: JSON.stringify({ appId }) });
      return { status: res.status, body: await res.json() };
    }, app.appId);
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body.error.code, 40300);
    // 3. the right cookie and token, but a foreign Origin (from node)
    const cookie = (await page.cookies()).find((c) => c.name === 'rtauthd_console');
    const csrf = await page.evaluate(() => window.rtaConsole.csrf);
    const foreign = await fetch(`${rtauthd.baseUrl}/console/api/keys`, {
      method: 'POST',
      headers: { cookie: `rtauthd_console=${cookie.value}`, 'x-csrf-token': csrf, 'content-type': 'application/json',
                 origin: 'http://evil.example' },
      body: JSON.stringify({ appId: app.appId }),
    });
    assert.equal(foreign.status, 403);
    assert.equal((await foreign.json()).error.code, 40300);
    // 4. the right cookie, token and no Origin, but not JSON (a form post)
    const form = await fetch(`${rtauthd.baseUrl}/console/api/keys`, {
      method: 'POST',
      headers: { cookie: `rtauthd_console=${cookie.value}`, 'x-csrf-token': csrf,
                 'content-type': 'application/x-www-form-urlencoded' },
      body: `appId=${app.appId}`,
    });
    assert.equal(form.status, 403);
    // a GET cannot act
    const get = await fetch(`${rtauthd.baseUrl}/console/api/keys?appId=${app.appId}`, { headers: { cookie: `rtauthd_console=${cookie.value}` } });
    assert.equal(get.status, 404);
    assert.deepEqual(await appKeys(), before, 'no key was created');
  });

  it('repeated failed logins get 429/42910 with Retry-After', TEST, async () => {
    const statuses = [];
    let last;
    for (let i = 0; i < 8; i++) {
      last = await fetch(`${rtauthd.baseUrl}/console/api/login`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: `wrong ${i}` }),
      });
      statuses.push(last.status);
      if (last.status === 429) break;
    }
    assert.equal(last.status, 429, `statuses: ${statuses}`);
    assert.ok(statuses.slice(0, -1).every((s) => s === 401), `statuses: ${statuses}`);
    assert.ok(Number(last.headers.get('retry-after')) >= 1);
    assert.equal((await last.json()).error.code, 42910);
    // even the right password waits now (the attempt is refused before it is checked)
    const right = await fetch(`${rtauthd.baseUrl}/console/api/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }),
    });
    assert.equal(right.status, 429);
    // the logged-in session is not affected
    const still = await page.evaluate(async () => (await fetch('/console/api/session')).status);
    assert.equal(still, 200);
  });

  it('logs out: the session ends and the cookie is cleared', TEST, async () => {
    await page.click('#logout');
    await until(() => !window.rtaConsole.loggedIn && !document.getElementById('login-view').classList.contains('hidden'), 'logged out');
    assert.equal((await page.cookies()).length, 0);
    const st = await page.evaluate(async () => (await fetch('/console/api/apps')).status);
    assert.equal(st, 401);
  });

  it('/console is 404 without --console', TEST, async () => {
    const plain = await startServer();
    try {
      for (const p of ['/console', '/console/', '/console/api/login']) {
        const r = await fetch(`${plain.baseUrl}${p}`, { method: p.endsWith('login') ? 'POST' : 'GET',
          headers: { 'content-type': 'application/json' }, body: p.endsWith('login') ? JSON.stringify({ password: PASSWORD }) : undefined });
        assert.equal(r.status, 404, p);
      }
    } finally {
      await plain.stop();
    }
  });
});
