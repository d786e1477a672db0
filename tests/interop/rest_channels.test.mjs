// REST channel endpoints with ably-js 2.28.0: POST /channels/{name}/messages (RSL1: publish of
// one message and of arrays, PublishResult serials, delivery to Realtime subscribers) and
// GET /channels/{name}/messages (RSL2: history of the in-memory window, limit, direction,
// start/end, paging through the Link header), under the gateway's capability and clientId
// rules (40160 publish / history, 40012, S-51..S-53), 40010 for invalid names, 40009 for
// oversize bodies, 40003 for bad query parameters, 40101 without credentials. Each case runs
// with useBinaryProtocol true (msgpack) and false (JSON); raw cases check both wire formats.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';

import { FORMATS, assertErrorReply, basicAuth, bearer, raw, randomId, rejectsWith, restClient } from './lib/helpers.mjs';
import { Clients, boundedIt, recordMessages, waitConnection } from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);

let server;
let app;
let k0, k1, k2;

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
  [k0, k1, k2] = app.keys;
});

after(async () => {
  if (server) await server.stop();
});

const path = (ch) => `/channels/${encodeURIComponent(ch)}/messages`;

for (const { name, binary } of FORMATS) {
  const format = binary ? 'msgpack' : 'json';

  describe(`REST channels (${name})`, () => {
    const clients = new Clients(null, binary);
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());

    const rest = (opts = { key: k0.keyStr }) => restClient(server, opts, binary);
    const tokenRest = async (params, key = k0) => {
      const tokenDetails = await rest({ key: key.keyStr }).auth.requestToken(params);
      return rest({ tokenDetails });
    };

    it('publish(name, data) answers a PublishResult; history shows the message (RSL1, RSL2)', async () => {
      const ch = rest().channels.get(randomId('one'));
      const before = Date.now();
      const result = await ch.publish('greeting', 'hello ünïcödé');
      assert.ok(Array.isArray(result.serials) && result.serials.length === 1, JSON.stringify(result));
      assert.equal(result.channel, undefined, 'ably-js drops channel from the result');
      const page = await ch.history();
      assert.equal(page.items.length, 1);
      const [m] = page.items;
      assert.equal(m.name, 'greeting');
      assert.equal(m.data, 'hello ünïcödé');
      assert.ok(typeof m.id === 'string' && m.id.length > 0, 'message id');
      assert.ok(m.timestamp >= before - 1000 && m.timestamp <= Date.now() + 1000, `timestamp ${m.timestamp}`);
      assert.equal(m.clientId, undefined, 'an unidentified Basic client publishes anonymously');
      assert.ok(page.isLast(), 'a single page');
    });

    it('publish of an array, data types kept; history backwards by default and forwards (RSL1, RSL2b)', async () => {
      const ch = rest().channels.get(randomId('array'));
      const payloads = [
        { name: 'text', data: 'plain' },
        { name: 'object', data: { a: 1, b: [true, null, 'x'] } },
        { name: 'binary', data: Buffer.from([0, 1, 2, 250, 255]) },
        { name: 'empty', data: '' },
        { name: 'extras', data: 'x', extras: { headers: { h: 'v' } } },
      ];
      const result = await ch.publish(payloads);
      assert.equal(result.serials.length, payloads.length);
      const back = await ch.history();
      assert.deepEqual(
        back.items.map((m) => m.name),
        payloads.map((p) => p.name).reverse(),
      );
      const fwd = await ch.history({ direction: 'forwards' });
      assert.deepEqual(
        fwd.items.map((m) => m.name),
        payloads.map((p) => p.name),
      );
      const byName = Object.fromEntries(fwd.items.map((m) => [m.name, m]));
      assert.equal(byName.text.data, 'plain');
      assert.deepEqual(byName.object.data, { a: 1, b: [true, null, 'x'] });
      assert.ok(Buffer.isBuffer(byName.binary.data), 'binary comes back as a Buffer');
      assert.deepEqual([...byName.binary.data], [0, 1, 2, 250, 255]);
      assert.equal(byName.empty.data, '');
      assert.deepEqual(byName.extras.extras, { headers: { h: 'v' } });
      // ably-js gives REST messages ids "<base>:<index>" (idempotent publishing): kept
      const ids = fwd.items.map((m) => m.id);
      assert.equal(new Set(ids).size, ids.length, 'ids are distinct');
    });

    it('history limit pages through the Link header, both directions (RSL2b3, TG)', async () => {
      const ch = rest().channels.get(randomId('pages'));
      for (let i = 0; i < 5; i++) await ch.publish(`m${i}`, String(i));
      for (const direction of ['backwards', 'forwards']) {
        const seen = [];
        let page = await ch.history({ limit: 2, direction });
        let pages = 0;
        for (;;) {
          pages++;
          seen.push(...page.items.map((m) => m.name));
          if (page.isLast()) break;
          assert.ok(pages < 10, 'paging terminates');
          page = await page.next();
        }
        const expected = ['m0', 'm1', 'm2', 'm3', 'm4'];
        assert.deepEqual(seen, direction === 'forwards' ? expected : expected.reverse(), direction);
        assert.equal(pages, 3, `${direction}: 2 + 2 + 1`);
        const first = await page.first();
        assert.equal(first.items.length, 2, 'first() follows rel="first"');
      }
    });

    it('history start/end select by timestamp (RSL2b1)', async () => {
      const ch = rest().channels.get(randomId('window'));
      await ch.publish('early', '1');
      const all = await ch.history();
      const t = all.items[0].timestamp;
      await new Promise((r) => setTimeout(r, 20));
      await ch.publish('late', '2');
      const late = (await ch.history()).items[0].timestamp;
      assert.ok(late > t);
      assert.deepEqual((await ch.history({ end: t })).items.map((m) => m.name), ['early']);
      assert.deepEqual((await ch.history({ start: t + 1 })).items.map((m) => m.name), ['late']);
      assert.deepEqual((await ch.history({ start: t, end: late })).items.map((m) => m.name), ['late', 'early']);
    });

    it('a REST publish reaches Realtime subscribers in both formats; a realtime publish shows in REST history', async () => {
      const chName = randomId('fan');
      const recs = [];
      for (const subBinary of [true, false]) {
        const rt = clients.realtime({ key: k0.keyStr, useBinaryProtocol: subBinary });
        await waitConnection(rt, 'connected', 10000);
        const ch = rt.channels.get(chName);
        await ch.attach();
        recs.push(await recordMessages(ch));
      }
      const rch = rest().channels.get(chName);
      await rch.publish([
        { name: 'a', data: { deep: [1, 2] } },
        { name: 'b', data: Buffer.from([9, 8, 7]) },
      ]);
      for (const rec of recs) {
        const a = await rec.waitFor((m) => m.name === 'a', 5000, 'message a');
        const b = await rec.waitFor((m) => m.name === 'b', 5000, 'message b');
        assert.deepEqual(a.data, { deep: [1, 2] });
        assert.deepEqual([...b.data], [9, 8, 7]);
        assert.ok(a.id && a.timestamp, 'id and timestamp from the server');
      }
      // the realtime side feeds the same window
      const rt = clients.realtime({ key: k0.keyStr, clientId: 'rt-pub' });
      await waitConnection(rt, 'connected', 10000);
      await rt.channels.get(chName).publish('from-realtime', 'x');
      const h = await rch.history({ limit: 1 });
      assert.equal(h.items[0].name, 'from-realtime');
      assert.equal(h.items[0].clientId, 'rt-pub');
      assert.equal(h.items[0].connectionId, rt.connection.id, 'realtime messages keep their connectionId');
      assert.ok(h.items[0].id.startsWith(rt.connection.id + ':'), `id ${h.items[0].id}`);
    });

    it('capability: publish and history need their operations, keys and tokens alike (40160, RSL1, RSL2)', async () => {
      // keys[2]: channel0 publish only, channel3 subscribe only; keys[1]: canpublish:* publish
      const k2rest = rest({ key: k2.keyStr });
      await k2rest.channels.get('channel0').publish('ok', 'x');
      await rejectsWith(k2rest.channels.get('channel3').publish('no', 'x'), { statusCode: 401, code: 40160 }, 'publish channel3');
      await rejectsWith(k2rest.channels.get('channel0').history(), { statusCode: 401, code: 40160 }, 'history channel0');
      await rejectsWith(k2rest.channels.get('channel7').publish('no', 'x'), { statusCode: 401, code: 40160 }, 'publish channel7');
      // channel6 is ["*"]: both
      await k2rest.channels.get('channel6').publish('ok', 'x');
      assert.equal((await k2rest.channels.get('channel6').history()).items[0].name, 'ok');
      const k1rest = rest({ key: k1.keyStr });
      await k1rest.channels.get('canpublish:x').publish('ok', 'x');
      await rejectsWith(k1rest.channels.get('cansubscribe:x').publish('no', 'x'), { statusCode: 401, code: 40160 }, 'k1 publish');

      const chName = randomId('tokcap');
      const pubOnly = await tokenRest({ capability: { [chName]: ['publish'] } });
      await pubOnly.channels.get(chName).publish('ok', 'x');
      await rejectsWith(pubOnly.channels.get(chName).history(), { statusCode: 401, code: 40160 }, 'token history');
      await rejectsWith(pubOnly.channels.get('elsewhere').publish('no', 'x'), { statusCode: 401, code: 40160 }, 'token elsewhere');
      const histOnly = await tokenRest({ capability: { [chName]: ['history'] } });
      assert.equal((await histOnly.channels.get(chName).history()).items.length, 1);
      await rejectsWith(histOnly.channels.get(chName).publish('no', 'x'), { statusCode: 401, code: 40160 }, 'token publish');
    });

    it('clientId: identified tokens stamp theirs and refuse another (40012); Basic may choose (S-51..S-53)', async () => {
      const chName = randomId('cid');
      const alice = await tokenRest({ clientId: 'alice' });
      await alice.channels.get(chName).publish('stamped', 'x');
      await alice.channels.get(chName).publish({ name: 'explicit', data: 'x', clientId: 'alice' });
      await rejectsWith(
        alice.channels.get(chName).publish({ name: 'forged', data: 'x', clientId: 'bob' }),
        { statusCode: 400, code: 40012 },
        'foreign clientId',
      );
      // an anonymous token may not name one
      const anon = await tokenRest({});
      await rejectsWith(
        anon.channels.get(chName).publish({ name: 'anon', data: 'x', clientId: 'carol' }),
        { statusCode: 400, code: 40012 },
        'anonymous token with clientId',
      );
      // a wildcard token and an unidentified Basic client may set any
      const wild = await tokenRest({ clientId: '*' });
      await wild.channels.get(chName).publish({ name: 'wild', data: 'x', clientId: 'dave' });
      await rest().channels.get(chName).publish({ name: 'basic', data: 'x', clientId: 'erin' });
      // Basic with a clientId option (X-Ably-ClientId, RSA7e2) is identified
      const basicId = rest({ key: k0.keyStr, clientId: 'frank' });
      await basicId.channels.get(chName).publish('basic-id', 'x');
      await rejectsWith(
        basicId.channels.get(chName).publish({ name: 'no', data: 'x', clientId: 'gina' }),
        { statusCode: 400, code: 40012 },
        'Basic identified by header',
      );
      const h = await rest().channels.get(chName).history({ direction: 'forwards' });
      assert.deepEqual(
        h.items.map((m) => [m.name, m.clientId]),
        [
          ['stamped', 'alice'],
          ['explicit', 'alice'],
          ['wild', 'dave'],
          ['basic', 'erin'],
          ['basic-id', 'frank'],
        ],
      );
    });

    it('channel names are URL-decoded; invalid names are 40010 (RSL1, 2.7)', async () => {
      const odd = `${randomId('odd')} ü?#&%+=:x`;
      const rt = clients.realtime({ key: k0.keyStr });
      await waitConnection(rt, 'connected', 10000);
      const sub = rt.channels.get(odd);
      await sub.attach();
      const rec = await recordMessages(sub);
      const ch = rest().channels.get(odd);
      await ch.publish('odd', 'x');
      assert.equal((await ch.history()).items[0].name, 'odd');
      await rec.waitFor((m) => m.name === 'odd', 5000, 'message on the odd channel');
      await rejectsWith(rest().channels.get(':hell').publish('x', 'y'), { statusCode: 400, code: 40010 }, 'publish :hell');
      await rejectsWith(rest().channels.get(':hell').history(), { statusCode: 400, code: 40010 }, 'history :hell');
    });

    it(`raw ${format}: credentials, query parameters, body errors and sizes`, async () => {
      const chName = randomId('raw');
      const auth = { authorization: basicAuth(k0.keyStr) };
      // no credentials / bad credentials
      let r = await raw(server, 'POST', path(chName), { format, body: [{ name: 'x', data: 'y' }] });
      assertErrorReply(r, { status: 401, code: 40101, format }, 'no credentials');
      r = await raw(server, 'GET', path(chName), { format, headers: { authorization: bearer('not-a-token') } });
      assertErrorReply(r, { status: 401, codes: [40143, 40144, 40145], format }, 'bad token');
      // a single Message object is accepted as well as an array; the body is non-empty (4.6)
      r = await raw(server, 'POST', path(chName), { format, headers: auth, body: { name: 'single', data: 'y' } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.contentType, format === 'msgpack' ? 'application/x-msgpack' : 'application/json');
      assert.equal(r.body.channel, chName);
      assert.equal(typeof r.body.messageId, 'string');
      assert.deepEqual(r.body.serials, [`${r.body.messageId}:0`]);
      // history over the wire: an array, Link rels first/current, next only when there is more
      r = await raw(server, 'GET', `${path(chName)}?limit=1`, { format, headers: auth });
      assert.equal(r.status, 200);
      assert.ok(Array.isArray(r.body) && r.body.length === 1 && r.body[0].name === 'single', JSON.stringify(r.body));
      assert.match(r.headers.get('link'), /rel="first"/);
      assert.doesNotMatch(r.headers.get('link'), /rel="next"/);
      // bad query parameters: 40003
      for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'direction=sideways', 'start=-1', 'end=x', 'start=10&end=5', 'cursor=zz']) {
        r = await raw(server, 'GET', `${path(chName)}?${q}`, { format, headers: auth });
        assertErrorReply(r, { status: 400, code: 40003, format }, q);
      }
      // malformed bodies: 40001; unsupported content type: 41500
      r = await raw(server, 'POST', path(chName), { format, headers: auth, body: 'not json at all' });
      assertErrorReply(r, { status: 400, code: 40001, format }, 'malformed');
      r = await raw(server, 'POST', path(chName), { format, headers: auth, body: [{ name: 5 }] });
      assertErrorReply(r, { status: 400, code: 40001, format }, 'name not a string');
      r = await raw(server, 'POST', path(chName), {
        format,
        headers: { ...auth, 'content-type': 'text/plain' },
        body: 'x',
      });
      assertErrorReply(r, { status: 415, code: 41500, format }, 'text/plain');
      // oversize: 40009
      r = await raw(server, 'POST', path(chName), { format, headers: auth, body: [{ name: 'big', data: 'x'.repeat(70000) }] });
      assertErrorReply(r, { status: 400, code: 40009, format }, 'oversize');
      // other methods and paths
      r = await raw(server, 'DELETE', path(chName), { format, headers: auth });
      assertErrorReply(r, { status: 405, code: 40500, format }, 'DELETE');
      // GET /channels/{name} is the channel's status (RSL8, rest_channel_status.test.mjs)
      r = await raw(server, 'GET', `/channels/${chName}`, { format, headers: auth });
      assert.equal(r.status, 200, 'channel status');
      assert.equal(r.body.channelId, chName);
    });
  });
}
