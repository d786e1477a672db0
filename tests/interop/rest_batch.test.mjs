// Batch REST with ably-js 2.28.0: rest.batchPublish() (RSC22: POST /messages with one
// BatchPublishSpec or an array; a BatchResult per spec, successCount / failureCount /
// results of {channel, messageId, serials} or {channel, error}, BAR2, BPR, BPF) and
// rest.batchPresence() (RSC24: GET /presence?channels=a,b; BGR, BGF). Each channel's
// capability is checked on its own (40160 fails that channel only, S-45); messages the
// credentials may not publish fail the whole request (40012). request() with an old
// X-Ably-Version gets the legacy shapes: a plain array, or 400/40020 with batchResponse on a
// partial failure. Messages reach realtime subscribers and history. Both formats.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';

import { FORMATS, assertErrorReply, basicAuth, raw, randomId, rejectsWith, restClient } from './lib/helpers.mjs';
import { Clients, boundedIt, recordMessages } from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);

let server;
let app;
let k0, k1;

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
  [k0, k1] = app.keys; // k1: canpublish:* publish, cansubscribe:* subscribe
});

after(async () => {
  if (server) await server.stop();
});

for (const { name, binary } of FORMATS) {
  const format = binary ? 'msgpack' : 'json';

  describe(`REST batch (${name})`, () => {
    const clients = new Clients(null, binary);
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());
    const rest = (opts = { key: k0.keyStr }) => restClient(server, opts, binary);

    it('RSC22: batchPublish(spec) publishes to every channel; subscribers and history see it', async () => {
      const [c1, c2] = [randomId('b1'), randomId('b2')];
      const rt = clients.realtime({ key: k0.keyStr });
      const ch1 = rt.channels.get(c1);
      const rec = await recordMessages(ch1);
      const result = await rest().batchPublish({
        channels: [c1, c2],
        messages: [
          { name: 'a', data: 'one' },
          { name: 'b', data: { x: 1 } },
        ],
      });
      assert.equal(result.successCount, 2, JSON.stringify(result));
      assert.equal(result.failureCount, 0);
      assert.deepEqual(result.results.map((r) => r.channel), [c1, c2]);
      for (const r of result.results) {
        assert.ok(typeof r.messageId === 'string' && r.messageId.length > 0, JSON.stringify(r));
        assert.equal(r.serials.length, 2);
      }
      const got = await rec.waitFor((m) => m.name === 'b', 5000, 'the second message');
      assert.deepEqual(got.data, { x: 1 });
      const h = await rest().channels.get(c2).history({ direction: 'forwards' });
      assert.deepEqual(h.items.map((m) => [m.name, m.data]), [['a', 'one'], ['b', { x: 1 }]]);
      assert.equal(h.items[0].id, `${result.results[1].messageId}:0`);
    });

    it('RSC22: batchPublish([specs]) answers one BatchResult per spec', async () => {
      const [c1, c2, c3] = [randomId('s1'), randomId('s2'), randomId('s3')];
      const results = await rest().batchPublish([
        { channels: [c1], messages: [{ name: 'x', data: '1' }] },
        { channels: [c2, c3], messages: { name: 'y', data: '2' } },
      ]);
      assert.equal(results.length, 2);
      assert.deepEqual(results.map((r) => r.successCount), [1, 2]);
      assert.deepEqual(results[1].results.map((r) => r.channel), [c2, c3]);
      const h = await rest().channels.get(c3).history();
      assert.deepEqual(h.items.map((m) => m.name), ['y']);
    });

    it('S-45: a channel outside the capability fails alone with 40160; the others publish', async () => {
      const ok = `canpublish:${randomId('ok')}`;
      const denied = `cansubscribe:${randomId('no')}`;
      const result = await rest({ key: k1.keyStr }).batchPublish({
        channels: [ok, denied, ''],
        messages: [{ name: 'm', data: 'd' }],
      });
      assert.equal(result.successCount, 1, JSON.stringify(result));
      assert.equal(result.failureCount, 2);
      assert.equal(result.results[0].channel, ok);
      assert.ok(result.results[0].messageId);
      assert.equal(result.results[1].channel, denied);
      assert.equal(result.results[1].error.code, 40160);
      assert.equal(result.results[1].error.statusCode, 401);
      assert.equal(result.results[2].error.code, 40010, 'an invalid name fails alone too');
      const h = await rest().channels.get(denied).history();
      assert.equal(h.items.length, 0, 'nothing published on the denied channel');
    });

    it('RSC22: messages the credentials may not publish fail the whole batch (40012); bad bodies 40001', async () => {
      const c = randomId('cid');
      const tokenDetails = await rest().auth.requestToken({ clientId: 'me' });
      await rejectsWith(
        rest({ tokenDetails }).batchPublish({ channels: [c], messages: [{ name: 'm', clientId: 'someone-else' }] }),
        { statusCode: 400, code: 40012 },
        'a foreign clientId',
      );
      const h = await rest().channels.get(c).history();
      assert.equal(h.items.length, 0);
      const mine = await rest({ tokenDetails }).batchPublish({ channels: [c], messages: [{ name: 'm' }] });
      assert.equal(mine.successCount, 1);
      const h2 = await rest().channels.get(c).history();
      assert.equal(h2.items[0].clientId, 'me', 'the token clientId is stamped (S-51)');
      await rejectsWith(rest().batchPublish({ channels: [c] }), { statusCode: 400, code: 40001 }, 'no messages');
      await rejectsWith(rest().batchPublish({ messages: [{ name: 'x' }] }), { statusCode: 400, code: 40001 }, 'no channels');
    });

    it('RSC24: batchPresence(channels) lists each channel\'s members; 40160 per channel', async () => {
      const [c1, c2] = [randomId('p1'), randomId('p2')];
      const rt = clients.realtime({ key: k0.keyStr, clientId: 'alice' });
      const ch = rt.channels.get(c1);
      await ch.attach();
      await ch.presence.enter('here');
      const result = await rest().batchPresence([c1, c2]);
      assert.equal(result.successCount, 2, JSON.stringify(result));
      assert.equal(result.failureCount, 0);
      const [r1, r2] = result.results;
      assert.equal(r1.channel, c1);
      assert.equal(r1.presence.length, 1);
      assert.equal(r1.presence[0].clientId, 'alice');
      assert.equal(r1.presence[0].data, 'here');
      assert.equal(r1.presence[0].connectionId, rt.connection.id);
      assert.deepEqual(r2.presence, []);
      const mixed = await rest({ key: k1.keyStr }).batchPresence(['cansubscribe:a', 'canpublish:b']);
      assert.equal(mixed.successCount, 1);
      assert.equal(mixed.failureCount, 1);
      assert.equal(mixed.results[1].error.code, 40160);
    });

    it('request(): version 1 gets the legacy shapes: an array, or 400/40020 with batchResponse', async () => {
      const good = await rest().request('post', '/messages', 1, {}, { channels: [randomId('l')], messages: [{ name: 'x' }] });
      assert.equal(good.statusCode, 201);
      assert.equal(good.success, true);
      assert.equal(good.items.length, 1);
      assert.ok(good.items[0].messageId, JSON.stringify(good.items));
      const partial = await rest({ key: k1.keyStr }).request('post', '/messages', 1, {}, {
        channels: ['canpublish:l', 'cansubscribe:l'],
        messages: [{ name: 'x' }],
      });
      assert.equal(partial.statusCode, 400);
      assert.equal(partial.success, false);
      assert.equal(partial.errorCode, 40020);
      const body = partial.items[0];
      assert.equal(body.error.code, 40020);
      assert.equal(body.batchResponse.length, 2);
      assert.ok(body.batchResponse[0].messageId);
      assert.equal(body.batchResponse[1].error.code, 40160);
      const v3 = await rest().request('post', '/messages', 3, {}, { channels: [randomId('v')], messages: [{ name: 'x' }] });
      assert.equal(v3.statusCode, 201);
      assert.equal(v3.items[0].successCount, 1, JSON.stringify(v3.items));
      const pres = await rest().request('get', '/presence', 3, { channels: randomId('q') });
      assert.equal(pres.statusCode, 200);
      assert.equal(pres.items[0].successCount, 1);
    });

    it('raw: GET /presence without channels is 40003; POST /messages without credentials 40101', async () => {
      const r = await raw(server, 'GET', '/presence', { format, headers: { authorization: basicAuth(k0.keyStr) } });
      assertErrorReply(r, { status: 400, code: 40003, format });
      const anon = await raw(server, 'POST', '/messages', { format, body: { channels: ['x'], messages: [{ name: 'x' }] } });
      assertErrorReply(anon, { status: 401, code: 40101, format });
    });
  });
}
