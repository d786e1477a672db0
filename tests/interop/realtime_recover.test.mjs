// Connection recovery (RTN16, wire doc 2.9) with ably-js 2.28.0's `recover` option and raw
// WebSocket peers, both formats. ably-js sends recover=<connectionKey> from the recovery key
// (createRecoveryKey(): after a page reload, say); the server treats it as a resume (RTN16l):
//   - a known key whose transport is gone (or half-open) is recovered: same connectionId, no
//     error (RTN16k);
//   - an unknown key is a new connection whose CONNECTED carries 80008 (RTN15c7), readable in
//     connection.errorReason;
//   - a malformed key (no "!", control characters, too long) carries 80018 (RTN15c5).
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';

import { FORMATS } from './lib/helpers.mjs';
import { ACTION, Clients, RawPeer, assertReason, boundedIt, waitConnection } from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);
let server, k0;

before(async () => {
  server = await startServer();
  k0 = (await provisionApp(server)).keys[0];
});
after(async () => server?.stop());

const recoveryKey = (connectionKey) => JSON.stringify({ connectionKey, msgSerial: 0, channelSerials: {} });

for (const { name, binary } of FORMATS) {
  const format = binary ? 'msgpack' : 'json';
  describe(`recover (${name})`, () => {
    it('ably-js recovers a connection whose transport went away: same connectionId, no error (RTN16k)', async () => {
      // the old page: a raw peer, so that nothing reconnects it behind the test's back
      const old = await RawPeer.open(server, { key: k0.keyStr, clientId: 'alice' }, format);
      const c1 = await old.waitAction(ACTION.CONNECTED);
      old.close();
      await old.waitClosed();
      const c = new Clients(server, binary);
      try {
        const rt = c.realtime({ key: k0.keyStr, clientId: 'alice', recover: recoveryKey(c1.connectionDetails.connectionKey) });
        await waitConnection(rt, 'connected');
        assert.equal(rt.connection.id, c1.connectionId, 'the same connection');
        assert.equal(rt.connection.errorReason?.code, undefined, `no error: ${rt.connection.errorReason?.code}`);
      } finally {
        await c.closeAll();
      }
    });

    it('ably-js with an unknown recovery key: connected afresh, errorReason 80008 (RTN16l, RTN15c7)', async () => {
      const c = new Clients(server, binary);
      try {
        const rt = c.realtime({ key: k0.keyStr, recover: recoveryKey('nosuchconnection!secret') });
        await waitConnection(rt, 'connected');
        assertReason(rt.connection.errorReason, { code: 80008, statusCode: 400 }, 'unknown key');
        assert.notEqual(rt.connection.id, 'nosuchconnection');
      } finally {
        await c.closeAll();
      }
    });

    it('ably-js with a malformed recovery key: connected afresh, errorReason 80018 (RTN15c5)', async () => {
      const c = new Clients(server, binary);
      try {
        const rt = c.realtime({ key: k0.keyStr, recover: recoveryKey('no-separator-here') });
        await waitConnection(rt, 'connected');
        assertReason(rt.connection.errorReason, { code: 80018, statusCode: 400 }, 'malformed key');
      } finally {
        await c.closeAll();
      }
    });

    it('raw: recover= and resume= answer alike: 80018 malformed, 80008 unknown, the live key recovers', async () => {
      for (const param of ['recover', 'resume']) {
        for (const [value, code] of [['x'.repeat(200) + '!y', 80018], ['bad key!x', 80018], ['nope!x', 80008]]) {
          const q = await RawPeer.open(server, { key: k0.keyStr, [param]: value }, format);
          const m = await q.waitAction(ACTION.CONNECTED);
          assertReason(m.error, { code, statusCode: 400 }, `${param}=${value.slice(0, 12)}`);
          q.close();
        }
      }
      const p = await RawPeer.open(server, { key: k0.keyStr, clientId: 'carol' }, format);
      const c1 = await p.waitAction(ACTION.CONNECTED);
      // half-open: the old transport is still up when the recovery arrives; it is taken over
      const q = await RawPeer.open(server, { key: k0.keyStr, clientId: 'carol', recover: c1.connectionDetails.connectionKey }, format);
      const c2 = await q.waitAction(ACTION.CONNECTED);
      assert.equal(c2.connectionId, c1.connectionId);
      assert.equal(c2.error, undefined);
      await p.waitClosed();
      q.close();
    });
  });
}
