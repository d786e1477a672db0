// GET /stats (RSC6, TS12; issues 16, 17) with ably-js 2.28.0's rest.stats(), in both formats.
// Live counts: after real token requests (succeeded, refused, failed), REST and realtime
// publishes, a realtime connection and a channel, the app's stats carry them in Ably's
// entries (messages.*, apiRequests.tokenRequests.*, connections.all.*, channels.*), with
// inProgress on the current interval. History: minute rows written into the store as Ably's
// own stats tests create fixtures (here with sqlite3 into the server's database), then units
// (TS12a intervalIds), direction, limit and Link paging with next()/first() (RSC6b), the
// default limit of 100, bad parameters (40003), the stats capability (40160) and app scoping.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe } from 'node:test';

import { FORMATS, basicAuth, raw, rejectsWith, restClient } from './lib/helpers.mjs';
import { Clients, boundedIt, waitConnection } from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);

const MINUTE = 60000;
const lastYear = new Date().getUTCFullYear() - 1;
const T0 = Date.UTC(lastYear, 1, 3, 15, 3, 0); // 3 Feb last year, 15:03 UTC
const OLD = Date.UTC(lastYear - 1, 1, 3, 15, 5, 0); // 120 minutes ending here, the year before

const COLUMNS = ['msg_in_rt', 'msg_in_rt_data', 'msg_out', 'msg_out_data', 'conn_opened', 'conn_peak',
  'chan_opened', 'chan_peak', 'token_ok', 'token_failed', 'token_refused'];

/** Writes minute rows into the server's store (the fixture route Ably's own tests use is POST
 * /stats on its sandbox; rtauthd has none, so the rows go in with sqlite3). */
function insertRows(server, appId, rows) {
  const sql = rows
    .map((r) => {
      const cols = Object.keys(r.v);
      for (const c of cols) assert.ok(COLUMNS.includes(c), c);
      return `INSERT INTO stats(app_id, minute, ${cols.join(', ')}) VALUES('${appId}', ${r.at / MINUTE}, ${cols
        .map((c) => r.v[c])
        .join(', ')});`;
    })
    .join('\n');
  const res = spawnSync('sqlite3', ['-bail', path.join(server.dataDir, 'rtauth.db')], {
    input: `.timeout 5000\nBEGIN;\n${sql}\nCOMMIT;\n`,
    encoding: 'utf8',
  });
  assert.equal(res.status, 0, `sqlite3: ${res.stderr}`);
}

const sum = (items, k) => items.reduce((a, s) => a + (s.entries[k] ?? 0), 0);
const max = (items, k) => items.reduce((a, s) => Math.max(a, s.entries[k] ?? 0), 0);

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  if (server) await server.stop();
});

