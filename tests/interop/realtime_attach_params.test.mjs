// ATTACH params and modes with ably-js 2.28.0 (RTL4k, RTL4k1, RTL4l, RTL4m): the params that
// are honoured come back in ATTACHED's params (channel.params), the rest are dropped (delta
// among them: no VCDIFF encoder, so ably-js keeps full payloads); the modes requested are
// granted as their intersection with the capability (channel.modes); a channel attached
// without SUBSCRIBE gets no messages and without PRESENCE_SUBSCRIBE no presence events.
// Both formats; the wire checks use a raw WebSocket peer.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';

import { FORMATS, randomId } from './lib/helpers.mjs';
import {
  ACTION,
  Clients,
  MODE,
  RawPeer,
  assertNothingFor,
  boundedIt,
  recordMessages,
  waitConnection,
} from './lib/realtime.mjs';
import { useServerWithApp } from './lib/server.mjs';

const it = boundedIt(30000);

let server;
let app;
useServerWithApp((s, a) => {
  server = s;
  app = a;
});

for (const { name, binary } of FORMATS) {
  describe(`ATTACH params and modes (${name})`, () => {
    const clients = new Clients(null, binary);
    const format = binary ? 'msgpack' : 'json';
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());

    async function connect(opts = { key: app.keys[0].keyStr }) {
      const rt = clients.realtime(opts);
      await waitConnection(rt, 'connected');
      return rt;
    }

    it('RTL4k1: ATTACHED params carry the honoured params (rewind) and drop the others (delta, unknown)', async () => {
      const rt = await connect();
      const ch = rt.channels.get(randomId('params'), {
        params: { rewind: '1', delta: 'vcdiff', colour: 'blue' },
      });
      await ch.attach();
      assert.deepEqual(ch.params, { rewind: '1' });
      // an invalid rewind is not honoured: no params at all
      const bad = rt.channels.get(randomId('params-bad'), { params: { rewind: 'yesterday' } });
      await bad.attach();
      assert.deepEqual(bad.params, {});
      // the backlog is history: keys[2] may subscribe to channel2 but not read its history
      const noHistory = await connect({ key: app.keys[2].keyStr });
      const ch2 = noHistory.channels.get('channel2', { params: { rewind: '5' } });
      await ch2.attach();
      assert.deepEqual(ch2.params, {});
    });

    it('RTL4k: params on the wire (raw peer): ATTACHED params is a map of the honoured ones', async () => {
      const p = await RawPeer.open(server, { key: app.keys[0].keyStr }, format);
      clients.onClose(() => p.close());
      await p.waitAction(ACTION.CONNECTED);
      const chName = randomId('rawparams');
      p.send({ action: ACTION.ATTACH, channel: chName, params: { rewind: '2s', delta: 'vcdiff', x: 'y' } });
      const att = await p.waitAction(ACTION.ATTACHED);
      assert.deepEqual(att.params, { rewind: '2s' });
      assert.equal(att.flags & 0xffff0000, 983040, 'default modes');
    });

    it('RTL4l/RTL4m: requested modes come back as flags (intersected with the capability)', async () => {
      const rt = await connect();
      const sub = rt.channels.get(randomId('modes'), { modes: ['SUBSCRIBE'] });
      await sub.attach();
      assert.deepEqual(sub.modes, ['subscribe']);
      // keys[2] of the fixture allows publish and subscribe on channel2
      const limited = await connect({ key: app.keys[2].keyStr });
      const both = limited.channels.get('channel2', { modes: ['PUBLISH', 'PRESENCE', 'SUBSCRIBE'] });
      await both.attach();
      assert.deepEqual([...both.modes].sort(), ['publish', 'subscribe']);
    });

    it('a channel attached without SUBSCRIBE receives no messages; without PRESENCE_SUBSCRIBE no presence', async () => {
      const chName = randomId('nosub');
      const p = await RawPeer.open(server, { key: app.keys[0].keyStr }, format);
      clients.onClose(() => p.close());
      await p.waitAction(ACTION.CONNECTED);
      p.send({ action: ACTION.ATTACH, channel: chName, flags: MODE.PUBLISH | MODE.PRESENCE });
      const att = await p.waitAction(ACTION.ATTACHED);
      assert.equal(att.flags & 0xffff0000, MODE.PUBLISH | MODE.PRESENCE);
      // a second raw peer with PRESENCE_SUBSCRIBE but no SUBSCRIBE
      const q = await RawPeer.open(server, { key: app.keys[0].keyStr }, format);
      clients.onClose(() => q.close());
      await q.waitAction(ACTION.CONNECTED);
      q.send({ action: ACTION.ATTACH, channel: chName, flags: MODE.PRESENCE_SUBSCRIBE });
      await q.waitAction(ACTION.ATTACHED);

      const rt = await connect({ key: app.keys[0].keyStr, clientId: 'speaker' });
      const ch = rt.channels.get(chName);
      const got = await recordMessages(ch); // a full subscriber, as a control
      await ch.publish('hello', 'world');
      await ch.presence.enter('here');
      await got.waitFor((m) => m.name === 'hello', 5000, 'control subscriber');
      await q.waitAction(ACTION.PRESENCE, 5000);
      await assertNothingFor(p.frames, (f) => f.action === ACTION.MESSAGE || f.action === ACTION.PRESENCE, 300, 'no SUBSCRIBE/PRESENCE_SUBSCRIBE');
      await assertNothingFor(q.frames, (f) => f.action === ACTION.MESSAGE, 100, 'no SUBSCRIBE');
    });
  });
}
