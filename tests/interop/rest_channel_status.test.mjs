// GET /channels/{name} with ably-js 2.28.0 (RSL8: rest.channels.get(x).status()): a
// ChannelDetails {channelId, status:{isActive, occupancy:{metrics}}} (CHD2, CHS2, CHO2, CHM2)
// counted from the realtime connections attached on this node: connections, publishers,
// subscribers (by granted mode), presenceConnections, presenceMembers, presenceSubscribers;
// a channel nobody is attached to is inactive with zero metrics; the channel-metadata
// capability is required (40160, S-45), per app. Both formats.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';

import { FORMATS, assertErrorReply, basicAuth, raw, randomId, rejectsWith, restClient } from './lib/helpers.mjs';
import { Clients, boundedIt } from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);

let server;
let app, other;
let k0, k3;

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
  other = await provisionApp(server);
  k0 = app.keys[0];
  k3 = app.keys[3]; // {'*': ['subscribe']}
});

after(async () => {
  if (server) await server.stop();
});

const ZERO = {
  connections: 0,
  publishers: 0,
  subscribers: 0,
  presenceConnections: 0,
  presenceMembers: 0,
  presenceSubscribers: 0,
};

const pick = (m) => Object.fromEntries(Object.keys(ZERO).map((k) => [k, m[k]]));

/** Polls status() until pred holds (occupancy follows ATTACH/DETACH frames). */
async function statusUntil(ch, pred, what) {
  const deadline = Date.now() + 10000;
  let last;
  while (Date.now() < deadline) {
    last = await ch.status();
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what}: last status ${JSON.stringify(last)}`);
}

for (const { name, binary } of FORMATS) {
  const format = binary ? 'msgpack' : 'json';

  describe(`REST channel status (${name})`, () => {
    const clients = new Clients(null, binary);
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());
    const rest = (opts = { key: k0.keyStr }) => restClient(server, opts, binary);

    it('RSL8: a channel nobody is attached to is inactive, with zero metrics', async () => {
      const chName = randomId('idle');
      await rest().channels.get(chName).publish('m', 'only REST'); // history, no attachment
      const details = await rest().channels.get(chName).status();
      assert.equal(details.channelId, chName);
      assert.equal(details.status.isActive, false);
      assert.deepEqual(pick(details.status.occupancy.metrics), ZERO);
    });

    it('RSL8, CHM2: occupancy counts attached connections by granted mode and presence members', async () => {
      const chName = randomId('busy');
      const a = clients.realtime({ key: k0.keyStr, clientId: 'alice' });
      const b = clients.realtime({ key: k0.keyStr });
      const chA = a.channels.get(chName); // default modes: publish, subscribe, presence, presence_subscribe
      await chA.attach();
      await chA.presence.enter('here');
      const chB = b.channels.get(chName, { modes: ['SUBSCRIBE'] });
      await chB.attach();
      const rch = rest().channels.get(chName);
      const details = await statusUntil(
        rch,
        (d) => d.status.occupancy.metrics.connections === 2 && d.status.occupancy.metrics.presenceMembers === 1,
        'two connections and one member',
      );
      assert.equal(details.channelId, chName);
      assert.equal(details.status.isActive, true);
      assert.deepEqual(pick(details.status.occupancy.metrics), {
        connections: 2,
        publishers: 1,
        subscribers: 2,
        presenceConnections: 1,
        presenceMembers: 1,
        presenceSubscribers: 1,
      });
      await chA.presence.leave();
      await chA.detach();
      const later = await statusUntil(rch, (d) => d.status.occupancy.metrics.connections === 1, 'after detach');
      assert.deepEqual(pick(later.status.occupancy.metrics), { ...ZERO, connections: 1, subscribers: 1 });
      await chB.detach();
      const idle = await statusUntil(rch, (d) => !d.status.isActive, 'after the last detach');
      assert.deepEqual(pick(idle.status.occupancy.metrics), ZERO);
    });

    it('RSL8: occupancy is per app (the same name in another app is another channel)', async () => {
      const chName = randomId('perapp');
      const a = clients.realtime({ key: k0.keyStr });
      await a.channels.get(chName).attach();
      await statusUntil(rest().channels.get(chName), (d) => d.status.isActive, 'active in its app');
      const theirs = await rest({ key: other.keys[0].keyStr }).channels.get(chName).status();
      assert.equal(theirs.status.isActive, false);
      assert.equal(theirs.status.occupancy.metrics.connections, 0);
    });

    it('S-45: channel-metadata is required (40160); a token with it on the channel may ask', async () => {
      const chName = randomId('meta');
      await rejectsWith(rest({ key: k3.keyStr }).channels.get(chName).status(), { statusCode: 401, code: 40160 }, 'subscribe-only key');
      const tokenDetails = await rest().auth.requestToken({
        capability: JSON.stringify({ [chName]: ['channel-metadata'], other: ['publish'] }),
      });
      const tr = rest({ tokenDetails });
      const ok = await tr.channels.get(chName).status();
      assert.equal(ok.channelId, chName);
      await rejectsWith(tr.channels.get('other').status(), { statusCode: 401, code: 40160 }, 'another channel');
    });

    it('raw: GET /channels/{name} answers in the Accept format; 40101 without credentials', async () => {
      const chName = randomId('raw');
      const r = await raw(server, 'GET', `/channels/${encodeURIComponent(chName)}`, {
        format,
        headers: { authorization: basicAuth(k0.keyStr) },
      });
      assert.equal(r.status, 200);
      assert.equal(r.contentType, format === 'msgpack' ? 'application/x-msgpack' : 'application/json');
      assert.equal(r.body.channelId, chName);
      assert.equal(r.body.status.isActive, false);
      const anon = await raw(server, 'GET', `/channels/${encodeURIComponent(chName)}`, { format });
      assertErrorReply(anon, { status: 401, code: 40101, format });
    });
  });
}
