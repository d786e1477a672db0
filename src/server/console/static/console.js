// rtauthd operator console: plain JavaScript, no build step, no dependencies, same origin only.
// Talks to /console/api/* with the session cookie (HttpOnly: this script never sees it) and
// sends the session's CSRF token in X-CSRF-Token on every POST (server/console/console.h).
// window.rtaConsole holds what the page shows, for tests/browser/console.test.mjs.
'use strict';

const state = (window.rtaConsole = {
  loggedIn: false, csrf: null, apps: [], createdKey: null, lastError: null, revokeResult: null,
  connections: null, metrics: [], timers: [],
});
const $ = (id) => document.getElementById(id);
const HISTORY_MS = 120000; // the charts keep about two minutes
const POLL_MS = 1000;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c instanceof Node ? c : String(c));
  return e;
}

class ApiError extends Error {
  constructor(status, info) {
    super(info?.message || `HTTP ${status}`);
    this.status = status;
    this.code = info?.code;
  }
}

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET') {
    opts.headers['Content-Type'] = 'application/json';
    if (state.csrf) opts.headers['X-CSRF-Token'] = state.csrf;
    opts.body = JSON.stringify(body || {});
  }
  const res = await fetch('/console/api/' + path, opts);
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) {
    if (res.status === 401 && path !== 'login') showLogin();
    throw new ApiError(res.status, json?.error);
  }
  return json;
}

// ---- login ----------------------------------------------------------------------------------

function showLogin(message) {
  state.loggedIn = false;
  state.csrf = null;
  for (const t of state.timers) clearInterval(t);
  state.timers = [];
  $('main-view').classList.add('hidden');
  $('logout').classList.add('hidden');
  $('login-view').classList.remove('hidden');
  $('login-error').textContent = message || '';
  $('password').focus();
}

function showMain(session) {
  state.loggedIn = true;
  state.csrf = session.csrfToken;
  $('login-view').classList.add('hidden');
  $('main-view').classList.remove('hidden');
  $('logout').classList.remove('hidden');
  refreshApps();
  refreshConnections();
  pollMetrics();
  state.timers.push(setInterval(pollMetrics, POLL_MS));
  state.timers.push(setInterval(refreshConnections, 2000));
  state.timers.push(setInterval(refreshApps, 5000));
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  try {
    const session = await api('POST', 'login', { password: $('password').value });
    $('password').value = '';
    showMain(session);
  } catch (err) {
    state.lastError = { status: err.status, code: err.code, message: err.message };
    $('login-error').textContent =
      err.status === 429 ? 'Too many failed attempts: wait and try again.' : err.message;
  }
});

$('logout').addEventListener('click', async () => {
  try { await api('POST', 'logout'); } catch {}
  showLogin('Logged out.');
});

// ---- apps and keys --------------------------------------------------------------------------

