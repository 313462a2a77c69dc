// The /assist page in headless Chromium (Debian's /usr/bin/chromium driven
// by playwright-core; no browser is downloaded). A TAP program:
//
//   node tests/browser/assist.mjs <page URL>
//
// Before each stage it prints "# await <stage>" and waits (on the page) for
// what that stage's entries show; the driver (test_assist_browser.cpp)
// writes them when it reads the line. Stages: call, final, article, end.
// The call is CAB1 from +15550001 to +15550002; the texts checked are the
// driver's (see its entry source).
import { chromium } from 'playwright-core';

const url = process.argv[2];
const call = process.env.ASSIST_CALL_ID || 'CAB1';
const expect = {
  partial: process.env.ASSIST_PARTIAL || 'hello i',
  final: process.env.ASSIST_FINAL || 'hello i have a question about my bill',
  article: process.env.ASSIST_ARTICLE_TITLE || 'Understanding your bill',
};
const timeout = Number(process.env.ASSIST_STEP_TIMEOUT_MS || 30000);
let count = 0;

function ok(name) { console.log(`ok ${++count} - ${name}`); }
function bail(name, error) {
  console.log(`not ok ${++count} - ${name}`);
  console.log(`# ${String(error && error.stack || error).split('\n').join('\n# ')}`);
  console.log(`1..${count}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // root in CI containers: Chromium's sandbox needs user namespaces it may not have.
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'],
});
const page = await browser.newPage();
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
const live = page.locator(`[data-testid=calls-in-progress] [data-testid=live-call][data-interaction-id="${call}"]`);
const past = page.locator(`[data-testid=past-calls] [data-testid=past-call][data-interaction-id="${call}"]`);

async function step(name, body) {
  try {
    await body();
    ok(name);
  } catch (error) {
    bail(name, error);
    if (consoleErrors.length) console.log(`# page console: ${consoleErrors.join(' | ')}`);
    await browser.close();
    process.exit(1);
  }
}

await step('the page loads and its event stream is live', async () => {
  await page.goto(url);
  await page.waitForFunction(() => document.querySelector('[data-testid=connection-status]').textContent === 'live', null, { timeout });
});

console.log('# await call');
await step('a new call appears live with its caller', async () => {
  await live.waitFor({ state: 'visible', timeout });
  const title = await live.locator('[data-testid=call-title]').textContent();
  if (!title.includes('+15550001')) throw new Error(`call title is "${title}"`);
});
await step('a partial transcript shows in a lighter style', async () => {
  const partial = live.locator('[data-testid=transcript-partial]');
  await partial.filter({ hasText: expect.partial }).waitFor({ timeout });
  const [partialColor, bodyColor] = await partial.evaluate((node) => [getComputedStyle(node).color, getComputedStyle(document.body).color]);
  if (partialColor === bodyColor) throw new Error(`partial has the body's colour ${bodyColor}`);
});

console.log('# await final');
await step('the transcript grows: the final is appended, the partial replaced', async () => {
  await live.locator('[data-testid=transcript-final]').filter({ hasText: expect.final }).waitFor({ timeout });
  await page.waitForFunction((id) => {
    const node = document.querySelector(`[data-testid=live-call][data-interaction-id="${id}"]`);
    const partials = node.querySelectorAll('[data-testid=transcript-partial]');
    return partials.length === 1 && partials[0].textContent === 'my last';
  }, call, { timeout });
  const finals = await live.locator('[data-testid=transcript-final]').count();
  if (finals !== 1) throw new Error(`${finals} final segments`);
});

console.log('# await article');
await step('an intent and an article (title linked, summary) appear', async () => {
  const link = live.locator('[data-testid=article-link]').filter({ hasText: expect.article });
  await link.waitFor({ timeout });
  const href = await link.getAttribute('href');
  if (!/^https?:\/\//.test(href || '')) throw new Error(`article link is "${href}"`);
  const summary = await live.locator('[data-testid=article-summary]').first().textContent();
  if (!summary) throw new Error('no summary');
  await live.locator('[data-testid=intent]').first().waitFor({ timeout });
});

console.log('# await end');
await step('the call ends and moves to past calls with an audio player', async () => {
  await past.locator('[data-testid=recording-audio]').waitFor({ timeout });
  await live.waitFor({ state: 'detached', timeout });
  const transcript = await past.locator('[data-testid=transcript-final]').count();
  if (transcript < 1) throw new Error('the past call lost its transcript');
});
await step('the recording loads in the audio player', async () => {
  const duration = await past.locator('[data-testid=recording-audio]').evaluate((audio) => new Promise((resolve, reject) => {
    audio.preload = 'auto';
    audio.addEventListener('loadedmetadata', () => resolve(audio.duration));
    audio.addEventListener('error', () => reject(new Error(`audio error ${audio.error && audio.error.code} for ${audio.src}`)));
    audio.load();
  }));
  if (!(duration > 0.5 && duration < 5)) throw new Error(`duration ${duration}`);
  console.log(`# recording duration ${duration} s`);
});

if (consoleErrors.length) console.log(`# page console: ${consoleErrors.join(' | ')}`);
console.log(`1..${count}`);
await browser.close();
