// What both end-to-end runners share: Debian's Chromium, assertions, and the loop that runs each
// test in a fresh 1366×768 context, screenshots a failure and prints "e2e: N passed, M failed".
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
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', e => errors.push(String(e)));
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
