// REST publish on behalf of a realtime connection (RSL1m, TM2h) with ably-js 2.28.0: a
// Message carrying the connectionKey of a live ably-js Realtime connection is attributed to
// it: delivered and kept in history with its connectionId, its clientId stamped (S-51), its
// echo rule applied (echoMessages false: it does not get its own message, RTL7f); refused
// with 400/80018 for an unknown, malformed or other app's key, 40012 when the clientId is
// not the connection's, 40160 when the connection may not publish, 40000 for mixed keys.
// Both formats.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe } from 'node:test';

import { FORMATS, randomId, rejectsWith, restClient } from './lib/helpers.mjs';
import { Clients, assertNothingFor, boundedIt, recordMessages } from './lib/realtime.mjs';
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

for (const { name, binary } of FORMATS) {
  describe(`REST publish on behalf of a connection (${name})`, () => {
    const clients = new Clients(null, binary);
    before(() => {
      clients.server = server;
    });
    afterEach(() => clients.closeAll());
    const rest = (opts = { key: k0.keyStr }) => restClient(server, opts, binary);

    async function connected(opts) {
      const rt = clients.realtime(opts);
      await new Promise((resolve, reject) => {
        rt.connection.once('connected', resolve);
        rt.connection.once('failed', (sc) => reject(sc.reason));
      });
      return rt;
    }

    it('RSL1m, TM2h: the message carries the connection\'s connectionId and clientId', async () => {
      const chName = randomId('behalf');
      const alice = await connected({ key: k0.keyStr, clientId: 'alice' });
      const watcher = await connected({ key: k0.keyStr });
      const own = await recordMessages(alice.channels.get(chName));
      const seen = await recordMessages(watcher.channels.get(chName));
      await rest().channels.get(chName).publish({ name: 'hi', data: 'from REST', connectionKey: alice.connection.key });
      const m = await seen.waitFor((x) => x.name === 'hi', 5000, 'the message at the watcher');
      assert.equal(m.connectionId, alice.connection.id);
      assert.equal(m.clientId, 'alice', 'the connection clientId is stamped');
      assert.equal(m.data, 'from REST');
      const echo = await own.waitFor((x) => x.name === 'hi', 5000, 'the echo (echoMessages defaults to true)');
      assert.equal(echo.connectionId, alice.connection.id);
      const h = await rest().channels.get(chName).history();
      assert.equal(h.items[0].connectionId, alice.connection.id);
      assert.equal(h.items[0].clientId, 'alice');
    });

    it('RTL7f: a connection with echoMessages false does not get the message published on its behalf', async () => {
      const chName = randomId('noecho');
      const quiet = await connected({ key: k0.keyStr, echoMessages: false });
      const watcher = await connected({ key: k0.keyStr });
      const own = await recordMessages(quiet.channels.get(chName));
      const seen = await recordMessages(watcher.channels.get(chName));
      await rest().channels.get(chName).publish({ name: 'quiet', data: 'x', connectionKey: quiet.connection.key });
      const m = await seen.waitFor((x) => x.name === 'quiet', 5000, 'the watcher gets it');
      assert.equal(m.connectionId, quiet.connection.id);
      await assertNothingFor(own, (x) => x.name === 'quiet', 500, 'no echo to the publisher');
      // without a connectionKey the same REST publish reaches it
      await rest().channels.get(chName).publish({ name: 'plain', data: 'y' });
      const plain = await own.waitFor((x) => x.name === 'plain', 5000, 'a plain REST publish');
      assert.equal(plain.connectionId, undefined);
    });

    it('TM2h: unknown, malformed and other apps\' connection keys are 400/80018', async () => {
      const chName = randomId('badkey');
      const rt = await connected({ key: k0.keyStr });
      const ch = rest().channels.get(chName);
      const bad = [`${rt.connection.id}!wrongsecret`, 'nobang', '!', `nosuch!${'x'.repeat(12)}`];
      for (const connectionKey of bad)
        await rejectsWith(ch.publish({ name: 'm', connectionKey }), { statusCode: 400, code: 80018 }, connectionKey);
      const theirs = await connected({ key: other.keys[0].keyStr });
      await rejectsWith(
        ch.publish({ name: 'm', connectionKey: theirs.connection.key }),
        { statusCode: 400, code: 80018 },
        'a connection of another app',
      );
      const h = await ch.history();
      assert.equal(h.items.length, 0, 'nothing was published');
    });

    it('S-52, S-45: the connection\'s clientId and capability rules apply', async () => {
      const chName = randomId('rules');
      const alice = await connected({ key: k0.keyStr, clientId: 'alice' });
      const ch = rest().channels.get(chName); // Basic: may name any clientId itself
      await rejectsWith(
        ch.publish({ name: 'm', clientId: 'bob', connectionKey: alice.connection.key }),
        { statusCode: 400, code: 40012 },
        'a clientId that is not the connection\'s',
      );
      await ch.publish({ name: 'ok', clientId: 'alice', connectionKey: alice.connection.key });
      const subOnly = await connected({ key: k3.keyStr });
      await rejectsWith(
        ch.publish({ name: 'm', connectionKey: subOnly.connection.key }),
        { statusCode: 401, code: 40160 },
        'a connection without publish capability',
      );
      await rejectsWith(
        ch.publish([
          { name: 'a', connectionKey: alice.connection.key },
          { name: 'b' },
        ]),
        { statusCode: 400, code: 40000 },
        'mixed connection keys',
      );
      const h = await ch.history();
      assert.deepEqual(h.items.map((m) => m.name), ['ok']);
    });
  });
}
