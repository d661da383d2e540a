// End-to-end test of a workshop: the bridge in workshop mode on a real Kafka, three participants and
// the teacher, each in a browser context of its own (Debian's Chromium, 1366×768).
// Usage: node workshop.mjs <bridge url> <workshop dir> — prints "e2e: N passed, M failed".
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import crypto from 'node:crypto';
import { LivePage, eq, launch, newPage, ok } from './harness.mjs';

const base = process.argv[2] || 'http://127.0.0.1:8787/';
const dir = process.argv[3];
const read = f => fs.readFileSync(path.join(dir, f), 'utf8').trim();
const code = read('join-code');
const secret = read('teacher-secret');
const url = new URL(base);

const browser = await launch();

// One person's page: a participant (by name) or the teacher.
class Person extends LivePage {
  constructor(page, who) { super(page, who, 'workshop-'); }
  async live() {
    await this.page.waitForFunction(() => (document.querySelector('[data-testid=mode]')?.innerText || '').startsWith('LIVE · Apache'), null, { timeout: 20000 });
  }
  // Nothing is cut off at 1366×768: neither the page nor any column, card or panel scrolls sideways.
  async nothingClipped(what) {
    const clipped = await this.page.evaluate(() => {
      const out = [];
      const doc = document.scrollingElement;
      if (doc.scrollWidth > window.innerWidth + 1) out.push(`page ${doc.scrollWidth} > ${window.innerWidth}`);
      for (const el of document.querySelectorAll('.col, .panel, .card, .mirror, .top, .room-body')) {
        if (el.scrollWidth > el.clientWidth + 1) out.push(`${el.className} ${el.scrollWidth} > ${el.clientWidth}`);
      }
      return out;
    });
    eq(clipped, [], `${what}: elements wider than their box`);
  }
}

async function person(who) {
  const { page, errors } = await newPage(browser);
  const p = new Person(page, who);
  p.errors = errors;
  return p;
}

async function join(name) {
  const p = await person(name);
  await p.page.goto(`${base}?join=${code}`);
  await p.id('join-form').waitFor({ timeout: 20000 });
  await p.id('join-name').fill(name);
  await p.click('join');
  await p.live();
  eq(await p.text('participant'), `You: ${name}`, `${name}'s name in the header`);
  return p;
}

// A websocket upgrade by hand: the status the bridge answers with (101 = accepted).
function upgrade(pathAndQuery, origin) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, path: pathAndQuery,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'), Origin: origin },
    });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode); });
    req.on('response', res => { res.resume(); resolve(res.statusCode); });
    req.on('error', reject);
    req.end();
  });
}

async function get(pathAndQuery) {
  const res = await fetch(new URL(pathAndQuery, base));
  return { status: res.status, body: await res.text() };
}

