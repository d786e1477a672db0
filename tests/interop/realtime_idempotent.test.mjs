// Idempotent publishing (RSL1k, RTL6a1) with ably-js 2.28.0: messages carrying a client-supplied
// id already published on the channel within the window (2 minutes) are acknowledged (ACK /
// 201) but neither delivered nor stored in history again, realtime and REST alike; ids are per
// channel; a batch's repeated messages are dropped one by one. Both formats.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';

import { FORMATS, randomId, restClient } from './lib/helpers.mjs';
import { Clients, assertNothingFor, boundedIt, recordMessages, waitConnection } from './lib/realtime.mjs';
import { useServerWithApp } from './lib/server.mjs';

const it = boundedIt(30000);

let server;
let app;
useServerWithApp((s, a) => {
  server = s;
  app = a;
});

for (const { name, binary } of FORMATS) {
  describe(`idempotent publishing (${name})`, () => {
    const clients = new Clients(null, binary);
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());

    async function subscriber(chName) {
      const rt = clients.realtime({ key: app.keys[0].keyStr });
      await waitConnection(rt, 'connected');
      const ch = rt.channels.get(chName);
      const rec = await recordMessages(ch);
      return { rt, ch, rec };
    }

    it('RTL6a1: the same client-supplied id published 3 times over realtime is delivered and stored once', async () => {
      const chName = randomId('idem-rt');
      const sub = await subscriber(chName);
      const pubRt = clients.realtime({ key: app.keys[0].keyStr });
      await waitConnection(pubRt, 'connected');
      const pub = pubRt.channels.get(chName);
      const id = `${randomId('base')}:0`;
      for (let i = 0; i < 3; i++) await pub.publish({ id, name: 'once', data: `try ${i}` }); // each ACKed
      await pub.publish({ id: `${id}x`, name: 'other', data: 'marker' });
      await sub.rec.waitFor((m) => m.name === 'other', 5000, 'the marker');
      const once = sub.rec.items.filter((m) => m.name === 'once');
      assert.equal(once.length, 1, `delivered ${once.length} times: ${JSON.stringify(once.map((m) => m.data))}`);
      assert.equal(once[0].id, id, 'the client-supplied id is kept');
      assert.equal(once[0].data, 'try 0', 'the first publish is the one delivered');
      const page = await restClient(server, { key: app.keys[0].keyStr }, binary).channels.get(chName).history();
      assert.deepEqual(
        page.items.map((m) => m.name).sort(),
        ['once', 'other'],
        'history holds the message once',
      );
    });

    it('RSL1k: REST publishes with the same id (ids of the <base>:<index> form ably-js uses) are stored once', async () => {
      const chName = randomId('idem-rest');
      const sub = await subscriber(chName);
      const rest = restClient(server, { key: app.keys[0].keyStr }, binary);
      const ch = rest.channels.get(chName);
      const id = `${randomId('rest')}:0`;
      for (let i = 0; i < 3; i++) await ch.publish({ id, name: 'rest-once', data: String(i) }); // 201 each time
      // a batch: ably-js gives its messages "<base>:<i>"; a repeat of the batch adds nothing,
      // a batch with one new message adds that one only
      const base = randomId('batch');
      const batch = [0, 1, 2].map((i) => ({ id: `${base}:${i}`, name: `b${i}`, data: String(i) }));
      await ch.publish(batch);
      await ch.publish(batch);
      await ch.publish([...batch, { id: `${base}:3`, name: 'b3', data: '3' }]);
      await sub.rec.waitFor((m) => m.name === 'b3', 5000, 'b3');
      await assertNothingFor(sub.rec, () => true, 300, 'no more deliveries');
      assert.deepEqual(
        sub.rec.items.map((m) => m.name),
        ['rest-once', 'b0', 'b1', 'b2', 'b3'],
      );
      const page = await ch.history({ direction: 'forwards' });
      assert.deepEqual(page.items.map((m) => m.name), ['rest-once', 'b0', 'b1', 'b2', 'b3']);
    });

    it('RSL1k: ids are per channel; a realtime repeat of a REST id is a duplicate too', async () => {
      const a = randomId('idem-a');
      const b = randomId('idem-b');
      const subA = await subscriber(a);
      const subB = await subscriber(b);
      const rest = restClient(server, { key: app.keys[0].keyStr }, binary);
      const id = `${randomId('shared')}:0`;
      await rest.channels.get(a).publish({ id, name: 'x', data: 'a' });
      await rest.channels.get(b).publish({ id, name: 'x', data: 'b' });
      const rt = clients.realtime({ key: app.keys[0].keyStr });
      await waitConnection(rt, 'connected');
      await rt.channels.get(a).publish({ id, name: 'x', data: 'again' });
      await rt.channels.get(a).publish({ name: 'end' });
      await subA.rec.waitFor((m) => m.name === 'end', 5000, 'end on a');
      await subB.rec.waitFor((m) => m.name === 'x', 5000, 'x on b');
      assert.deepEqual(subA.rec.items.map((m) => m.data), ['a', undefined]);
      assert.deepEqual(subB.rec.items.map((m) => m.data), ['b']);
      // messages without an id are never de-duplicated
      await rt.channels.get(a).publish({ name: 'end' });
      await subA.rec.waitFor((m) => m.name === 'end', 5000, 'second end', 2);
      assert.equal(subA.rec.items.length, 3);
    });
  });
}
