// What the end-to-end runners share: Debian's Chromium, a 1366×768 page that records its errors,
// the page object of a live page (test ids, the offsets table, the lab's namespace, waiting for
// real batches), assertions, and the loop that runs each test in a fresh context, screenshots a
// failure and prints "e2e: N passed, M failed".
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const artifacts = path.join(path.dirname(fileURLToPath(import.meta.url)), 'artifacts');
fs.mkdirSync(artifacts, { recursive: true });

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A fresh 1366×768 context and its page; the page's uncaught errors are collected in `errors`.
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(String(e)));
  // The page's last console lines, for a timeout's message: what the page said while nothing happened.
  // The first errors are kept apart: a panic in WASM leaves the reducer borrowed, so every later
  // message repeats "RefCell already borrowed" and only the first one names the cause.
  page.consoleTail = [];
  page.firstErrors = [];
  page.on('console', m => {
    const line = `${m.type()}: ${m.text()}`;
    if (m.type() === 'error' && page.firstErrors.length < 2) page.firstErrors.push(line.slice(0, 1500));
    page.consoleTail.push(line.slice(0, 300));
    if (page.consoleTail.length > 12) page.consoleTail.shift();
  });
  return { context, page, errors };
}

// The page served by the bridge, by its test ids. `who` names it in timeouts; `prefix` its screenshots.
export class LivePage {
  constructor(page, who = 'page', prefix = '') { this.page = page; this.who = who; this.prefix = prefix; }
  id(x) { return this.page.locator(`[data-testid=${x}]`); }
  async text(x) { return (await this.id(x).first().innerText()).trim(); }
  async click(x) { await this.id(x).first().click(); }
  // The offsets table's row of a partition: log start, log end, currentOffsets, checkpoint, committed, lag.
  async row(p) { return (await this.id(`row-${p}`).locator('td').allInnerTexts()).map(s => s.trim()); }
  async shot(name) { await this.page.screenshot({ path: path.join(artifacts, `${this.prefix}${name}.png`) }); }
  // The lab's prefix on the broker, from the mode label's tooltip.
  async namespace() {
    const title = await this.id('mode').getAttribute('title');
    return /prefix (lab-[0-9a-f]{12}-)/.exec(title || '')?.[1];
  }
  // Waits until fn(this) is true, re-reading the page; real batches take real seconds.
  async until(what, fn, ms = 30000) {
    const t0 = Date.now();
    let last;
    while (Date.now() - t0 < ms) {
      last = await fn(this).catch(e => String(e));
      if (last === true) return;
      await this.page.waitForTimeout(250);
    }
    // Say what the page showed: its mode (a bridge that went away, Kafka down) and its last console lines.
    const mode = await this.text('mode').catch(() => '(no mode label)');
    const first = (this.page.firstErrors || []).join('\n  ');
    const tail = (this.page.consoleTail || []).slice(-4).join('\n  ');
    throw new Error(`${this.who}: timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)}); mode: ${mode}` +
      `${first ? `; first console errors:\n  ${first}` : ''}${tail ? `\nconsole tail:\n  ${tail}` : ''}`);
  }
}

export function eq(actual, expected, what) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}
export function ok(cond, what) { if (!cond) throw new Error(what); }

// Runs `tests` ([name, async lab => …]) with `makeLab(page)`; failures are saved as
// `<prefix>failed-<n>.png`. Returns the number failed.
export async function runAll(browser, tests, makeLab, prefix = '') {
  let passed = 0, failed = 0;
  for (const [name, fn] of tests) {
    const { context, page, errors } = await newPage(browser);
    try {
      await fn(makeLab(page));
      if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
      passed++;
      console.log(`ok   ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}\n     ${e.message.split('\n').join('\n     ')}`);
      await page.screenshot({ path: path.join(artifacts, `${prefix}failed-${passed + failed}.png`) }).catch(() => {});
    }
    await context.close();
  }
  return { passed, failed };
}
