// End-to-end tests of the page served by the bridge, on a real Kafka, in Debian's Chromium.
// Usage: node live.mjs <bridge url> <bridge checkpoint root> — prints "e2e: N passed, M failed".
// Real time: the walkthrough takes the lesson's own ~2.5 minutes.
import fs from 'node:fs';
import path from 'node:path';
import { LivePage, eq, launch, ok, runAll } from './harness.mjs';

const base = process.argv[2] || 'http://127.0.0.1:8787/';
const checkpointRoot = process.argv[3];

const browser = await launch();

class Live extends LivePage {
  constructor(page) { super(page, 'live', ''); }
  async open() {
    await this.page.goto(base);
    await this.page.waitForFunction(() => (document.querySelector('[data-testid=mode]')?.innerText || '').startsWith('LIVE'), null, { timeout: 20000 });
    return await this.text('mode');
  }
  // Clicks "next" and waits until chapter n (1-based) has run all its steps on the real Kafka;
  // a chapter that only checks runs on at once (`last` is then the chapter shown at the end).
  async chapter(n, last = n) {
    await this.click('next-chapter');
    await this.until(`chapter ${n} to finish`, async l => {
      const running = await l.id('chapter-running').count();
      const h = await l.page.locator('[data-testid=chapter] h3').innerText({ timeout: 1000 }).catch(() => '');
      return running === 0 && h.startsWith(`${last} /`) || h;
    }, 90000);
    const checks = await this.id('checks').count() ? await this.text('checks') : '';
    const failures = await this.page.locator('.failures').count() ? await this.page.locator('.failures').innerText() : '';
    ok(!checks.includes('failed'), `chapter ${last} checks: ${checks} ${failures}`);
  }
}

const tests = [
  ['live walkthrough on the real Kafka: to the numRecords exception and out of it', async lab => {
    const mode = await lab.open();
    ok(/^LIVE · Apache Kafka at 127\.0\.0\.1:\d+ via the bridge$/.test(mode), `live label: ${mode}`);
    const ns = await lab.namespace();
    await lab.chapter(1);
    await lab.chapter(2, 3);
    eq((await lab.row('words-0')).slice(0, 3), ['0', '2', '2'], 'words-0 after the first batch: log start, log end, currentOffsets');
    ok((await lab.text('state')).includes('a=2'), 'updateStateByKey state has a=2');
    await lab.shot('live-01-first-batch');
    for (const n of [4, 5, 6]) await lab.chapter(n);
    eq((await lab.row('words-0')).slice(3, 5), ['2', '2'], 'after the restart the checkpoint and the committed offset are back at 2');
    await lab.shot('live-02-nothing-changed');
    await lab.chapter(7);
    await lab.chapter(8);
    eq(await lab.text('exception'), 'java.lang.IllegalArgumentException: requirement failed: numRecords must not be negative', 'exact exception');
    eq(await lab.text('running'), '■ job not running', 'the job is dead');
    if (checkpointRoot) {
      const files = fs.readdirSync(path.join(checkpointRoot, ns.replace(/-$/, ''), 'ckpt')).filter(f => f.startsWith('checkpoint-'));
      ok(files.length > 0, `checkpoint files on the bridge's disk: ${files}`);
    }
    await lab.shot('live-03-numrecords-exception');
    await lab.chapter(9);
    eq(await lab.text('running'), '● job running', 'a fresh start after deleting the checkpoint');
    eq(await lab.text('state'), 'x=1', 'the state restarted from nothing');
    await lab.shot('live-04-way-out');
  }],
  ['live rewind: refused while the job holds the group, accepted after stop', async lab => {
    await lab.open();
    await lab.click('start');
    await lab.until('the group to be Stable', async l => (await l.text('group-state')) === 'Stable' || await l.text('group-state'));
    await lab.click('quick-p0');
    await lab.until('the records to be read and committed', async l => (await l.row('words-0'))[4] === '2' || (await l.row('words-0')).join(' '), 40000);
    await lab.click('rewind');
    eq(await lab.text('reset-refused'), "✖ Error: Assignments can only be reset if the group 'g' is inactive, but the current state is Stable.", 'the tool refuses');
    ok(await lab.id('reset-execute').isDisabled(), 'execute is disabled while refused');
    const ns = await lab.namespace();
    ok((await lab.id('reset-cli').inputValue()).includes(`--group ${ns}g --reset-offsets --topic ${ns}words:0`), 'the CLI names what Kafka knows');
    await lab.shot('live-05-rewind-refused');
    await lab.click('reset-close');
    await lab.click('stop');
    await lab.until('the group to be Empty', async l => (await l.text('group-state')) === 'Empty' || await l.text('group-state'), 40000);
    await lab.click('rewind');
    const preview = await lab.id('reset-preview').locator('tbody tr').first().innerText();
    eq(preview.replace(/\s+/g, ' ').trim(), 'words-0 2 → 0', 'preview old → new');
    await lab.click('reset-execute');
    await lab.until('the committed offset to be rewound on Kafka', async l => (await l.row('words-0'))[4] === '0' || (await l.row('words-0')).join(' '));
    ok((await lab.text('tool-output')).includes('New offset (-3) is lower than earliest offset'), 'the tool\'s WARN is shown');
    const records = await lab.text('offsets-topic');
    ok(records.includes('[g,words,0] → offset 0'), `__consumer_offsets shows the rewind: ${records}`);
    await lab.shot('live-06-rewind-done');
  }],
  ['live lesson: a console consumer joins the group on the real Kafka and the job dies', async lab => {
    await lab.open();
    const before = await lab.namespace();
    await lab.page.selectOption('[data-testid=lesson]', { label: 'A second consumer in the group: partitions revoked' });
    // A lesson on the real Kafka gets a fresh lab: a new namespace once the bridge welcomes the page.
    await lab.until('a fresh lab', async l => (await l.text('mode')).startsWith('LIVE') && (await l.namespace()) !== before || 'same namespace');
    await lab.chapter(1);
    await lab.chapter(2, 3);
    eq(await lab.text('exception'), 'java.lang.IllegalStateException: Previously tracked partitions [words-1,words-0] been revoked by Kafka because of consumer rebalance. This is mostly due to another stream with same group id joined, please check if there\'re different streaming application misconfigure to use same group id. Fundamentally different stream should use different group id', 'exact exception');
    ok((await lab.page.locator('.members').innerText()).includes('console-consumer'), 'the console consumer is a member of the real group');
    await lab.chapter(4);
    ok((await lab.text('tool-output')).includes("Assignments can only be reset if the group 'g' is inactive, but the current state is Stable."), 'the reset is refused');
    await lab.shot('live-07-revoked');
  }],
];

const { passed, failed } = await runAll(browser, tests, page => new Live(page), 'live-');
await browser.close();
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
