// demo.js: the page's side of the rtauth web demo (examples/web/README.md). Plain script, no
// build step: ably-js's browser bundle (/ably.js) is loaded before it. Everything the page
// shows is also kept in window.demo, which tests/browser/demo.test.mjs reads.
(function () {
  'use strict';
  const params = new URLSearchParams(location.search);
  const user = /^[A-Za-z0-9_-]{1,64}$/.test(params.get('user') || '') ? params.get('user') : 'alice';
  const $ = (id) => document.getElementById(id);
  const demo = (window.demo = { user, state: 'initialized', reason: null, connectionIds: [],
                                tokens: [], channel: null, events: [] });

  function log(text, cls) {
    demo.events.push(text);
    const line = document.createElement('div');
    line.className = cls || 'info';
    line.textContent = new Date().toISOString().slice(11, 23) + '  ' + text;
    $('log').appendChild(line);
    $('log').scrollTop = $('log').scrollHeight;
  }
  const errText = (e) => (e ? e.code + ' ' + (e.message || '').split('.')[0] : '');

  async function main() {
    const config = await (await fetch('/config')).json();
    const rt = new Ably.Realtime({
      endpoint: config.endpoint, port: config.port, tls: false,
      authUrl: location.origin + '/auth', authParams: { user }, // RSA8c: the app's authUrl
      logLevel: 1,
    });
    demo.rt = rt;

    rt.connection.on((change) => {
      demo.state = change.current;
      demo.reason = change.reason ? change.reason.code : null;
      $('state').textContent = change.current;
      $('state').className = 'state ' + change.current;
      $('reason').textContent = change.reason ? '(' + errText(change.reason) + ')' : '';
      if (change.current === 'connected' && !demo.connectionIds.includes(rt.connection.id))
        demo.connectionIds.push(rt.connection.id);
      const cls = change.current === 'connected' ? 'ok' : change.reason ? 'err' : 'info';
      log('connection ' + change.previous + ' -> ' + change.current +
          (change.current === 'connected' ? ' id=' + rt.connection.id : '') +
          (change.reason ? ' reason=' + errText(change.reason) : ''), cls);
    });
    rt.connection.on('update', (change) => // RTN24: AUTH took a new token, same connection
      log('connection update: a new token on the same connection' +
          (change.reason ? ', reason=' + errText(change.reason) : ''), 'ok'));

    // The token, its capability and its countdown; a new token string is a renewal.
    setInterval(() => {
      const td = rt.auth.tokenDetails;
      if (!td) return;
      if (!demo.tokens.includes(td.token)) {
        demo.tokens.push(td.token);
        if (demo.tokens.length > 1) log('new token from the authUrl (' + demo.tokens.length + ' so far)', 'ok');
      }
      demo.capability = td.capability;
      $('clientId').textContent = rt.auth.clientId || '-';
      $('connectionId').textContent = rt.connection.id || '-';
      $('capability').textContent = td.capability;
      $('renewals').textContent = String(demo.tokens.length);
      const left = Math.max(0, td.expires - Date.now());
      $('expires').textContent = (left / 1000).toFixed(1) + ' s';
    }, 200);

    const pub = rt.channels.get('demo:public');
    pub.subscribe((m) => log('received on demo:public: ' + m.name + ' ' + JSON.stringify(m.data) +
                             ' from ' + m.clientId, 'ok'));

    async function publish(name) {
      const channel = rt.channels.get(name);
      try {
        await channel.publish('greeting', { from: user, at: Date.now() });
        demo.channel = { channel: name, ok: true };
        $('channel-result').textContent = 'published to ' + name;
        log('published to ' + name, 'ok');
      } catch (e) {
        demo.channel = { channel: name, ok: false, code: e.code };
        $('channel-result').textContent = 'refused: ' + errText(e);
        log('publish to ' + name + ' refused: ' + errText(e), 'err');
      }
    }
    $('pub-public').onclick = () => publish('demo:public');
    $('pub-vip').onclick = () => publish('demo:vip');

    $('upgrade').onclick = async () => {
      const r = await fetch('/admin/upgrade?user=' + user, { method: 'POST' });
      log('backend: upgrade ' + (r.ok ? 'granted' : 'failed ' + r.status), r.ok ? 'ok' : 'err');
      const before = rt.connection.id;
      try {
        await rt.auth.authorize(); // RTC8: a new token with the new grant, same connection
        // a channel that failed on the old capability is re-attached with the new one (RTL4)
        const vip = rt.channels.get('demo:vip');
        if (vip.state === 'failed') await vip.attach().catch(() => {});
        log('authorize(): capability now ' + rt.auth.tokenDetails.capability +
            (rt.connection.id === before ? ' (same connection ' + before + ')' : ''), 'ok');
        demo.upgraded = { before, after: rt.connection.id };
      } catch (e) {
        log('authorize() failed: ' + errText(e), 'err');
      }
    };
    $('revoke').onclick = async () => {
      const r = await fetch('/admin/revoke?user=' + user, { method: 'POST' });
      log('backend: revokeTokens clientId:' + user + ' -> ' + (await r.text()), r.ok ? 'info' : 'err');
    };
  }
  main().catch((e) => log('demo failed to start: ' + e, 'err'));
})();
