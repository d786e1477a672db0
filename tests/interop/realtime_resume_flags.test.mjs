// The channel RESUMED flag after a connection resume (RTL2f, RTN15c6, RTL12): when nothing was
// missed the re-attach's ATTACHED carries RESUMED, so ably-js reports resumed=true and emits no
// `update`; a resume of a channel with presence members, a quiet channel and a busy one; and a
// channel attached on the new transport for the first time is not RESUMED. Both formats.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';

import { FORMATS, randomId } from './lib/helpers.mjs';
import {
  ACTION,
  Clients,
  RawPeer,
  boundedIt,
  recordChannel,
  recordConnection,
  waitConnection,
} from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);
const RESUMED = 1 << 2;

let server, app;

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
});

after(async () => {
  if (server) await server.stop();
});

function dropTransport(rt) {
  rt.connection.connectionManager.activeProtocol.getTransport().wsConnection.terminate();
}

for (const { name, binary } of FORMATS) {
  const format = binary ? 'msgpack' : 'json';
  describe(`channel RESUMED flag (${name})`, () => {
    const clients = new Clients(null, binary);
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());

    it('RTL2f: a quiet channel and a presence channel are resumed (resumed=true, no update)', async () => {
      const rt = clients.realtime({ key: app.keys[0].keyStr, clientId: 'resumer' });
      const conn = recordConnection(rt);
      await waitConnection(rt, 'connected');
      const id = rt.connection.id;
      const quiet = rt.channels.get(randomId('quiet'));
      const pres = rt.channels.get(randomId('pres'));
      await quiet.attach();
      await pres.presence.enter('here');
      const recQ = recordChannel(quiet);
      const recP = recordChannel(pres);
      const updates = [];
      quiet.on('update', (sc) => updates.push(sc));
      pres.on('update', (sc) => updates.push(sc));
      dropTransport(rt);
      await conn.waitFor((i) => i.current === 'connected', 10000, 'connected again', 1);
      assert.equal(rt.connection.id, id, 'the connection was resumed');
      for (const [ch, rec] of [
        [quiet, recQ],
        [pres, recP],
      ]) {
        const att = await rec.waitFor((i) => i.current === 'attached', 5000, `${ch.name} re-attached`);
        assert.equal(att.resumed, true, `${ch.name}: ${rec.describe()}`);
      }
      assert.equal(updates.length, 0, 'no update event (continuity kept)');
      const members = await pres.presence.get();
      assert.deepEqual(members.map((m) => m.clientId), ['resumer']);
    });

    it('raw: ATTACHED after a resume has RESUMED; a first attach on the new transport does not', async () => {
      const chName = randomId('rawres');
      const p = await RawPeer.open(server, { key: app.keys[0].keyStr }, format);
      const c1 = await p.waitAction(ACTION.CONNECTED);
      p.send({ action: ACTION.ATTACH, channel: chName });
      const first = await p.waitAction(ACTION.ATTACHED);
      assert.equal(first.flags & RESUMED, 0, 'a first attach is not RESUMED');
      p.close();
      await p.waitClosed();
      const q = await RawPeer.open(server, { key: app.keys[0].keyStr, resume: c1.connectionDetails.connectionKey }, format);
      clients.onClose(() => q.close());
      const c2 = await q.waitAction(ACTION.CONNECTED);
      assert.equal(c2.connectionId, c1.connectionId);
      // ably-js re-attaches with the channelSerial it has and ATTACH_RESUME (1 << 5)
      q.send({ action: ACTION.ATTACH, channel: chName, channelSerial: first.channelSerial, flags: 1 << 5 });
      const again = await q.waitAction(ACTION.ATTACHED);
      assert.ok(again.flags & RESUMED, `RESUMED: flags ${again.flags}`);
      q.send({ action: ACTION.ATTACH, channel: randomId('fresh') });
      const fresh = await q.waitAction(ACTION.ATTACHED, 5000, 0, (f) => f.channel !== chName);
      assert.equal(fresh.flags & RESUMED, 0, 'a channel new to the connection is not RESUMED');
    });
  });
}

// The presence grace (15 s) ends while detached: the connection's members leave the channel
// where it had them, and only that channel's re-attach loses RESUMED (ably-js re-enters them,
// RTP17i); its other channels missed nothing (RTL2f). Both formats at once: the wait is long.
describe('channel RESUMED flag after the presence grace', () => {
  const closers = [];
  afterEach(() => closers.splice(0).forEach((p) => p.close()));

  it('RTL2f: only the channel whose members left is re-attached without RESUMED', { timeout: 40000 }, async () => {
    await Promise.all(
      ['msgpack', 'json'].map(async (format) => {
        const quiet = randomId('quiet');
        const pres = randomId('pres');
        const p = await RawPeer.open(server, { key: app.keys[0].keyStr, clientId: 'graceful' }, format);
        closers.push(p);
        const c1 = await p.waitAction(ACTION.CONNECTED);
        p.send({ action: ACTION.ATTACH, channel: quiet });
        await p.waitAction(ACTION.ATTACHED, 5000, 0, (f) => f.channel === quiet);
        p.send({ action: ACTION.ATTACH, channel: pres });
        await p.waitAction(ACTION.ATTACHED, 5000, 0, (f) => f.channel === pres);
        p.send({ action: ACTION.PRESENCE, channel: pres, msgSerial: 0, presence: [{ action: 2, data: 'x' }] });
        await p.waitAction(ACTION.ACK);
        p.close();
        await p.waitClosed();
        await new Promise((r) => setTimeout(r, 16000)); // past the 15 s presence grace
        const q = await RawPeer.open(server, { key: app.keys[0].keyStr, clientId: 'graceful', resume: c1.connectionDetails.connectionKey }, format);
        closers.push(q);
        const c2 = await q.waitAction(ACTION.CONNECTED);
        assert.equal(c2.connectionId, c1.connectionId, `${format}: resumed`);
        q.send({ action: ACTION.ATTACH, channel: quiet });
        q.send({ action: ACTION.ATTACH, channel: pres });
        const aq = await q.waitAction(ACTION.ATTACHED, 5000, 0, (f) => f.channel === quiet);
        const ap = await q.waitAction(ACTION.ATTACHED, 5000, 0, (f) => f.channel === pres);
        assert.ok(aq.flags & RESUMED, `${format}: the quiet channel keeps continuity (flags ${aq.flags})`);
        assert.equal(ap.flags & RESUMED, 0, `${format}: the presence channel lost its members`);
      }),
    );
  });
});
