// Debian's Chromium, headless, driven by puppeteer-core; and the two small servers a browser
// test needs besides rtauthd: the page's own origin (a static server for the page and
// ably-js's browser bundle) and an auth server on another origin that signs TokenRequests
// with an app key, as an app's backend does (README "The client SDK": the authUrl pattern).
//
// Never downloads a browser (puppeteer-core, executablePath only) and never lets Chromium
// reach for the network by itself (the background-networking flags: this machine's network
// is closed and Chromium would keep retrying). Every server listens on 127.0.0.1 only.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import Ably from 'ably';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
export const CHROMIUM = process.env.RTA_CHROMIUM || '/usr/bin/chromium';
// ably-js 2.28.0's UMD browser bundle (sets window.Ably).
export const ABLY_BUNDLE = path.join(REPO_ROOT, 'node_modules', 'ably', 'build', 'ably.js');
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const LAUNCH_TIMEOUT_MS = 30000;

/**
 * Starts Chromium with a fresh profile. Returns { browser, close }. When Chromium cannot start
 * that is an error (make test installs it through scripts/install-deps), unless
 * RTA_ALLOW_BROWSER_SKIP=1 asks for { skip: reason } on a machine without it.
 */
export async function launchChromium() {
  let why;
  let userDataDir;
  try {
    const { default: puppeteer } = await import('puppeteer-core');
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (scripts/install-deps installs chromium)`);
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtauth-chromium-'));
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      ignoreDefaultArgs: true, // exactly the flags above, plus the DevTools port puppeteer adds
      args: [...CHROMIUM_ARGS, `--user-data-dir=${userDataDir}`, 'about:blank'],
      timeout: LAUNCH_TIMEOUT_MS,
      protocolTimeout: LAUNCH_TIMEOUT_MS,
    });
    const close = async () => {
      try {
        await browser.close();
      } finally {
        fs.rmSync(userDataDir, { recursive: true, force: true });
      }
    };
    return { browser, close };
  } catch (err) {
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    why = `chromium cannot start: ${err.message.split('\n')[0]}`;
  }
  if (process.env.RTA_ALLOW_BROWSER_SKIP !== '1') {
    throw new Error(`${why} (scripts/install-deps installs chromium and puppeteer-core; RTA_ALLOW_BROWSER_SKIP=1 skips)`);
  }
  console.log(`SKIP browser tests: ${why}`);
  return { skip: why };
}

/** A node http server on 127.0.0.1 and a free port; resolves to { server, port, origin, close }. */
function listen(handler) {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handler);
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      const close = () =>
        new Promise((done) => {
          server.closeAllConnections();
          server.close(() => done());
        });
      resolve({ server, port, origin: `http://127.0.0.1:${port}`, close });
    });
  });
}

// The page: ably.js and a few bounded helpers for the tests' page.evaluate() calls.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>rtauth browser test</title>
<script src="/ably.js"></script>
<script>
  // An ErrorInfo as plain data (page.evaluate cannot return Error objects).
  window.errorOf = (e) => (e ? { code: e.code, statusCode: e.statusCode, message: e.message } : null);
  window.withTimeout = (promise, ms, what) =>
    Promise.race([
      promise,
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out: ' + what)), ms)),
    ]);
  // Resolves with {state, reason} when the connection reaches one of the states; rejects
  // after ms, or when it fails while waiting for something else.
  window.connectionState = (connection, states, ms) =>
    new Promise((resolve, reject) => {
      const done = (s) => {
        clearTimeout(timer);
        connection.off(listener);
        resolve({ state: s.current, reason: errorOf(s.reason) });
      };
      const listener = (s) => {
        if (states.includes(s.current)) done(s);
        else if (s.current === 'failed') {
          clearTimeout(timer);
          connection.off(listener);
          reject(new Error('connection failed: ' + JSON.stringify(errorOf(s.reason))));
        }
      };
      const timer = setTimeout(() => {
        connection.off(listener);
        reject(new Error('timed out waiting for ' + states + ' (state ' + connection.state + ', reason ' +
          JSON.stringify(errorOf(connection.errorReason)) + ')'));
      }, ms);
      if (states.includes(connection.state)) {
        clearTimeout(timer);
        resolve({ state: connection.state, reason: errorOf(connection.errorReason) });
      } else connection.on(listener);
    });
</script></head>
<body><p>rtauth browser test page</p></body></html>`;

/** The page's origin: / is the test page, /ably.js the bundle. */
export async function startPageServer() {
  const bundle = fs.readFileSync(ABLY_BUNDLE);
  return listen((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE);
    } else if (url.pathname === '/ably.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' });
      res.end(bundle);
    } else if (url.pathname === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
}

/**
 * The app's auth server, on its own origin: GET /auth?clientId=&capability=&ttl= answers a
 * TokenRequest signed with `key` (application/json), readable cross-origin
 * (Access-Control-Allow-Origin: *; ably-js sends no credentials to an authUrl). A real one
 * would decide the clientId and capability from the user's session; this one grants what it
 * is asked and records each request's query in `requests`.
 */
export async function startAuthServer(rtauthd, key) {
  const rest = new Ably.Rest({ key, endpoint: '127.0.0.1', port: rtauthd.port, tls: false, logLevel: 0 });
  const requests = [];
  const srv = await listen(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const cors = { 'access-control-allow-origin': '*' };
    if (url.pathname !== '/auth' || req.method !== 'GET') {
      res.writeHead(404, cors);
      res.end();
      return;
    }
    const q = Object.fromEntries(url.searchParams);
    requests.push(q);
    const params = {};
    if (q.clientId) params.clientId = q.clientId;
    if (q.capability) params.capability = q.capability;
    if (q.ttl) params.ttl = Number(q.ttl);
    try {
      const tokenRequest = await rest.auth.createTokenRequest(params);
      res.writeHead(200, { ...cors, 'content-type': 'application/json' });
      res.end(JSON.stringify(tokenRequest));
    } catch (err) {
      res.writeHead(500, { ...cors, 'content-type': 'text/plain' });
      res.end(String(err.message));
    }
  });
  srv.requests = requests;
  srv.key = key;
  srv.authUrl = `${srv.origin}/auth`;
  return srv;
}

/**
 * A fresh page on pageOrigin, recording its console, page errors and failed requests in
 * `log` (print it when a test fails: Chromium says there why it blocked a CORS request).
 */
export async function openPage(browser, pageOrigin) {
  const page = await browser.newPage();
  const log = [];
  page.on('console', (m) => log.push(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  page.on('requestfailed', (r) => log.push(`[requestfailed] ${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  await page.goto(`${pageOrigin}/`, { waitUntil: 'load', timeout: 15000 });
  return { page, log };
}

/**
 * Runs fn({page, log}) on a fresh page and closes it; on failure, adds the page's log (and the
 * path of a screenshot) to the error.
 */
export async function withPage(browser, pageOrigin, fn) {
  const { page, log } = await openPage(browser, pageOrigin);
  try {
    return await fn({ page, log });
  } catch (err) {
    let shot = '';
    try {
      const file = path.join(os.tmpdir(), `rtauth-browser-failure-${process.pid}-${Date.now()}.png`);
      await page.screenshot({ path: file });
      shot = `\nscreenshot: ${file}`;
    } catch {}
    err.message += `\n--- page log (${log.length} lines) ---\n${log.join('\n')}${shot}`;
    throw err;
  } finally {
    await page.close().catch(() => {});
  }
}