const own = `${url.protocol}//${url.host}`;
let passed = 0, failed = 0;
const people = [];
async function test(name, fn) {
  try {
    await fn();
    const errors = people.flatMap(p => p.errors.map(e => `${p.who}: ${e}`));
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n     ${e.message.split('\n').join('\n     ')}`);
    for (const p of people) await p.shot(`failed-${passed + failed}-${p.who}`).catch(() => {});
  }
}

await test('a wrong join code and a wrong Origin are refused', async () => {
  const wrong = await get('/?join=not-the-code');
  eq(wrong.status, 403, 'the page with a wrong code');
  ok(wrong.body.includes('link or QR code'), `a readable refusal: ${wrong.body.slice(0, 200)}`);
  eq((await get('/')).status, 403, 'the page without a code');
  eq((await get(`/?join=${code}`)).status, 200, 'the page with the code');
  eq((await get('/teacher?secret=nope')).status, 403, 'the teacher page with a wrong secret');
  eq(await upgrade(`/ws?join=${code}`, own), 101, 'the websocket with the code from the page\'s origin');
  eq(await upgrade('/ws?join=not-the-code', own), 403, 'the websocket with a wrong code');
  eq(await upgrade(`/ws?join=${code}`, 'http://evil.example'), 403, 'the websocket from another origin');
  eq(await upgrade('/ws?teacher=nope', own), 403, 'the teacher websocket with a wrong secret');
});

let ada, grace, linus, teacher;
await test('three participants join, each with a lab of their own', async () => {
  ada = await join('Ada'); people.push(ada);
  grace = await join('Grace'); people.push(grace);
  linus = await join('Linus'); people.push(linus);
  const names = [await ada.namespace(), await grace.namespace(), await linus.namespace()];
  eq(new Set(names).size, 3, `three namespaces ${names}`);
  teacher = await person('teacher'); people.push(teacher);
  await teacher.page.goto(`${base}teacher?secret=${secret}`);
  await teacher.until('three cards', async t => (await t.page.locator('.card').count()) === 3 || await t.page.locator('.card').count());
});

await test("each participant's actions change only their lab, and the teacher's grid shows the numbers", async () => {
  await ada.click('start');
  await ada.until('the group to be Stable', async a => (await a.text('group-state')) === 'Stable' || await a.text('group-state'));
  await ada.click('quick-p0');
  await grace.click('quick-p0');
  await grace.click('quick-p0');
  await ada.until('a batch to read and commit a, b', async a => (await a.row('words-0'))[3] === '2' && (await a.row('words-0'))[4] === '2' || (await a.row('words-0')).join(' '), 40000);
  await grace.until('four records on Grace\'s words-0', async g => (await g.row('words-0'))[1] === '4' || (await g.row('words-0')).join(' '));
  eq((await linus.row('words-0')).slice(0, 2), ['0', '0'], "Linus's words-0 is untouched");
  eq((await grace.row('words-0')).slice(3, 5), ['–', '–'], 'Grace has no checkpoint and no commit');
  // The grid: Ada K 2 · G 2 · [0, 2); Grace – · – · [0, 4); Linus – · – · [0, 0).
  const card = async (who, p = 'words-0') => (await teacher.id(`lab-${who}`).locator(`[data-testid=card-${p}]`).locator('td').allInnerTexts()).slice(0, 3).map(s => s.trim());
  await teacher.until('Ada\'s numbers in the grid', async () => JSON.stringify(await card('Ada')) === JSON.stringify(['2', '2', '[0, 2)']) || await card('Ada'));
  await teacher.until('Grace\'s numbers in the grid', async () => JSON.stringify(await card('Grace')) === JSON.stringify(['–', '–', '[0, 4)']) || await card('Grace'));
  eq(await card('Linus'), ['–', '–', '[0, 0)'], "Linus's numbers in the grid");
  eq(await teacher.id('lab-Ada').locator('[data-testid=card-job]').innerText(), '● running', "Ada's job");
  ok((await teacher.id('lab-Grace').locator('[data-testid=card-job]').innerText()).includes('idle'), "Grace's job");
  ok(/^\d+ s ago$/.test(await teacher.id('lab-Ada').locator('[data-testid=card-ago]').innerText()), 'last activity in seconds');
  await teacher.shot('01-grid');
  await teacher.nothingClipped('the teacher grid');
  await teacher.id('lab-Ada').click();
  await teacher.id('mirror').waitFor();
  ok((await teacher.text('mirror')).includes("Ada's lab"), 'the mirror shows Ada');
  await teacher.shot('02-mirror');
  await teacher.nothingClipped('the mirror');
});

await test('a pushed chapter and a broadcast reach every participant; the lock greys destructive buttons', async () => {
  await teacher.page.selectOption('[data-testid=push-lesson]', '0');
  await teacher.page.selectOption('[data-testid=push-chapter]', '0');
  await teacher.click('push');
  for (const p of [ada, grace, linus]) {
    await p.id('pushed').waitFor({ timeout: 10000 });
    ok((await p.text('pushed')).startsWith('Your teacher moved to The seed experiment · 1/'), `${p.who} sees the push: ${await p.text('pushed')}`);
  }
  await ada.click('pushed-stay');
  await grace.click('pushed-stay');
  await linus.click('pushed-go');
  await linus.id('chapter-running').waitFor({ timeout: 10000 });
  eq(await ada.id('pushed').count(), 0, 'Stay leaves Ada where she is');
  await teacher.id('broadcast-text').fill('Break until 11:00');
  await teacher.click('broadcast-send');
  for (const p of [ada, grace, linus]) {
    await p.id('broadcast').waitFor({ timeout: 10000 });
    ok((await p.text('broadcast')).includes('Break until 11:00'), `${p.who} sees the message`);
  }
  await teacher.click('lock');
  await ada.id('locked').waitFor({ timeout: 10000 });
  const button = ada.id('recreate-topic');
  ok(await button.isDisabled(), 'delete & re-create is disabled while locked');
  ok((await button.getAttribute('title')).includes('teacher has locked'), 'the tooltip says the teacher locked it');
  eq(await button.innerText(), '♻ Delete & re-create topic', 'the text stays');
  // Readable: the disabled text's contrast against its background is at least 4.5:1.
  const contrast = await button.evaluate(el => {
    const rgb = s => s.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
    const lum = c => { const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const st = getComputedStyle(el);
    const [a, b] = [lum(rgb(st.color)), lum(rgb(st.backgroundColor))].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  });
  ok(contrast >= 4.5, `disabled button contrast ${contrast.toFixed(2)} ≥ 4.5`);
  await ada.shot('03-participant-locked');
  await ada.nothingClipped("Ada's page");
  await teacher.click('lock');
  await ada.until('the lock lifted', async a => !(await a.id('recreate-topic').isDisabled()) || 'still disabled');
});

await test('a crashed job shows its exception in red on the teacher\'s card', async () => {
  // Changed code cannot read the old checkpoint: getOrCreate gives up.
  await ada.click('stop');
  await ada.until('the job to stop', async a => (await a.text('running')) === '■ job not running' || await a.text('running'), 40000);
  await ada.click('change-code');
  await ada.click('start');
  await ada.until('the job to die', async a => (await a.id('exception').count()) > 0 || 'no exception yet');
  const job = teacher.id('lab-Ada').locator('[data-testid=card-job]');
  await teacher.until('the crash in the grid', async () => (await job.innerText()).includes('crashed') || await job.innerText());
  eq(await teacher.id('lab-Ada').locator('[data-testid=card-exception]').innerText(), 'org.apache.spark.SparkException: Failed to read checkpoint from directory ckpt', 'class and first line');
  const red = await teacher.id('lab-Ada').locator('[data-testid=card-exception]').evaluate(el => getComputedStyle(el).color);
  eq(red, 'rgb(176, 0, 32)', 'the exception is red');
  await teacher.shot('05-crashed');
});

await test('resetting one lab leaves the others; a reload returns to the same lab', async () => {
  const graceNs = await grace.namespace();
  await teacher.id('lab-Grace').locator('[data-testid=card-reset]').click();
  await teacher.click('confirm-yes');
  await grace.until("Grace's fresh run", async g => (await g.row('words-0'))[1] === '0' || (await g.row('words-0')).join(' '), 30000);
  eq(await grace.namespace(), graceNs, 'the same lab');
  ok((await grace.page.locator('.notice').innerText()).includes('reset your lab'), 'Grace is told');
  eq((await ada.row('words-0')).slice(1, 2), ['2'], "Ada's records are still there");
  const adaNs = await ada.namespace();
  const checkpoint = (await ada.row('words-0'))[3];
  eq(checkpoint, '2', "Ada's checkpoint before the reload");
  await ada.page.reload();
  await ada.live();
  eq(await ada.namespace(), adaNs, 'the reload is in the same lab');
  eq(await ada.id('join-form').count(), 0, 'no join form after a reload');
  await ada.until("Ada's records after the reload", async a => (await a.row('words-0'))[1] === '2' || (await a.row('words-0')).join(' '));
  // The same batches: the checkpoint is read back from the bridge, on the page and on the teacher's card.
  await ada.until("Ada's checkpoint after the reload", async a => (await a.row('words-0'))[3] === checkpoint || (await a.row('words-0')).join(' '));
  const tool = (await ada.id('tool-output').count()) ? await ada.text('tool-output') : '';
  ok(tool.includes("read this lab's checkpoint back from the bridge"), `the page says it read the checkpoint back: ${tool}`);
  ok(!tool.includes('exists'), `a resumed lab's topic is not made again: ${tool}`);
  const adaCard = async () => (await teacher.id('lab-Ada').locator('[data-testid=card-words-0]').locator('td').allInnerTexts()).map(s => s.trim());
  await teacher.until("Ada's checkpoint on the teacher's card after the reload", async () => (await adaCard())[0] === checkpoint || await adaCard());
  // The job restarts from that checkpoint and goes on with the next records.
  await ada.click('quick-p0');
  await ada.click('start');
  await ada.until('the restarted job to read and commit up to 4', async a => {
    const r = await a.row('words-0');
    return (r[1] === '4' && r[2] === '4' && r[3] === '4' && r[4] === '4') || r.join(' ');
  }, 40000);
  await teacher.until("Ada's numbers after the restart", async () => JSON.stringify((await adaCard()).slice(0, 3)) === JSON.stringify(['4', '4', '[0, 4)']) || await adaCard());
  if (await teacher.id('mirror').count() === 0) await teacher.id('lab-Ada').click();
  await teacher.until("Ada's mirror after the reload", async t => (await t.text('mirror')).includes("Ada's lab") || await t.text('mirror'));
  await teacher.shot('06-grid-and-mirror-after-reload');
  await teacher.nothingClipped('the grid and mirror after the reload');
  await ada.click('stop');
  // A second tab of the same participant (same browser context: same localStorage) sees the same lab.
  const tab = new Person(await ada.page.context().newPage(), 'Ada-tab');
  await tab.page.goto(`${base}?join=${code}`);
  await tab.live();
  eq(await tab.namespace(), adaNs, 'a second tab is the same lab');
  await teacher.until('Grace reset in the grid', async t => {
    const cells = (await t.id('lab-Grace').locator('[data-testid=card-words-0]').locator('td').allInnerTexts()).map(s => s.trim());
    return cells[2] === '[0, 0)' || cells;
  });
  await teacher.shot('04-after-reset');
});

await browser.close();
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