function fmtTime(ms) {
  return ms ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

async function setKeyEnabled(keyName, enabled) {
  $('key-error').textContent = '';
  try {
    await api('POST', 'keys/state', { keyName, enabled });
  } catch (err) {
    $('key-error').textContent = err.message;
  }
  refreshApps();
}

function renderApps() {
  const list = $('app-list');
  list.replaceChildren();
  const appSel = $('key-app'), keySel = $('revoke-key'), capSel = $('cap-key');
  const keepApp = appSel.value, keepKey = keySel.value, keepCap = capSel.value;
  appSel.replaceChildren();
  keySel.replaceChildren();
  capSel.replaceChildren();
  for (const app of state.apps) {
    appSel.append(el('option', { value: app.appId }, app.appId));
    const rows = app.keys.map((k) => {
      if (k.revocableTokens) keySel.append(el('option', { value: k.keyName }, k.keyName));
      capSel.append(el('option', { value: k.keyName }, k.keyName));
      return el('tr', { 'data-key': k.keyName },
        el('td', {}, el('code', {}, k.keyName)),
        el('td', {}, el('code', {}, k.capability)),
        el('td', {}, k.revocableTokens ? 'revocable' : '-'),
        el('td', {}, el('span', { class: 'badge ' + (k.enabled ? 'on' : 'off') }, k.enabled ? 'enabled' : 'disabled')),
        el('td', {}, fmtTime(k.created)),
        el('td', {}, el('button', {
          type: 'button', class: 'small ' + (k.enabled ? 'danger' : 'secondary'),
          'data-action': k.enabled ? 'disable' : 'enable',
          onclick: () => setKeyEnabled(k.keyName, !k.enabled),
        }, k.enabled ? 'Disable' : 'Enable')));
    });
    list.append(el('div', { class: 'app', 'data-app': app.appId },
      el('span', { class: 'app-title' }, 'App ', el('code', {}, app.appId)),
      app.sandbox ? el('span', { class: 'badge' }, 'sandbox') : null,
      el('span', { class: 'badge' }, `${app.connections.live} live connection(s)`),
      el('table', {},
        el('thead', {}, el('tr', {}, ...['key', 'capability', 'tokens', 'state', 'created', ''].map((h) => el('th', {}, h)))),
        el('tbody', {}, ...rows))));
  }
  if (keepApp) appSel.value = keepApp;
  if (keepKey) keySel.value = keepKey;
  if (keepCap) capSel.value = keepCap;
  if (!$('cap-value').value || capSel.value !== keepCap) showCapability();
}

function showCapability() {
  const k = state.apps.flatMap((a) => a.keys).find((x) => x.keyName === $('cap-key').value);
  $('cap-value').value = k ? k.capability : '';
}

$('cap-key').addEventListener('change', showCapability);

$('cap-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = $('cap-result');
  out.className = '';
  const keyName = $('cap-key').value, text = $('cap-value').value.trim();
  try {
    JSON.parse(text);
  } catch (err) {
    out.className = 'error';
    out.textContent = 'Capability is not JSON: ' + err.message;
    return;
  }
  try {
    const k = await api('POST', 'keys/capability', { keyName, capability: text });
    state.capabilityChange = k;
    out.textContent = `${k.keyName} now grants ${k.capability} to new tokens`;
    await refreshApps();
  } catch (err) {
    state.capabilityChange = { error: { code: err.code, message: err.message } };
    out.className = 'error';
    out.textContent = `${err.message} (${err.code})`;
  }
});

async function refreshApps() {
  try {
    const r = await api('GET', 'apps');
    state.apps = r.apps.sort((a, b) => a.appId.localeCompare(b.appId));
    renderApps();
  } catch (err) {
    state.lastError = { status: err.status, message: err.message };
  }
}

$('key-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('key-error').textContent = '';
  $('key-created').classList.add('hidden');
  const capText = $('key-capability').value.trim();
  try {
    if (capText) JSON.parse(capText); // the server validates it too (40000)
  } catch (err) {
    $('key-error').textContent = 'Capability is not JSON: ' + err.message;
    return;
  }
  try {
    const k = await api('POST', 'keys', {
      appId: $('key-app').value, capability: capText || undefined,
      revocableTokens: $('key-revocable').checked,
    });
    state.createdKey = k;
    const box = $('key-created');
    box.replaceChildren(
      el('div', {}, 'New key (shown once; copy it now):'),
      el('code', { id: 'key-created-str' }, k.keyStr),
      el('div', { class: 'note' }, 'capability ', el('code', {}, k.capability)));
    box.classList.remove('hidden');
    refreshApps();
  } catch (err) {
    $('key-error').textContent = `${err.message} (${err.code})`;
  }
});

// ---- revocation -----------------------------------------------------------------------------

$('revoke-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const type = $('revoke-type').value, value = $('revoke-value').value.trim();
  const out = $('revoke-result');
  out.className = '';
  try {
    const body = { type, value };
    // a token names the key that issued it: the server finds it
    if (type !== 'token' && $('revoke-key').value) body.keyName = $('revoke-key').value;
    const r = await api('POST', 'revoke', body);
    const res = r.result?.results?.[0] || r.result?.[0] || {};
    state.revokeResult = r;
    if (res.error) {
      out.className = 'error';
      out.textContent = `Refused: ${res.error.message} (${res.error.code})`;
    } else {
      const shown = type === 'token' ? `a token (${value.length} characters)` : `${type}:${value}`;
      out.textContent = `Revoked ${shown} on ${r.keyName}` +
        (res.appliesAt ? ` (applies at ${fmtTime(res.appliesAt)})` : '');
    }
    refreshConnections();
  } catch (err) {
    state.revokeResult = { error: { code: err.code, message: err.message } };
    out.className = 'error';
    out.textContent = `${err.message} (${err.code})`;
  }
});

