// REST presence with ably-js 2.28.0: rest.channels.get(x).presence.get() (RSP3: the members
// present on the channel, params limit / clientId / connectionId, paging through Link) and
// presence.history() (RSP4: enter/update/leave events, start / end / direction / limit,
// paging), also realtime channel.presence.history() which ably-js sends over REST (RTP12).
// Members come from real ably-js Realtime clients. Capabilities (S-45): subscribe reads the
// set, history reads its history (40160 otherwise). Both formats.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';

import { FORMATS, assertErrorReply, basicAuth, raw, randomId, rejectsWith, restClient } from './lib/helpers.mjs';
import { Clients, boundedIt } from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);

let server;
let app, other;
let k0, k1, k3;

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
  other = await provisionApp(server);
  [k0, k1] = app.keys;
  k3 = app.keys[3]; // {'*': ['subscribe']}
});

after(async () => {
  if (server) await server.stop();
});

/** Polls presence.get() until it has n members. */
async function membersUntil(presence, n, params) {
  const deadline = Date.now() + 10000;
  let page;
  while (Date.now() < deadline) {
    page = await presence.get(params);
    if (page.items.length === n) return page;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`expected ${n} members, last ${JSON.stringify(page?.items)}`);
}

async function allPages(page) {
  const items = [...page.items];
  while (page.hasNext()) {
    page = await page.next();
    items.push(...page.items);
  }
  return items;
}

