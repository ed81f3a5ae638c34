// Drives the dashboard in Debian's headless Chromium through puppeteer-core
// (pinned in scripts/install-node-clients.sh): signs in (a wrong token
// first), reads every number the pages show (their data-value attributes,
// the raw values behind the formatted text), takes a screenshot of each
// page, and blocks and records any request that is not for the cellar under
// test, so a page that loads something from elsewhere fails the test.
//
// Usage: node dashboard_browser.js CLIENTS_DIR BASE_URL TOKEN SCREENSHOT_DIR
// Prints one JSON object: {signin_error, overview, top, upstreams, storage,
// git, fleet, outside, errors}.
'use strict';

const [clientsDir, base, token, shots] = process.argv.slice(2);
const puppeteer = require(require.resolve('puppeteer-core', { paths: [clientsDir] }));

async function values(page, testids) {
  return page.evaluate((ids) => {
    const out = {};
    for (const id of ids) {
      const el = document.querySelector(`[data-testid="${id}"]`);
      out[id] = el ? { value: el.dataset.value, text: el.textContent } : null;
    }
    return out;
  }, testids);
}

async function rows(page, table, key) {
  return page.evaluate((sel, k) => {
    const out = {};
    for (const tr of document.querySelectorAll(sel + ' tbody tr')) {
      out[tr.dataset[k]] = [...tr.querySelectorAll('td')].map((td) => (td.dataset.value !== undefined ? td.dataset.value : td.textContent));
    }
    return out;
  }, table, key);
}

(async () => {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-default-apps', '--disable-sync', '--metrics-recording-only'],
  });
  const outside = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      if (req.url().startsWith(base + '/') || req.url() === base) return req.continue();
      outside.push(req.url());
      return req.abort();
    });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));

    await page.goto(base + '/ui/', { waitUntil: 'networkidle0' });
    await page.waitForSelector('body[data-ready="signin"]', { timeout: 10000 });
    await page.screenshot({ path: `${shots}/signin.png` });

    await page.type('#token', 'not-the-token-000000');
    await page.click('#signin-form button');
    await page.waitForFunction(() => document.querySelector('#signin-error').textContent.length > 0, { timeout: 10000 });
    const signinError = await page.$eval('#signin-error', (e) => e.textContent);

    await page.$eval('#token', (e) => { e.value = ''; });
    await page.type('#token', token);
    await page.click('#signin-form button');
    await page.waitForSelector('body[data-ready="overview"]', { timeout: 10000 });
    const overview = await values(page, ['requests', 'hit-rate', 'bytes-served', 'bytes-from-cache', 'bytes-from-upstreams',
      'time-saved', 'evicted-bytes', 'evicted-entries']);
    overview.protocols = await rows(page, '#protocols', 'protocol');
    overview.namespaces = await rows(page, '#traffic-namespaces', 'namespace');
    overview.bars = await page.$$eval('#chart rect', (r) => r.length);
    await page.screenshot({ path: `${shots}/overview.png`, fullPage: true });

    await page.goto(base + '/ui/#top', { waitUntil: 'networkidle0' });
    await page.waitForSelector('body[data-ready="top"]', { timeout: 10000 });
    const top = {};
    for (const id of ['most-hit', 'most-missed', 'largest']) {
      top[id] = await page.$$eval(`#${id} tbody tr`, (trs) => trs.map((tr) =>
        [...tr.querySelectorAll('td')].map((td) => (td.dataset.value !== undefined ? td.dataset.value : td.textContent))));
    }
    await page.screenshot({ path: `${shots}/top.png`, fullPage: true });

    await page.goto(base + '/ui/#upstreams', { waitUntil: 'networkidle0' });
    await page.waitForSelector('body[data-ready="upstreams"]', { timeout: 10000 });
    const upstreams = await rows(page, '#upstreams', 'host');
    const stale = await rows(page, '#stale', 'protocol');
    await page.screenshot({ path: `${shots}/upstreams.png`, fullPage: true });

    await page.goto(base + '/ui/#storage', { waitUntil: 'networkidle0' });
    await page.waitForSelector('body[data-ready="storage"]', { timeout: 10000 });
    const storage = await values(page, ['stored-bytes', 'max-bytes', 'entries']);
    storage.namespaces = await rows(page, '#namespaces', 'namespace');
    await page.screenshot({ path: `${shots}/storage.png`, fullPage: true });

    await page.goto(base + '/ui/#git', { waitUntil: 'networkidle0' });
    await page.waitForSelector('body[data-ready="git"]', { timeout: 10000 });
    const git = await values(page, ['mirrors', 'mirror-bytes', 'mirror-max-bytes', 'warmup-schedule', 'warmup-next', 'warmup-last']);
    git.rows = await rows(page, '#mirrors', 'repo');
    git['warmup-results'] = await page.$$eval('#warmup-results tbody tr', (trs) => trs.map((tr) =>
      [...tr.querySelectorAll('td')].map((td) => (td.dataset.value !== undefined ? td.dataset.value : td.textContent))));
    await page.screenshot({ path: `${shots}/git.png`, fullPage: true });

    await page.goto(base + '/ui/#fleet', { waitUntil: 'networkidle0' });
    await page.waitForSelector('body[data-ready="fleet"]', { timeout: 10000 });
    const fleet = await values(page, ['tier-local', 'tier-shared', 'tier-coordination', 'fleet-note']);
    fleet.nodes = await rows(page, '#nodes', 'node');
    await page.screenshot({ path: `${shots}/fleet.png`, fullPage: true });

    console.log(JSON.stringify({ signin_error: signinError, overview, top, upstreams, stale, storage, git, fleet, outside, errors }));
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