for (const { name, binary } of FORMATS) {
  describe(`rest.stats() (${name})`, () => {
    let app;
    let other;
    const clients = new Clients(null, binary);
    before(async () => {
      clients.server = server;
      app = await provisionApp(server);
      other = await provisionApp(server);
      insertRows(server, app.appId, [
        { at: T0, v: { msg_in_rt: 50, msg_in_rt_data: 5000, msg_out: 20, msg_out_data: 2000 } },
        { at: T0 + MINUTE, v: { msg_in_rt: 60, msg_in_rt_data: 6000, msg_out: 10, msg_out_data: 1000 } },
        {
          at: T0 + 2 * MINUTE,
          v: { msg_in_rt: 70, msg_in_rt_data: 7000, msg_out: 40, msg_out_data: 4000, conn_opened: 10, conn_peak: 20,
            chan_opened: 30, chan_peak: 50, token_ok: 60, token_failed: 20, token_refused: 3 },
        },
        { at: T0 + 67 * MINUTE, v: { msg_in_rt: 5, msg_in_rt_data: 50, conn_peak: 7 } }, // 16:10
        ...Array.from({ length: 120 }, (_, i) => ({ at: OLD - i * MINUTE, v: { msg_in_rt: i + 1 } })),
      ]);
    });
    after(() => clients.closeAll());
    const keyRest = () => restClient(server, { key: app.keys[0].keyStr }, binary);

    it('RSC6a: counts live activity in Ably entries: token requests (succeeded, refused, failed), REST and realtime messages, a connection and a channel; the current interval is inProgress', async () => {
      const since = Date.now() - 2 * MINUTE;
      const rest = keyRest();
      await rest.auth.requestToken({ clientId: 'a' });
      await rest.auth.requestToken({ clientId: 'b' });
      await rejectsWith(
        restClient(server, { key: app.keys[3].keyStr }, binary).auth.requestToken({ capability: { x: ['publish'] } }),
        { statusCode: 401, code: 40160 },
        'refused token request',
      );
      const bad = await raw(server, 'POST', `/keys/${app.keys[0].keyName}/requestToken`, {
        headers: { authorization: basicAuth(app.keys[0].keyStr) },
        body: { ttl: -5 },
      });
      assert.equal(bad.status, 400, JSON.stringify(bad.body));
      await rest.channels.get('stats-rest').publish([{ name: 'a', data: 'xx' }, { name: 'b', data: 'yy' }]);
      const rt = clients.realtime({ key: app.keys[0].keyStr });
      await waitConnection(rt, 'connected');
      const ch = rt.channels.get('stats-rt');
      await ch.attach();
      const got = new Promise((resolve) => ch.subscribe(resolve));
      await ch.publish('c', 'hello');
      await got;

      const page = await rest.stats({ start: since, unit: 'minute' });
      const items = page.items;
      assert.ok(items.length >= 1 && items.length <= 3, `items ${items.length}`);
      for (const s of items) {
        assert.equal(s.unit, 'minute');
        assert.equal(s.appId, app.appId);
        assert.equal(s.schema, 'https://schemas.ably.com/json/app-stats-0.0.5.json');
        assert.match(s.intervalId, /^\d{4}-\d\d-\d\d:\d\d:\d\d$/);
        for (const v of Object.values(s.entries)) assert.ok(Number.isInteger(v) && v > 0, 'sparse, whole numbers');
      }
      assert.match(items[0].inProgress, /^\d{4}-\d\d-\d\d:\d\d:\d\d:\d\d$/, 'the current minute is in progress');
      const expected = {
        'apiRequests.tokenRequests.succeeded': 2,
        'apiRequests.tokenRequests.refused': 1,
        'apiRequests.tokenRequests.failed': 1,
        'apiRequests.all.succeeded': 3, // the two tokens and the REST publish
        'apiRequests.all.refused': 1,
        'apiRequests.all.failed': 1,
        'messages.inbound.rest.messages.count': 2,
        'messages.inbound.realtime.messages.count': 1,
        'messages.inbound.all.messages.count': 3,
        'messages.outbound.realtime.messages.count': 1,
        'messages.all.all.count': 4,
        'connections.all.opened': 1,
        'channels.opened': 1,
      };
      for (const [k, v] of Object.entries(expected)) assert.equal(sum(items, k), v, `${k}: ${JSON.stringify(items)}`);
      assert.equal(sum(items, 'messages.inbound.realtime.messages.data'), 6, 'name "c" and data "hello" (TO3l8)');
      assert.equal(max(items, 'connections.all.peak'), 1);
      assert.equal(max(items, 'channels.peak'), 1);
      // the same, aggregated by hour (RSC6b4)
      const hours = (await rest.stats({ start: since, unit: 'hour' })).items;
      assert.ok(hours.length >= 1 && hours.length <= 2);
      assert.equal(sum(hours, 'messages.all.all.count'), 4);
      assert.match(hours[0].intervalId, /^\d{4}-\d\d-\d\d:\d\d$/);
      // a token of the app reads them too; another app sees none of them
      const td = await rest.auth.requestToken();
      const viaToken = await restClient(server, { token: td.token }, binary).stats({ start: since });
      assert.ok(viaToken.items.length >= 1);
      const others = await restClient(server, { key: other.keys[0].keyStr }, binary).stats({ start: since });
      assert.equal(others.items.length, 0, JSON.stringify(others.items));
    });

    it('RSC6b4: minute, hour, day and month units aggregate the rows (sums add, peaks take the max) with TS12a intervalIds', async () => {
      const rest = keyRest();
      const params = { start: T0, end: T0 + 67 * MINUTE, direction: 'forwards' };
      const minutes = (await rest.stats({ ...params, unit: 'minute' })).items;
      assert.deepEqual(
        minutes.map((s) => s.intervalId),
        [`${lastYear}-02-03:15:03`, `${lastYear}-02-03:15:04`, `${lastYear}-02-03:15:05`, `${lastYear}-02-03:16:10`],
      );
      assert.deepEqual(minutes.map((s) => s.entries['messages.inbound.realtime.messages.count']), [50, 60, 70, 5]);
      assert.equal(minutes[2].entries['connections.all.peak'], 20);
      assert.equal(minutes[2].entries['apiRequests.tokenRequests.succeeded'], 60);
      assert.equal(minutes[2].entries['apiRequests.tokenRequests.refused'], 3);
      assert.equal(minutes[0].entries['messages.all.all.count'], 70);
      assert.equal(minutes[0].entries['messages.all.all.data'], 7000);
      assert.equal(minutes[0].inProgress, undefined);
      const hours = (await rest.stats({ ...params, unit: 'hour' })).items;
      assert.deepEqual(hours.map((s) => s.intervalId), [`${lastYear}-02-03:15`, `${lastYear}-02-03:16`]);
      assert.equal(hours[0].entries['messages.inbound.realtime.messages.count'], 180);
      assert.equal(hours[0].entries['messages.outbound.realtime.messages.count'], 70);
      for (const [unit, id] of [
        ['day', `${lastYear}-02-03:00`],
        ['month', `${lastYear}-02-01:00`],
      ]) {
        const items = (await rest.stats({ ...params, unit })).items;
        assert.equal(items.length, 1, unit);
        assert.equal(items[0].intervalId, id, unit);
        assert.equal(items[0].unit, unit);
        assert.equal(items[0].entries['messages.inbound.realtime.messages.count'], 185, unit);
        assert.equal(items[0].entries['connections.all.peak'], 20, `${unit}: the max of the minutes' peaks`);
        assert.equal(items[0].entries['channels.peak'], 50, unit);
      }
      // start and end are rounded down to their interval, and both are included
      const one = (await rest.stats({ start: T0 + MINUTE + 30000, end: T0 + MINUTE + 59999 })).items;
      assert.deepEqual(one.map((s) => s.entries['messages.inbound.realtime.messages.count']), [60]);
    });

    it('RSC6b2, RSC6b3: direction (backwards by default) and limit, with next() and first() over Link paging', async () => {
      const rest = keyRest();
      const end = T0 + 2 * MINUTE;
      const counts = (p) => p.items.map((s) => s.entries['messages.inbound.realtime.messages.count']);
      for (const [direction, order] of [
        [undefined, [70, 60, 50]],
        ['backwards', [70, 60, 50]],
        ['forwards', [50, 60, 70]],
      ]) {
        const p1 = await rest.stats({ start: T0, end, limit: 1, ...(direction ? { direction } : {}) });
        assert.deepEqual(counts(p1), [order[0]]);
        assert.ok(p1.hasNext() && !p1.isLast());
        const p2 = await p1.next();
        assert.deepEqual(counts(p2), [order[1]]);
        const p3 = await p2.next();
        assert.deepEqual(counts(p3), [order[2]]);
        assert.ok(p3.isLast(), `${direction}: last page`);
        assert.equal(await p3.next(), null);
        assert.deepEqual(counts(await p3.first()), [order[0]]);
      }
      // without start: from the epoch; limit defaults to 100 (the year-before fixture: 120)
      const old = await rest.stats({ end: OLD });
      assert.equal(old.items.length, 100);
      assert.equal(old.items[0].entries['messages.inbound.realtime.messages.count'], 1);
      const rest2 = await old.next();
      assert.equal(rest2.items.length, 20);
      assert.equal(rest2.items.at(-1).entries['messages.inbound.realtime.messages.count'], 120);
      assert.ok(rest2.isLast());
    });

    it('RSC6b: bad parameters are 400/40003; without the stats capability on * it is 40160', async () => {
      const rest = keyRest();
      for (const params of [
        { limit: 0 },
        { limit: 1001 },
        { unit: 'week' },
        { direction: 'sideways' },
        { start: T0 + MINUTE, end: T0 },
        { start: 'yesterday' },
        { end: -5 },
      ])
        await rejectsWith(rest.stats(params), { statusCode: 400, code: 40003 }, JSON.stringify(params));
      await rejectsWith(
        restClient(server, { key: app.keys[3].keyStr }, binary).stats(),
        { statusCode: 401, code: 40160 },
        'keys[3] may only subscribe',
      );
      await rejectsWith(
        restClient(server, { key: `${app.keys[0].keyName}:wrongsecret` }, binary).stats(),
        { statusCode: 401, code: 40101 },
        'wrong secret',
      );
    });
  });
}