for (const { name, binary } of FORMATS) {
  const format = binary ? 'msgpack' : 'json';

  describe(`REST presence (${name})`, () => {
    const clients = new Clients(null, binary);
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());
    const rest = (opts = { key: k0.keyStr }) => restClient(server, opts, binary);

    /** A realtime client `clientId` entered on chName with data. */
    async function member(chName, clientId, data) {
      const rt = clients.realtime({ key: k0.keyStr, clientId });
      const ch = rt.channels.get(chName);
      await ch.attach();
      await ch.presence.enter(data);
      return { rt, ch };
    }

    it('RSP3: presence.get() lists the members present, their data and connectionIds', async () => {
      const chName = randomId('get');
      const alice = await member(chName, 'alice', 'hello');
      const bob = await member(chName, 'bob', { n: 1, list: ['x'] });
      const page = await membersUntil(rest().channels.get(chName).presence, 2);
      const byId = Object.fromEntries(page.items.map((m) => [m.clientId, m]));
      assert.equal(byId.alice.action, 'present');
      assert.equal(byId.alice.data, 'hello');
      assert.equal(byId.alice.connectionId, alice.rt.connection.id);
      assert.deepEqual(byId.bob.data, { n: 1, list: ['x'] });
      assert.equal(byId.bob.connectionId, bob.rt.connection.id);
      assert.ok(byId.bob.timestamp > 0 && typeof byId.bob.id === 'string', JSON.stringify(byId.bob));
      assert.ok(page.isLast());
      // a member that leaves is gone from the set
      await alice.ch.presence.leave();
      const after1 = await membersUntil(rest().channels.get(chName).presence, 1);
      assert.equal(after1.items[0].clientId, 'bob');
    });

    it('RSP3a: clientId and connectionId filters; limit pages through Link', async () => {
      const chName = randomId('filter');
      const names = ['m1', 'm2', 'm3'];
      const ms = [];
      for (const n of names) ms.push(await member(chName, n, Buffer.from(n)));
      const presence = rest().channels.get(chName).presence;
      await membersUntil(presence, 3);
      const one = await presence.get({ clientId: 'm2' });
      assert.deepEqual(one.items.map((m) => m.clientId), ['m2']);
      assert.ok(Buffer.from(one.items[0].data).equals(Buffer.from('m2')), 'binary data round-trips');
      const byConn = await presence.get({ connectionId: ms[2].rt.connection.id });
      assert.deepEqual(byConn.items.map((m) => m.clientId), ['m3']);
      const none = await presence.get({ clientId: 'nobody' });
      assert.equal(none.items.length, 0);
      const first = await presence.get({ limit: 2 });
      assert.equal(first.items.length, 2);
      assert.ok(first.hasNext(), 'a next page');
      const all = await allPages(first);
      assert.deepEqual(all.map((m) => m.clientId).sort(), names);
    });

    it('RSP4: presence.history() records enter, update and leave; direction, limit, paging', async () => {
      const chName = randomId('hist');
      const t0 = Date.now();
      const a = await member(chName, 'alice', 'v1');
      await a.ch.presence.update('v2');
      await a.ch.presence.leave('bye');
      const presence = rest().channels.get(chName).presence;
      let back;
      const deadline = Date.now() + 10000;
      do {
        back = await presence.history();
        if (back.items.length >= 3) break;
        await new Promise((r) => setTimeout(r, 50));
      } while (Date.now() < deadline);
      assert.deepEqual(back.items.map((m) => [m.action, m.clientId, m.data]), [
        ['leave', 'alice', 'bye'],
        ['update', 'alice', 'v2'],
        ['enter', 'alice', 'v1'],
      ]);
      assert.ok(back.items.every((m) => m.connectionId === a.rt.connection.id && m.timestamp >= t0 - 1000));
      const fwd = await presence.history({ direction: 'forwards' });
      assert.deepEqual(fwd.items.map((m) => m.action), ['enter', 'update', 'leave']);
      const p1 = await presence.history({ limit: 2 });
      assert.equal(p1.items.length, 2);
      assert.ok(p1.hasNext());
      const p2 = await p1.next();
      assert.deepEqual(p2.items.map((m) => m.action), ['enter']);
      assert.ok(p2.isLast());
      const later = await presence.history({ start: Date.now() + 60000 });
      assert.equal(later.items.length, 0, 'start in the future: nothing');
      // RTP12: realtime presence history goes over REST to the same endpoint
      const viaRealtime = await a.ch.presence.history({ direction: 'forwards' });
      assert.deepEqual(viaRealtime.items.map((m) => m.action), ['enter', 'update', 'leave']);
    });

    it('RSP4: a connection that closes leaves (a synthesized leave in history)', async () => {
      const chName = randomId('gone');
      const a = await member(chName, 'carol', 'x');
      const connId = a.rt.connection.id;
      a.rt.close();
      const presence = rest().channels.get(chName).presence;
      await membersUntil(presence, 0);
      const h = await presence.history();
      assert.equal(h.items[0].action, 'leave');
      assert.equal(h.items[0].clientId, 'carol');
      assert.equal(h.items[0].connectionId, connId);
    });

    it('S-45: presence.get needs subscribe, presence.history needs history (40160); per app', async () => {
      const chName = randomId('cap');
      await member(chName, 'alice', 'x');
      await membersUntil(rest().channels.get(chName).presence, 1);
      const sub = rest({ key: k3.keyStr }).channels.get(chName).presence; // subscribe only
      const seen = await sub.get();
      assert.equal(seen.items.length, 1);
      await rejectsWith(sub.history(), { statusCode: 401, code: 40160 }, 'history without history');
      const pub = rest({ key: k1.keyStr }).channels.get('canpublish:x').presence; // publish only
      await rejectsWith(pub.get(), { statusCode: 401, code: 40160 }, 'get without subscribe');
      const theirs = await rest({ key: other.keys[0].keyStr }).channels.get(chName).presence.get();
      assert.equal(theirs.items.length, 0, 'another app does not see these members');
      const theirHistory = await rest({ key: other.keys[0].keyStr }).channels.get(chName).presence.history();
      assert.equal(theirHistory.items.length, 0, 'nor their history');
    });

    it('raw: bad parameters are 40003; Link names the next page', async () => {
      const chName = randomId('raw');
      await member(chName, 'a1', 'x');
      await member(chName, 'a2', 'y');
      await membersUntil(rest().channels.get(chName).presence, 2);
      const auth = { authorization: basicAuth(k0.keyStr) };
      const p = `/channels/${encodeURIComponent(chName)}/presence`;
      for (const q of ['limit=0', 'limit=1001', 'limit=x', 'cursor=-1']) {
        const r = await raw(server, 'GET', `${p}?${q}`, { format, headers: auth });
        assertErrorReply(r, { status: 400, code: 40003, format }, q);
      }
      const r = await raw(server, 'GET', `${p}?limit=1`, { format, headers: auth });
      assert.equal(r.status, 200);
      assert.equal(r.body.length, 1);
      assert.match(r.headers.get('link'), /<\.\/presence\?limit=1&cursor=1>; rel="next"/);
      const h = await raw(server, 'GET', `${p}/history?direction=sideways`, { format, headers: auth });
      assertErrorReply(h, { status: 400, code: 40003, format }, 'direction');
    });
  });
}
