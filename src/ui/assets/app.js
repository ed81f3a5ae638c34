// cellar's dashboard: reads the JSON API (/api/v1/history, /api/v1/top,
// /api/v1/upstreams, /api/v1/stats, /api/v1/git, /api/v1/fleet) with the
// admin token the sign-in form takes, and shows it.
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
function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return ms + ' ms';
  let s = ms / 1000;
  if (s < 60) return s.toFixed(1) + ' s';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  s = Math.round(s % 60);
  return (h ? h + ' h ' : '') + m + ' min' + (h ? '' : ' ' + s + ' s');
}
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

// Draws one bar per point of `series` into the SVG `selector` (viewBox
// 900 x height): each bar stacks the layers `layers(point)` returns, as
// [class, value] pairs, scaled to the largest stack.
function bars(selector, height, series, layers, describe) {
  const svg = $(selector);
  svg.innerHTML = '';
  const stacks = series.map((p) => layers(p).filter(([, n]) => n > 0));
  const max = Math.max(1, ...stacks.map((l) => l.reduce((sum, [, n]) => sum + n, 0)));
  const w = 900 / series.length;
  const ns = 'http://www.w3.org/2000/svg';
  stacks.forEach((stack, i) => {
    let y = height;
    for (const [cls, n] of stack) {
      const h = (n / max) * (height - 10);
      const r = document.createElementNS(ns, 'rect');
      r.setAttribute('x', (i * w + 0.5).toFixed(2));
      r.setAttribute('width', Math.max(1, w - 1).toFixed(2));
      r.setAttribute('y', (y - h).toFixed(2));
      r.setAttribute('height', h.toFixed(2));
      r.setAttribute('class', cls);
      const title = document.createElementNS(ns, 'title');
      title.textContent = `${when(series[i].t_ms)}: ${describe(cls, n, series[i])}`;
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
  show('time-saved', t.time_saved_ms, duration(t.time_saved_ms));
  show('evicted-bytes', t.evicted_bytes, bytes(t.evicted_bytes));
  show('evicted-entries', t.evicted_entries, count(t.evicted_entries) + ' entries');
  bars('#chart', 160, h.series, (p) => [['hit', p.hits], ['miss', p.misses], ['other', p.requests - p.hits - p.misses]],
    (cls, n) => `${n} ${cls}`);
  bars('#evictions-chart', 80, h.series, (p) => [['evicted', p.evicted_bytes]],
    (cls, n, p) => `${count(p.evicted_entries)} entries, ${bytes(n)} evicted`);
  const traffic = [[(p) => count(p.requests), (p) => p.requests, 'num'], [(p) => count(p.hits), (p) => p.hits, 'num'],
    [(p) => count(p.misses), (p) => p.misses, 'num'], [(p) => percent(p.hit_rate), (p) => p.hit_rate, 'num'],
    [(p) => bytes(p.bytes_served), (p) => p.bytes_served, 'num'],
    [(p) => bytes(p.bytes_from_cache), (p) => p.bytes_from_cache, 'num']];
  fillRows('#protocols', h.protocols, [[(p) => p.protocol], ...traffic,
    [(p) => count(p.errors), (p) => p.errors, 'num'], [(p) => duration(p.time_saved_ms), (p) => p.time_saved_ms, 'num']],
  (tr, p) => { tr.dataset.protocol = p.protocol; });
  fillRows('#traffic-namespaces', h.namespaces, [[(n) => n.namespace], ...traffic,
    [(n) => count(n.evicted_entries), (n) => n.evicted_entries, 'num'],
    [(n) => bytes(n.evicted_bytes), (n) => n.evicted_bytes, 'num']],
  (tr, n) => { tr.dataset.namespace = n.namespace; });
}

// One row per item; each column is [text(item), raw(item)?, class?].
// `mark(tr, item)` may tag the row (data-* attributes the tests look up).
function fillRows(selector, items, columns, mark) {
  const body = document.querySelector(selector + ' tbody');
  body.innerHTML = '';
  items.forEach((item, i) => {
    const tr = document.createElement('tr');
    tr.dataset.rank = String(i + 1);
    tr.append(...columns.map(([text, raw, cls]) => cell(text(item), raw ? raw(item) : undefined, cls)));
    if (mark) mark(tr, item);
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
  fillRows('#upstreams', u.upstreams, [[(x) => x.host], [(x) => count(x.requests), (x) => x.requests, 'num'],
    [(x) => count(x.errors), (x) => x.errors, 'num'], [(x) => bytes(x.bytes), (x) => x.bytes, 'num'],
    [(x) => x.p50_ms + ' ms', (x) => x.p50_ms, 'num'], [(x) => x.p99_ms + ' ms', (x) => x.p99_ms, 'num'],
    [(x) => when(x.last_success_ms), (x) => x.last_success_ms],
    [(x) => (x.last_error ? `${when(x.last_error_ms)}: ${x.last_error}` : 'none'), (x) => x.last_error_ms]],
  (tr, x) => { tr.dataset.host = x.host; });
  fillRows('#stale', u.stale_served, [[(x) => x.protocol], [(x) => count(x.count), (x) => x.count, 'num']],
    (tr, x) => { tr.dataset.protocol = x.protocol; });
}

async function renderStorage() {
  const s = await api('/api/v1/stats');
  show('stored-bytes', s.stored_bytes, bytes(s.stored_bytes));
  show('max-bytes', s.max_bytes, s.max_bytes ? bytes(s.max_bytes) : 'none');
  show('entries', s.entries, count(s.entries));
  $('#fill').style.width = s.max_bytes ? Math.min(100, (100 * s.stored_bytes) / s.max_bytes) + '%' : '0';
  const namespaces = Object.entries(s.namespaces).map(([name, ns]) => ({ name, ...ns }));
  fillRows('#namespaces', namespaces, [[(n) => n.name], [(n) => count(n.entries), (n) => n.entries, 'num'],
    [(n) => bytes(n.bytes), (n) => n.bytes, 'num'],
    [(n) => (s.stored_bytes ? percent(n.bytes / s.stored_bytes) : '–'), undefined, 'num']],
  (tr, n) => { tr.dataset.namespace = n.name; });
  if (s.node) $('#node').textContent = 'node ' + s.node;
}

async function renderGit() {
  const g = await api('/api/v1/git');
  $('#git-off').hidden = g.enabled;
  show('mirrors', g.mirrors.length, count(g.mirrors.length));
  show('mirror-bytes', g.total_bytes, bytes(g.total_bytes));
  show('mirror-max-bytes', g.max_bytes, g.max_bytes ? bytes(g.max_bytes) : 'none');
  fillRows('#mirrors', g.mirrors, [[(m) => m.repo], [(m) => bytes(m.bytes), (m) => m.bytes, 'num'],
    [(m) => when(m.last_fetch_ms), (m) => m.last_fetch_ms], [(m) => when(m.last_use_ms), (m) => m.last_use_ms],
    [(m) => count(m.clones_served), (m) => m.clones_served, 'num']],
  (tr, m) => { tr.dataset.repo = m.repo; });
  const w = g.warmup;
  const last = w && w.last_run;
  show('warmup-schedule', w ? w.schedule : null,
    !w ? 'no warm-up configured' : (w.schedule ? `${w.schedule} (UTC), ${w.repositories.length} repositories` : 'at start-up and on demand only'));
  show('warmup-next', w ? w.next_run_ms : null, w && w.next_run_ms ? when(w.next_run_ms) : '–');
  show('warmup-last', last ? last.finished_ms : null, last
    ? `${when(last.finished_ms)} (${last.on_demand ? 'on demand' : 'scheduled'}): ` +
      `${last.results.filter((r) => r.ok).length} of ${last.results.length} ok`
    : 'none yet');
  fillRows('#warmup-results', last ? last.results : [], [[(r) => r.url],
    [(r) => (r.skipped ? 'skipped (another node)' : r.ok ? 'ok' : 'failed'), (r) => (r.skipped ? 'skipped' : r.ok ? 'ok' : 'error')],
    [(r) => r.seconds.toFixed(1), (r) => r.seconds, 'num'], [(r) => r.error || '', (r) => r.error]]);
}

async function renderFleet() {
  const f = await api('/api/v1/fleet');
  const t = f.tiers;
  show('tier-local', t.local.stored_bytes, `${bytes(t.local.stored_bytes)} of ${t.local.max_bytes ? bytes(t.local.max_bytes) : 'no limit'}, ` +
    `${count(t.local.entries)} entries`);
  show('tier-shared', t.shared ? t.shared.bucket : null, t.shared
    ? `S3 bucket ${t.shared.bucket}${t.shared.prefix ? ' under ' + t.shared.prefix : ''} at ${t.shared.endpoint} (uploads ${t.shared.upload})`
    : 'none: this node stores on its own disk only');
  show('tier-coordination', t.coordination ? t.coordination.url : null,
    t.coordination ? `Redis at ${t.coordination.url}` : 'none');
  const fleet = f.fleet;
  const nodes = fleet && fleet.available ? fleet.per_node : [];
  show('fleet-note', fleet ? (fleet.available ? fleet.nodes : null) : null, !fleet
    ? 'Not in fleet mode (no --redis-url): nodes are listed once they share a Redis.'
    : fleet.available ? `${fleet.nodes} nodes reporting, ${bytes(fleet.stored_bytes)} in their local tiers`
      : 'Redis did not answer: ' + fleet.error);
  fillRows('#nodes', nodes, [[(n) => n.node + (n.node === f.node ? ' (this node)' : '')],
    [(n) => count(n.entries), (n) => n.entries, 'num'], [(n) => bytes(n.stored_bytes), (n) => n.stored_bytes, 'num'],
    [(n) => (n.max_bytes ? bytes(n.max_bytes) : 'none'), (n) => n.max_bytes, 'num'], [(n) => when(n.reported_ms), (n) => n.reported_ms]],
  (tr, n) => { tr.dataset.node = n.node; });
}

const pages = {
  overview: renderOverview, top: renderTop, upstreams: renderUpstreams, storage: renderStorage, git: renderGit, fleet: renderFleet,
};

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
