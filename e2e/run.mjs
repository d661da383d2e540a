// End-to-end tests of the built page (offline mode) in Debian's Chromium via playwright-core.
// Usage: node run.mjs <dist dir> — serves dist on a free port, runs every test, saves screenshots
// under e2e/artifacts/, prints "e2e: N passed, M failed" and exits 1 on any failure.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { artifacts, eq, launch, ok, runAll } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(process.argv[2] || path.join(here, '..', 'dist'));

// A tiny static server: the page needs nothing else offline (wasm must be served as application/wasm).
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
const server = http.createServer((req, res) => {
  const url = decodeURIComponent(req.url.split('?')[0]);
  let file = path.join(dist, url === '/' ? 'index.html' : url);
  if (!file.startsWith(dist) || !fs.existsSync(file)) { res.writeHead(404); return res.end('not found'); }
  res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
});
await new Promise(r => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/`;

const browser = await launch();

// Page object: the controls by test id, the panels' text.
class Lab {
  constructor(page) { this.page = page; }
  async open(url = base) {
    const t0 = Date.now();
    await this.page.goto(url);
    await this.page.waitForSelector('[data-testid=clock]');
    return Date.now() - t0;
  }
  id(x) { return this.page.locator(`[data-testid=${x}]`); }
  async click(x) { await this.id(x).click(); }
  async text(x) { return (await this.id(x).innerText()).trim(); }
  async row(p) { return (await this.id(`row-${p}`).locator('td').allInnerTexts()).map(s => s.trim()); }
  async shot(name) { await this.page.screenshot({ path: path.join(artifacts, `${name}.png`) }); }
  async chapter(n) { // click "next" until chapter n (1-based) is shown
    for (let i = 0; i < 12; i++) {
      const h = await this.page.locator('[data-testid=chapter] h3').innerText().catch(() => '');
      if (h.startsWith(`${n} /`)) return h;
      await this.click('next-chapter');
    }
    throw new Error(`chapter ${n} never shown`);
  }
}

// What is wider than its box, or disabled and hard to read, at the page's size.
function clipped(page) {
  return page.evaluate(() => {
    const out = [];
    const doc = document.scrollingElement;
    if (doc.scrollWidth > window.innerWidth + 1) out.push(`page ${doc.scrollWidth} > ${window.innerWidth}`);
    for (const el of document.querySelectorAll('.col, .panel, .top, .timeline')) {
      if (el.scrollWidth > el.clientWidth + 1) out.push(`${el.className} ${el.scrollWidth} > ${el.clientWidth}`);
    }
    const right = document.querySelector('.col-right').getBoundingClientRect();
    if (right.right > window.innerWidth + 1) out.push(`right column ends at ${right.right}`);
    // Disabled text against its own background: WCAG contrast of at least 4.5:1.
    const rgb = s => s.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
    const lum = c => { const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    for (const b of document.querySelectorAll('button:disabled')) {
      const st = getComputedStyle(b);
      const [x, y] = [lum(rgb(st.color)), lum(rgb(st.backgroundColor))].sort((p, q) => q - p);
      const c = (x + 0.05) / (y + 0.05);
      if (c < 4.5) out.push(`disabled "${b.innerText}" contrast ${c.toFixed(2)}`);
    }
    return out;
  });
}

const figures = {};
const tests = [
  ['offline walkthrough: to the numRecords exception and out of it', async lab => {
    figures.firstRenderMs = await lab.open();
    eq(await lab.page.locator('.badge.sim').innerText(), 'SIMULATION · in-memory Kafka model', 'simulation label');
    await lab.chapter(3);
    eq((await lab.row('words-0')).slice(0, 5), ['0', '2', '2', '2', '0'], 'words-0 after the first batch: log start/end, current, checkpoint, committed');
    ok((await lab.text('state')).includes('a=2'), 'updateStateByKey state has a=2');
    await lab.shot('01-first-batch');
    await lab.chapter(6);
    ok((await lab.page.locator('[data-testid=narration]').innerText()).includes('rewind is overwritten'), 'narration explains why nothing changed');
    eq((await lab.row('words-0')).slice(3, 5), ['2', '2'], 'after the restart checkpoint and committed are back at 2');
    await lab.shot('02-nothing-changed');
    await lab.chapter(8);
    eq(await lab.text('exception'), 'java.lang.IllegalArgumentException: requirement failed: numRecords must not be negative', 'exact exception');
    const why = await lab.text('why');
    ok(why.includes('words-0: the checkpoint\'s currentOffsets say 2, the log end is 0 → range [2, 0) counts -2'), `why names the numbers: ${why}`);
    const details = await lab.text('batch-details');
    ok(details.includes('✖ -2 (negative)') && details.includes('✖ -1 (negative)'), `negative ranges in the details: ${details}`);
    eq(await lab.text('running'), '■ job not running', 'the job is dead');
    await lab.shot('03-numrecords-exception');
    await lab.chapter(9);
    eq(await lab.text('running'), '● job running', 'a fresh start after deleting the checkpoint');
    eq(await lab.text('state'), 'x=1', 'the state restarted from nothing');
    ok((await lab.page.locator('.error h2').innerText()).startsWith('Earlier error'), 'the exception is shown as past');
    await lab.shot('04-way-out');
  }],
  ['rewind: refused while the job holds the group, accepted after stop', async lab => {
    await lab.open();
    await lab.click('start');
    await lab.click('quick-p0');
    for (let i = 0; i < 3; i++) await lab.click('step');
    await lab.click('rewind');
    const refused = await lab.text('reset-refused');
    eq(refused, "✖ Error: Assignments can only be reset if the group 'g' is inactive, but the current state is Stable.", 'the tool refuses');
    ok(await lab.id('reset-execute').isDisabled(), 'execute is disabled while refused');
    await lab.shot('05-rewind-refused');
    await lab.click('reset-close');
    await lab.click('stop');
    for (let i = 0; i < 3; i++) await lab.click('step');
    eq(await lab.text('group-state'), 'Empty', 'group is Empty after the stop');
    eq((await lab.row('words-0'))[4], '2', 'committed words-0 before the rewind');
    await lab.click('rewind');
    const preview = await lab.id('reset-preview').locator('tbody tr').first().innerText();
    eq(preview.replace(/\s+/g, ' ').trim(), 'words-0 2 → 0', 'preview old → new');
    eq(await lab.id('reset-cli').inputValue(), 'kafka-consumer-groups.sh --bootstrap-server localhost:9092 --group g --reset-offsets --topic words:0 --shift-by -5 --execute', 'CLI command');
    await lab.shot('06-rewind-preview');
    await lab.click('reset-execute');
    eq((await lab.row('words-0'))[4], '0', 'committed words-0 after the rewind');
    ok((await lab.text('tool-output')).includes('New offset (-3) is lower than earliest offset'), 'the tool\'s WARN is shown');
    ok((await lab.text('why-words-0')).includes('checkpoint 2 ≠ committed 0'), 'the disagreement is spelled out');
    await lab.shot('07-rewind-done');
  }],
  ['share link: round trip replays to the same state', async lab => {
    await lab.open();
    await lab.click('start');
    await lab.id('produce-lines').fill('k1:::a\nk2:::b\nk3:::c');
    await lab.click('produce');
    for (let i = 0; i < 4; i++) await lab.click('step');
    await lab.click('kill');
    await lab.click('share');
    const url = await lab.id('share-url').inputValue();
    ok(/#v1\.[A-Za-z0-9_-]+$/.test(url), `versioned fragment: ${url}`);
    figures.shareLinkChars = url.length;
    const snapshot = async l => [await l.text('clock'), await l.text('offsets-table'), await l.text('batches'), await l.text('running'), await l.text('state')];
    const before = await snapshot(lab);
    const other = new Lab(await lab.page.context().newPage());
    await other.open(url);
    await other.page.waitForFunction(t => document.querySelector('[data-testid=clock]').innerText === t, before[0]);
    eq(await snapshot(other), before, 'the shared page shows the same state');
    await other.shot('08-shared');
    const broken = new Lab(await lab.page.context().newPage());
    await broken.open(base + '#v9.xyz');
    ok((await broken.page.locator('.notice').innerText()).includes('version v9'), 'a bad link says why');
  }],
  ['at 1366×768 nothing is clipped and disabled buttons stay readable, in normal and presenter type', async lab => {
    await lab.open();
    await lab.chapter(8);
    ok(await lab.page.locator('tr.why-row').count() > 0, 'the disagreement notes are shown');
    for (const presenter of [false, true]) {
      if (presenter) await lab.page.locator('.toggle input').check();
      const report = await clipped(lab.page);
      await lab.shot(presenter ? '10-layout-presenter' : '10-layout-normal');
      eq(report, [], `${presenter ? 'presenter' : 'normal'} type: clipped or unreadable`);
    }
  }],
  ['structured lesson: offsets/N as written, the uncommitted batch re-run, the query\'s code, nothing clipped', async lab => {
    await lab.open();
    await lab.id('lesson').selectOption({ label: 'Structured Streaming: a batch in offsets/ but not in commits/ runs again' });
    await lab.chapter(1);
    eq(await lab.text('running'), '● job running', 'the query runs');
    await lab.chapter(2);
    // The killed batch: offsets/1 written, commits/1 not; the newest offsets file is open, its text as Spark writes it.
    ok((await lab.text('ss-checkpoint-files')).includes('offsets/1 ✗ no commits/1 — a restart runs this batch again'), 'offsets/1 is marked');
    const text = await lab.text('ss-file-text');
    ok(/^v1\n\{"batchWatermarkMs":0,"batchTimestampMs":\d+,"conf":\{.*\}\}\n\{"words":\{"0":5\}\}$/s.test(text), `offsets/1 text: ${text}`);
    ok((await lab.text('ss-row-0')).replace(/\s+/g, ' ').includes('5 offsets/1 ✗ not committed'), 'the offset log column');
    ok((await lab.text('ss-group')).includes('-executor'), 'the generated group is named');
    await lab.id('ss-checkpoint-files').locator('button', { hasText: 'sources/0/0' }).click();
    eq(await lab.text('ss-file-text'), '\\u0000v1\n{"words":{"0":0}}', 'sources/0/0 with its zero byte');
    await lab.shot('12-structured-uncommitted');
    await lab.chapter(3);
    const b1 = await lab.text('ss-batch-1');
    ok(b1.includes('words-0 [3, 5)') && b1.includes('re-run of an uncommitted batch') && b1.includes('commits/ ✓'), `batch 1 re-run: ${b1}`);
    ok(!(await lab.text('ss-checkpoint-files')).includes('no commits/'), 'every batch committed after the re-run');
    // The code of this query, in Scala and PySpark, with a copy button.
    const scala = await lab.text('code-ss-text');
    for (const want of ['.option("subscribe", "words")', '.option("startingOffsets", "earliest")', 'Trigger.ProcessingTime("5 seconds")', '.option("checkpointLocation", "ckpt")'])
      ok(scala.includes(want), `Scala code has ${want}`);
    await lab.id('code-ss').locator('button', { hasText: 'PySpark' }).click();
    const py = await lab.text('code-ss-text');
    ok(py.includes(".option('startingOffsets', 'earliest')") && py.includes("processingTime='5 seconds'"), `PySpark code: ${py.slice(0, 200)}`);
    await lab.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await lab.click('code-ss-copy');
    await lab.id('code-ss-copied').waitFor();
    eq(await lab.text('code-ss-copied'), 'Copied.', 'copied');
    eq((await lab.page.evaluate(() => navigator.clipboard.readText())).trim(), py.trim(), 'the clipboard holds the PySpark code');
    await lab.shot('13-structured-rerun-code');
    eq(await clipped(lab.page), [], 'structured lesson at 1366×768: clipped or unreadable');
  }],
  ['side by side: the same rewind on DStream and Structured Streaming, two columns of three numbers', async lab => {
    await lab.open();
    await lab.id('lesson').selectOption({ label: 'Side by side: the same --reset-offsets with DStream and with Structured Streaming' });
    await lab.chapter(3);
    eq((await lab.row('words-0'))[4], '0', 'DStream: group g rewound to 0');
    ok((await lab.text('ss-row-0')).replace(/\s+/g, ' ').endsWith(' 0'), 'Structured Streaming: the executors\' group rewound to 0');
    await lab.chapter(4);
    eq((await lab.row('words-0')).slice(3, 5), ['4', '4'], 'DStream: checkpoint and committed at 4 again');
    const ss = (await lab.text('ss-row-0')).replace(/\s+/g, ' ');
    ok(ss.includes('4 offsets/') && ss.includes('✓ committed') && ss.endsWith(' none'), `Structured Streaming: offset log at 4, a new group with nothing committed: ${ss}`);
    ok((await lab.text('code-dstream-text')).includes('commitAsync(offsetRanges)') && (await lab.text('code-ss-text')).includes('.option("subscribe", "words")'), 'both codes');
    await lab.shot('14-side-by-side');
    eq(await clipped(lab.page), [], 'side by side at 1366×768: clipped or unreadable');
  }],
  ['keyboard and presenter mode at 1366×768', async lab => {
    await lab.open();
    const t0 = await lab.text('clock');
    await lab.page.keyboard.press('n');
    ok((await lab.text('clock')) !== t0, 'n steps time');
    await lab.page.locator('.toggle input').check();
    ok(await lab.page.locator('.app.presenter').count() === 1, 'presenter class');
    await lab.chapter(8);
    await lab.shot('09-presenter-exception');
    // time from "step" to the rendered batch while 10 000 records land in one batch
    await lab.page.locator('button', { hasText: 'New' }).click();
    await lab.click('start');
    await lab.page.locator('button', { hasText: '10 000 records' }).click();
    // Frame times: a requestAnimationFrame loop records every frame while the batch lands.
    await lab.page.evaluate(() => {
      window.__frames = [];
      const loop = t => { window.__frames.push(t); if (window.__frames.length < 600) requestAnimationFrame(loop); };
      requestAnimationFrame(loop);
    });
    const t1 = Date.now();
    await lab.click('step');
    await lab.page.waitForFunction(() => document.querySelector('[data-testid=batches]').innerText.includes('10000'));
    figures.tenThousandBatchMs = Date.now() - t1;
    await lab.page.waitForTimeout(300);
    const frames = await lab.page.evaluate(() => window.__frames);
    const gaps = frames.slice(1).map((t, i) => t - frames[i]).sort((a, b) => b - a);
    figures.tenThousandLongestFrameMs = Math.round(gaps[0]);
    figures.tenThousandFramesOver50Ms = gaps.filter(g => g > 50).length;
  }],
  ['checkpoint inspector: a real Spark checkpoint directory through the file input, offsets and a prediction', async lab => {
    await lab.open();
    await lab.click('inspector-open');
    // Spark 3.5.1's own files (with Hadoop's .crc sidecars) and what Spark itself deserialized from them.
    const dir = path.join(here, '..', 'crates', 'spark-checkpoint', 'fixtures', 'spark', 'spark351-lz4-subscribe');
    const names = fs.readdirSync(dir).filter(n => /^\.?checkpoint-\d+/.test(n));
    await lab.id('inspector-files').setInputFiles(names.map(n => path.join(dir, n)));
    await lab.id('inspector-summary').waitFor();
    const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
    const pick = expected.files.find(f => f.file === expected.restartPick);
    ok((await lab.id('inspector-files-table').innerText()).includes(`${expected.restartPick}`), 'the restart pick is listed');
    const marked = await lab.page.locator('[data-testid=inspector-files-table] tr.pick th').innerText();
    ok(marked.startsWith(expected.restartPick), `the restart pick is marked: ${marked}`);
    eq(await lab.text('inspector-time'), `${pick.checkpointTime} (` + new Date(pick.checkpointTime).toISOString().replace('.000Z', 'Z') + ')', 'checkpointTime');
    for (const o of pick.kafka[0].currentOffsets) {
      const cells = (await lab.id(`inspector-offset-${o.topic}-${o.partition}`).locator('td').allInnerTexts()).map(s => s.trim());
      eq(cells[0], String(o.offset), `currentOffsets of ${o.topic}-${o.partition}`);
      ok(await lab.id(`inspector-lane-${o.topic}-${o.partition}`).count() === 1, 'a lane per partition');
    }
    const headline = await lab.text('prediction-headline');
    const first = pick.kafka[0].currentOffsets.map(o => `${o.topic}-${o.partition}`).sort()[0];
    eq(headline, `✖ the restart crashes: java.lang.IllegalStateException: No current assignment for partition ${first}`, 'prediction against the page\'s Kafka (no such topic)');
    ok(await lab.page.locator('[data-testid=prediction-way-out]').count() >= 1, 'ways out offered');
    figures.inspectorDecodeMs = (await lab.text('inspector-timing')).replace(/[^0-9.]/g, '');
    await lab.id('inspector-prediction').scrollIntoViewIfNeeded();
    await lab.shot('10-checkpoint-inspector');
  }],
  ['bridge: a malformed frame shows an error and the session goes on; a lost bridge is retried and the lab resumed', async lab => {
    // A stand-in for the bridge (Playwright answers the page's websocket): it welcomes, then misbehaves.
    const ns = 'lab-0123456789ab-';
    const welcome = (namespace, id, labSecret) => JSON.stringify({ v: 1, ...(id === undefined ? {} : { id }), reply: 'welcome', protocolVersion: 1, namespace, kafka: { up: true, bootstrap: '127.0.0.1:9092' }, maxFrameBytes: 262144, binaryRecords: false, role: 'solo', locked: false, ...(labSecret ? { labSecret } : {}) });
    const connections = [];
    await lab.page.routeWebSocket(/\/ws$/, ws => {
      const c = { ws, received: [] };
      connections.push(c);
      ws.onMessage(m => c.received.push(JSON.parse(m)));
      // As the bridge does, every new connection is welcomed unasked with a fresh namespace.
      ws.send(connections.length === 1 ? welcome(ns, undefined, 'secret-of-the-first-lab') : welcome('lab-ffffffffffff-', undefined, 'secret-of-another-lab'));
    });
    // Frames cross from the page to this stand-in asynchronously: wait for them.
    const arrived = async (cond, what) => {
      for (const t0 = Date.now(); !cond(); await lab.page.waitForTimeout(50)) {
        if (Date.now() - t0 > 5000) throw new Error(`${what}: not within 5 s; frames: ${JSON.stringify(connections.map(c => c.received))}`);
      }
    };
    const mode = async text => lab.page.waitForFunction(t => (document.querySelector('[data-testid=mode]')?.innerText || '').match(t), text, { timeout: 10000 });
    await lab.open();
    await mode('^LIVE · Apache Kafka at 127\\.0\\.0\\.1:9092 via the bridge$');
    const [first] = connections;
    await arrived(() => first.received.some(r => r.op === 'createTopic' && r.topic === `${ns}words`), `the lab's topic is created`);
    first.ws.send('{"v":1,"reply":"surprise"}');
    await lab.page.locator('.notice').waitFor();
    const notice = await lab.page.locator('.notice').innerText();
    ok(notice.startsWith('The bridge sent a frame this page cannot read; it was ignored and the session goes on:') && notice.includes('surprise'), `the error is shown: ${notice}`);
    eq(await lab.text('mode'), 'LIVE · Apache Kafka at 127.0.0.1:9092 via the bridge', 'still live after the bad frame');
    // The session goes on: the topic's creation is answered, and the queued produce goes out after it.
    await lab.click('quick-p0');
    const create = first.received.find(r => r.op === 'createTopic');
    first.ws.send(JSON.stringify({ v: 1, id: create.id, reply: 'topicCreated', topic: `${ns}words`, partitions: 3 }));
    await arrived(() => first.received.some(r => r.op === 'produce'), 'a produce frame');
    const produce = first.received.find(r => r.op === 'produce');
    eq(produce && [produce.topic, produce.partition, produce.records.map(r => r.value)], [`${ns}words`, 0, ['a', 'b']], 'the produce after the bad frame');
    first.ws.send(JSON.stringify({ v: 1, reply: 'kafkaStatus', kafka: { up: false, bootstrap: '127.0.0.1:9092', detail: 'broker gone' } }));
    await mode('^LIVE · Kafka at 127\\.0\\.0\\.1:9092 is down: broker gone$');
    // The bridge goes away: the page says when it tries again, then reconnects and takes its lab back.
    await first.ws.close({ code: 1011, reason: 'bridge restarted' });
    await mode('^LIVE · the bridge went away \\(bridge restarted\\); reconnecting in 1 s$');
    await lab.shot('11-bridge-reconnecting');
    await arrived(() => connections.length === 2 && connections[1].received.length >= 2, 'a second connection after the backoff, with hello and the watch');
    const hello = connections[1].received[0];
    eq([hello.op, hello.resume, hello.namespace], ['hello', 'secret-of-the-first-lab', undefined], 'the first frame of the new connection takes the lab back by its secret, not by the namespace');
    ok(connections[1].received.some(r => r.op === 'watchOffsetsTopic' && r.group === `${ns}g`), 'the group watch is renewed');
    connections[1].ws.send(welcome(ns, hello.id));
    await mode('^LIVE · Apache Kafka at 127\\.0\\.0\\.1:9092 via the bridge$');
  }],
];

const { passed, failed } = await runAll(browser, tests, page => new Lab(page));
await browser.close();
server.close();
console.log(`figures: ${JSON.stringify(figures)}`);
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