// ---- connections ----------------------------------------------------------------------------

async function refreshConnections() {
  const clientId = $('conn-client').value.trim();
  try {
    const r = await api('GET', 'connections' + (clientId ? '?clientId=' + encodeURIComponent(clientId) : ''));
    state.connections = r;
    $('conn-summary').replaceChildren(
      el('p', {}, `${r.total.live} live, ${r.total.detached} awaiting resume. `,
        ...Object.entries(r.perApp).map(([app, c]) => el('span', { class: 'badge', 'data-app': app }, `${app}: ${c.live}`))));
    $('conn-list').replaceChildren(...r.connections.map((c) => el('tr', { 'data-conn': c.connectionId },
      el('td', {}, el('code', {}, c.connectionId)), el('td', {}, c.appId), el('td', {}, el('code', {}, c.keyName)),
      el('td', {}, c.clientId ?? '-'), el('td', {}, c.live ? 'live' : 'detached'), el('td', {}, fmtTime(c.expires)))));
  } catch (err) {
    state.lastError = { status: err.status, message: err.message };
  }
}

$('conn-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  refreshConnections();
  refreshApps();
});

// ---- charts ---------------------------------------------------------------------------------

function drawChart(canvas, points, color) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height, pad = 28;
  ctx.clearRect(0, 0, w, h);
  const now = Date.now();
  const max = Math.max(0, ...points.map((p) => p.v));
  const step = Math.max(1, Math.ceil((max * 1.1) / 4)); // four whole-number steps
  const top = step * 4;
  ctx.strokeStyle = '#e4e7ec';
  ctx.fillStyle = '#667085';
  ctx.font = '10px system-ui, sans-serif';
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = pad / 2 + ((h - pad) * i) / 4;
    ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(w - 4, y); ctx.stroke();
    ctx.fillText(String(top - step * i), 2, y + 3);
  }
  ctx.fillText('-2 min', pad, h - 2);
  ctx.fillText('now', w - 24, h - 2);
  if (!points.length) return;
  const x = (t) => pad + ((w - 4 - pad) * (t - (now - HISTORY_MS))) / HISTORY_MS;
  const y = (v) => pad / 2 + (h - pad) * (1 - v / top);
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.beginPath();
  points.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.v)) : ctx.moveTo(x(p.t), y(p.v))));
  ctx.stroke();
}

async function pollMetrics() {
  let m;
  try {
    m = await api('GET', 'metrics');
  } catch {
    return;
  }
  const t = Date.now();
  const prev = state.metrics[state.metrics.length - 1];
  const sample = { t, connections: m.connections, tokenRequests: m.tokenRequests, rate: null };
  if (prev && m.tokenRequests != null && prev.tokenRequests != null && t > prev.t) {
    sample.rate = Math.max(0, ((m.tokenRequests - prev.tokenRequests) * 1000) / (t - prev.t));
  }
  state.metrics.push(sample);
  while (state.metrics.length && state.metrics[0].t < t - HISTORY_MS) state.metrics.shift();
  $('now-connections').textContent = String(m.connections);
  $('now-tokens').textContent = sample.rate == null ? '-' : sample.rate.toFixed(1);
  $('chart-note').textContent = m.tokenRequests == null
    ? 'Token request rate: this rtauthd reports no token request counter.' : '';
  drawChart($('chart-connections'), state.metrics.map((s) => ({ t: s.t, v: s.connections })), '#1f6feb');
  drawChart($('chart-tokens'), state.metrics.filter((s) => s.rate != null).map((s) => ({ t: s.t, v: s.rate })), '#12b76a');
}

// ---- start: an existing session (cookie) goes straight in -----------------------------------

api('GET', 'session').then(showMain, () => showLogin());
