// The web demo (examples/web/, issue 18) in headless Chromium against a real rtauthd: the page
// gets short-lived tokens through the demo backend's authUrl and renews them in place (same
// connectionId), publishes on a channel its capability allows and is refused (40160) on one
// it does not, is upgraded in place by the backend (authorize(), same connection), and is
// revoked by the backend (DISCONNECTED 40141) and reconnects. Screenshots of the main states
// go to $RTA_DEMO_SCREENSHOTS or a temporary directory (printed; never committed).
// Run: RTA_BUILD_DIR=$PWD/build node --test tests/browser/demo.test.mjs
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { BUILD_DIR, freePort, provisionApp, startServer } from '../interop/lib/server.mjs';
import { launchChromium } from './lib/browser.mjs';

const chromium = await launchChromium();
const TEST = { timeout: 120000, skip: chromium.skip };
const SHOTS = process.env.RTA_DEMO_SCREENSHOTS || fs.mkdtempSync(path.join(os.tmpdir(), 'rtauth-demo-'));

async function startDemo(rtauthd, key) {
  const port = await freePort();
  const child = spawn(path.join(BUILD_DIR, 'example_web_demo'),
    ['--listen', String(port), '--rtauthd', `127.0.0.1:${rtauthd.port}`, '--ttl', '6000'],
    { env: { ...process.env, RTAUTH_KEY: key }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const deadline = Date.now() + 10000;
  while (!out.includes('demo: open')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`demo did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { origin: `http://127.0.0.1:${port}`, output: () => out,
           stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

describe('the web demo (examples/web) in Chromium', () => {
  let rtauthd;
  let demo;
  let page;
  const log = [];

  before(async () => {
    if (chromium.skip) return;
    rtauthd = await startServer();
    const app = await provisionApp(rtauthd, [{ revocableTokens: true }]);
    demo = await startDemo(rtauthd, app.keys[0].keyStr);
    page = await chromium.browser.newPage();
    await page.setViewport({ width: 1100, height: 820 });
    page.on('console', (m) => log.push(`[console.${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
    await page.goto(`${demo.origin}/?user=alice`, { waitUntil: 'load', timeout: 15000 });
    console.log(`# demo screenshots: ${SHOTS}`);
  });

  after(async () => {
    await page?.close().catch(() => {});
    await chromium.close?.();
    await demo?.stop();
    await rtauthd?.stop();
  });

  // Waits until the page's window.demo satisfies pred (a function source run in the page).
  async function until(pred, what, ms = 30000) {
    try {
      await page.waitForFunction(pred, { timeout: ms, polling: 100 });
    } catch (err) {
      const state = await page.evaluate(() => JSON.stringify({ ...window.demo, rt: undefined })).catch(() => '?');
      throw new Error(`${what}: ${err.message}\nwindow.demo: ${state}\n${log.join('\n')}\ndemo: ${demo.output()}`);
    }
  }
  const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  const events = () => page.evaluate(() => window.demo.events.slice());

  it('connects through the authUrl as alice and renews its short-lived token in place', TEST, async () => {
    await until(() => window.demo.state === 'connected', 'connected');
    const first = await page.evaluate(() => ({ clientId: window.demo.rt.auth.clientId,
                                               capability: window.demo.capability }));
    assert.equal(first.clientId, 'alice');
    await shot('1-connected');
    // a 6 s token: expiry (40142) then a new token from the authUrl on the same connection
    await until(() => window.demo.tokens.length >= 2 && window.demo.state === 'connected', 'renewed', 40000);
    const ids = await page.evaluate(() => window.demo.connectionIds);
    assert.equal(ids.length, 1, `renewal kept the connection: ${ids}`);
    await shot('2-renewed');
  });

  it('publishes on demo:public and receives it; demo:vip is refused with 40160', TEST, async () => {
    await page.click('#pub-public');
    await until(() => window.demo.events.some((e) => e.startsWith('received on demo:public')), 'echo');
    await page.click('#pub-vip');
    await until(() => window.demo.channel && window.demo.channel.channel === 'demo:vip', 'vip publish');
    const r = await page.evaluate(() => window.demo.channel);
    assert.deepEqual(r, { channel: 'demo:vip', ok: false, code: 40160 });
    await shot('3-refused');
  });

  it('the backend upgrades alice: authorize() on the same connection, demo:vip allowed', TEST, async () => {
    await page.click('#upgrade');
    await until(() => window.demo.upgraded, 'upgraded');
    const u = await page.evaluate(() => ({ ...window.demo.upgraded, capability: window.demo.rt.auth.tokenDetails.capability }));
    assert.equal(u.before, u.after, 'same connection');
    assert.match(u.capability, /demo:vip/);
    await page.click('#pub-vip');
    await until(() => window.demo.channel && window.demo.channel.channel === 'demo:vip' && window.demo.channel.ok, 'vip publish after upgrade');
    await shot('4-upgraded');
  });

  it('the backend revokes alice: DISCONNECTED 40141, then a new token and connected again', TEST, async () => {
    await page.evaluate(() => { window.demo.mark = window.demo.tokens.length; });
    await page.click('#revoke');
    await until(() => window.demo.events.some((e) => e.includes('reason=40141')), '40141');
    await shot('5-revoked');
    await until(() => window.demo.state === 'connected' && window.demo.tokens.length > window.demo.mark,
                'reconnected with a new token', 30000);
    const ev = await events();
    assert.ok(ev.some((e) => e.startsWith('backend: revokeTokens clientId:alice')), ev.join('\n'));
    await shot('6-reconnected');
  });
});
