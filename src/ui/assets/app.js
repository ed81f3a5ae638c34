// cellar's dashboard: reads the JSON API (/api/v1/history, /api/v1/upstreams,
// /api/v1/stats) with the admin token the sign-in form takes, and shows it.
// No framework and nothing fetched from elsewhere: it works air-gapped.
'use strict';

const state = { token: sessionStorage.getItem('cellar-token') || '', range: '1h', page: 'overview', timer: null };

const $ = (sel) => document.querySelector(sel);

function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(1)) + ' ' + units[i];
}
function percent(r) { return r === null || r === undefined ? '–' : (100 * r).toFixed(1) + '%'; }
function count(n) { return n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'); }
function when(ms) { return ms ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : 'never'; }

// Sets a shown value and keeps the raw number in data-value, for scripts.
function show(testid, raw, text) {
  const el = document.querySelector(`[data-testid="${testid}"]`);
  el.textContent = text;
  el.dataset.value = raw === null || raw === undefined ? '' : String(raw);
}

function cell(text, raw, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (raw !== undefined) td.dataset.value = raw === null ? '' : String(raw);
  if (cls) td.className = cls;
  return td;
}

class AuthError extends Error {}

async function api(path) {
  const headers = state.token ? { Authorization: 'Bearer ' + state.token } : {};
  const res = await fetch(path, { headers, cache: 'no-store' });
  if (res.status === 401 || res.status === 403) throw new AuthError((await res.text()).trim());
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

function chart(series) {
  const svg = $('#chart');
  svg.innerHTML = '';
  const max = Math.max(1, ...series.map((p) => p.requests));
  const w = 900 / series.length;
  const ns = 'http://www.w3.org/2000/svg';
  series.forEach((p, i) => {
    let y = 160;
    for (const [cls, n] of [['hit', p.hits], ['miss', p.misses], ['other', p.requests - p.hits - p.misses]]) {
      if (n <= 0) continue;
      const h = (n / max) * 150;
      const r = document.createElementNS(ns, 'rect');
      r.setAttribute('x', (i * w + 0.5).toFixed(2));
      r.setAttribute('width', Math.max(1, w - 1).toFixed(2));
      r.setAttribute('y', (y - h).toFixed(2));
      r.setAttribute('height', h.toFixed(2));
      r.setAttribute('class', cls);
      const title = document.createElementNS(ns, 'title');
      title.textContent = `${when(p.t_ms)}: ${n} ${cls}`;
      r.appendChild(title);
      svg.appendChild(r);
      y -= h;
    }
  });
}

async function renderOverview() {
  const h = await api('/api/v1/history?range=' + state.range);
  const t = h.totals;
  show('requests', t.requests, count(t.requests));
  show('hit-rate', t.hit_rate, percent(t.hit_rate));
  show('bytes-served', t.bytes_served, bytes(t.bytes_served));
  show('bytes-from-cache', t.bytes_from_cache, bytes(t.bytes_from_cache));
  show('bytes-from-upstreams', t.bytes_from_upstreams, bytes(t.bytes_from_upstreams));
  chart(h.series);
  const body = $('#protocols tbody');
  body.innerHTML = '';
  for (const p of h.protocols) {
    const tr = document.createElement('tr');
    tr.dataset.protocol = p.protocol;
    tr.append(cell(p.protocol), cell(count(p.requests), p.requests, 'num'), cell(count(p.hits), p.hits, 'num'),
      cell(count(p.misses), p.misses, 'num'), cell(percent(p.hit_rate), p.hit_rate, 'num'),
      cell(bytes(p.bytes_served), p.bytes_served, 'num'), cell(bytes(p.bytes_from_cache), p.bytes_from_cache, 'num'),
      cell(count(p.errors), p.errors, 'num'));
    body.appendChild(tr);
  }
}

function fillRows(selector, items, columns) {
  const body = document.querySelector(selector + ' tbody');
  body.innerHTML = '';
  items.forEach((item, i) => {
    const tr = document.createElement('tr');
    tr.dataset.rank = String(i + 1);
    tr.append(...columns.map(([text, raw, cls]) => cell(text(item), raw ? raw(item) : undefined, cls)));
    body.appendChild(tr);
  });
}

async function renderTop() {
  const t = await api('/api/v1/top?limit=20');
  fillRows('#most-hit', t.most_hit, [[(e) => e.namespace], [(e) => e.key],
    [(e) => count(e.hits), (e) => e.hits, 'num'], [(e) => bytes(e.size), (e) => e.size, 'num']]);
  fillRows('#most-missed', t.most_missed, [[(m) => m.protocol], [(m) => m.path],
    [(m) => count(m.count), (m) => m.count, 'num']]);
  fillRows('#largest', t.largest, [[(e) => e.namespace], [(e) => e.key],
    [(e) => bytes(e.size), (e) => e.size, 'num'], [(e) => count(e.hits), (e) => e.hits, 'num']]);
}

async function renderUpstreams() {
  const u = await api('/api/v1/upstreams');
  const body = $('#upstreams tbody');
  body.innerHTML = '';
  for (const x of u.upstreams) {
    const tr = document.createElement('tr');
    tr.dataset.host = x.host;
    tr.append(cell(x.host), cell(count(x.requests), x.requests, 'num'), cell(count(x.errors), x.errors, 'num'),
      cell(bytes(x.bytes), x.bytes, 'num'), cell(x.p50_ms + ' ms', x.p50_ms, 'num'), cell(x.p99_ms + ' ms', x.p99_ms, 'num'),
      cell(when(x.last_success_ms), x.last_success_ms),
      cell(x.last_error ? `${when(x.last_error_ms)}: ${x.last_error}` : 'none', x.last_error_ms));
    body.appendChild(tr);
  }
}

async function renderStorage() {
  const s = await api('/api/v1/stats');
  show('stored-bytes', s.stored_bytes, bytes(s.stored_bytes));
  show('max-bytes', s.max_bytes, s.max_bytes ? bytes(s.max_bytes) : 'none');
  show('entries', s.entries, count(s.entries));
  $('#fill').style.width = s.max_bytes ? Math.min(100, (100 * s.stored_bytes) / s.max_bytes) + '%' : '0';
  const body = $('#namespaces tbody');
  body.innerHTML = '';
  for (const [name, ns] of Object.entries(s.namespaces)) {
    const tr = document.createElement('tr');
    tr.dataset.namespace = name;
    tr.append(cell(name), cell(count(ns.entries), ns.entries, 'num'), cell(bytes(ns.bytes), ns.bytes, 'num'),
      cell(s.stored_bytes ? percent(ns.bytes / s.stored_bytes) : '–', undefined, 'num'));
    body.appendChild(tr);
  }
  if (s.node) $('#node').textContent = 'node ' + s.node;
}

const pages = { overview: renderOverview, top: renderTop, upstreams: renderUpstreams, storage: renderStorage };

function showSignIn(message) {
  clearInterval(state.timer);
  document.querySelectorAll('.page').forEach((p) => { p.hidden = true; });
  $('#nav').hidden = true;
  $('#signout').hidden = true;
  $('#signin').hidden = false;
  $('#signin-error').textContent = message || '';
  document.body.dataset.ready = 'signin';
}

async function render() {
  try {
    await pages[state.page]();
    $('#signin').hidden = true;
    $('#nav').hidden = false;
    $('#signout').hidden = !state.token;
    document.querySelectorAll('.page').forEach((p) => { p.hidden = p.id !== 'page-' + state.page; });
    document.querySelectorAll('#nav a').forEach((a) => a.classList.toggle('on', a.dataset.page === state.page));
    document.body.dataset.ready = state.page;
  } catch (e) {
    if (e instanceof AuthError) {
      showSignIn(state.token ? 'That token was refused: ' + e.message : '');
    } else {
      document.body.dataset.ready = 'error';
      console.error(e);
    }
  }
}

function go() {
  state.page = (location.hash || '#overview').slice(1);
  if (!pages[state.page]) state.page = 'overview';
  clearInterval(state.timer);
  render();
  state.timer = setInterval(render, 10000);
}

$('#signin-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  state.token = $('#token').value.trim();
  sessionStorage.setItem('cellar-token', state.token);
  go();
});
$('#signout').addEventListener('click', () => {
  state.token = '';
  sessionStorage.removeItem('cellar-token');
  showSignIn('');
});
document.querySelectorAll('#ranges button').forEach((b) => b.addEventListener('click', () => {
  state.range = b.dataset.range;
  document.querySelectorAll('#ranges button').forEach((x) => x.classList.toggle('on', x === b));
  render();
}));
window.addEventListener('hashchange', go);
go();
