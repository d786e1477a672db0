// rest.request() with every method ably-js offers (RSC19: get, post, put, patch, delete) with
// ably-js 2.28.0: each reaches the routes that support it (GET /channels/{name}, GET
// .../presence, POST /messages, DELETE /apps/{id} on the sandbox); an unknown path answers
// 404/40400 whatever the method (not 405), a known path with a method it does not support
// 405/40500 with Allow; the HttpPaginatedResponse carries statusCode, success, errorCode
// (HP4-HP7). Both formats.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';

import { FORMATS, randomId, raw, restClient } from './lib/helpers.mjs';
import { boundedIt } from './lib/realtime.mjs';
import { provisionApp, startServer } from './lib/server.mjs';

const it = boundedIt(30000);

let server;
let app;
let k0;

before(async () => {
  server = await startServer();
  app = await provisionApp(server);
  k0 = app.keys[0];
});

after(async () => {
  if (server) await server.stop();
});

const UNKNOWN = ['/nope', '/keys/x/unknown', '/channel', '/stats/x/y'];

for (const { name, binary } of FORMATS) {
  describe(`REST request() methods (${name})`, () => {
    const rest = (opts = { key: k0.keyStr }) => restClient(server, opts, binary);

    it('HP: an unknown path is 404/40400 for get, post, put, patch and delete', async () => {
      for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
        for (const p of UNKNOWN) {
          const body = ['post', 'put', 'patch'].includes(method) ? { a: 1 } : undefined;
          const r = await rest().request(method, p, 3, {}, body);
          const what = `${method} ${p}: ${JSON.stringify(r)}`;
          assert.equal(r.statusCode, 404, what);
          assert.equal(r.success, false, what);
          assert.equal(r.errorCode, 40400, what);
        }
      }
    });

    it('HP: a known path with a method it does not support is 405/40500', async () => {
      const ch = encodeURIComponent(randomId('m'));
      const cases = [
        ['put', `/channels/${ch}/messages`, 'GET, POST'],
        ['patch', `/channels/${ch}`, 'GET'],
        ['delete', `/channels/${ch}/presence`, 'GET'],
        ['put', '/messages', 'POST'],
        ['patch', '/presence', 'GET'],
        ['delete', '/time', 'GET'],
      ];
      for (const [method, p, allow] of cases) {
        const body = method === 'delete' ? undefined : { a: 1 };
        const r = await rest().request(method, p, 3, {}, body);
        const what = `${method} ${p}: ${JSON.stringify(r)}`;
        assert.equal(r.statusCode, 405, what);
        assert.equal(r.errorCode, 40500, what);
        assert.equal(r.headers.allow ?? r.headers.Allow, allow, what);
      }
    });

    it('RSC19: get, post and delete reach their routes', async () => {
      const chName = randomId('req');
      const status = await rest().request('get', `/channels/${encodeURIComponent(chName)}`, 3);
      assert.equal(status.statusCode, 200);
      assert.equal(status.items[0].channelId, chName);
      const pres = await rest().request('get', `/channels/${encodeURIComponent(chName)}/presence`, 3, { limit: 5 });
      assert.equal(pres.statusCode, 200);
      assert.deepEqual(pres.items, []);
      const pub = await rest().request('post', `/channels/${encodeURIComponent(chName)}/messages`, 3, {}, { name: 'n', data: 'd' });
      assert.equal(pub.statusCode, 201);
      const hist = await rest().request('get', `/channels/${encodeURIComponent(chName)}/messages`, 3);
      assert.equal(hist.items[0].name, 'n');
      // DELETE /apps/{id} (sandbox): deletes the app its own key belongs to
      const doomed = await provisionApp(server, [{}]);
      const del = await rest({ key: doomed.keys[0].keyStr }).request('delete', `/apps/${doomed.appId}`, 3);
      assert.ok(del.success, JSON.stringify(del));
      const gone = await raw(server, 'GET', '/channels/x', {
        headers: { authorization: `Basic ${Buffer.from(doomed.keys[0].keyStr).toString('base64')}` },
      });
      assert.equal(gone.status, 401, 'its key no longer works');
    });
  });
}
