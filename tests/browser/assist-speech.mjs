// The /assist page in headless Chromium while a real call is transcribed: the
// driver (test_assist_browser.cpp --speech) plays espeak-ng speech as an
// Exotel call into callstreamd, whose own ASR worker (pocketsphinx) writes
// the transcripts and assist streams. A TAP program:
//
//   node tests/browser/assist-speech.mjs <page URL> <call id>
//
// It prints "# await call" once the page is live; the driver then starts the
// call. What the recogniser hears is not fixed, so the checks are: the call
// shows up, a final transcript line with words grows in it, an article of the
// knowledge base is surfaced, and the ended call has a playable recording.
import { chromium } from 'playwright-core';

const [url, call] = process.argv.slice(2);
const timeout = Number(process.env.ASSIST_STEP_TIMEOUT_MS || 90000);
let count = 0;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // root in CI containers: Chromium's sandbox needs user namespaces it may not have.
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
const page = await browser.newPage();
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
// Live or already past: a short call may end before a step looks.
const anyCall = page.locator(`[data-testid=live-call][data-interaction-id="${call}"], [data-testid=past-call][data-interaction-id="${call}"]`);
const past = page.locator(`[data-testid=past-calls] [data-testid=past-call][data-interaction-id="${call}"]`);

async function step(name, body) {
  try {
    const note = await body();
    console.log(`ok ${++count} - ${name}`);
    if (note) console.log(`# ${note}`);
  } catch (error) {
    console.log(`not ok ${++count} - ${name}`);
    console.log(`# ${String(error && error.stack || error).split('\n').join('\n# ')}`);
    if (consoleErrors.length) console.log(`# page console: ${consoleErrors.join(' | ')}`);
    console.log(`1..${count}`);
    await browser.close();
    process.exit(1);
  }
}

await step('the page loads and its event stream is live', async () => {
  await page.goto(url);
  await page.waitForFunction(() => document.querySelector('[data-testid=connection-status]').textContent === 'live', null, { timeout });
});

console.log('# await call');
await step('the spoken call appears on the page', async () => {
  await anyCall.first().waitFor({ state: 'attached', timeout });
});
await step('its transcript grows with a final line of recognised words', async () => {
  const final = anyCall.first().locator('[data-testid=transcript-final]').filter({ hasText: /[a-z]{3,}/ });
  await final.first().waitFor({ timeout });
  return `heard: ${await final.first().textContent()}`;
});
await step('a knowledge-base article is surfaced for it', async () => {
  const link = anyCall.first().locator('[data-testid=article-link]');
  await link.first().waitFor({ timeout });
  const href = await link.first().getAttribute('href');
  if (!/^https?:\/\//.test(href || '')) throw new Error(`article link is "${href}"`);
  return `article: ${await link.first().textContent()}`;
});
await step('the ended call is past, with a playable recording of the call', async () => {
  const audio = past.locator('[data-testid=recording-audio]');
  await audio.waitFor({ timeout });
  const duration = await audio.evaluate((node) => new Promise((resolve, reject) => {
    node.preload = 'auto';
    node.addEventListener('loadedmetadata', () => resolve(node.duration));
    node.addEventListener('error', () => reject(new Error(`audio error ${node.error && node.error.code} for ${node.src}`)));
    node.load();
  }));
  if (!(duration > 1)) throw new Error(`duration ${duration}`);
  return `recording duration ${duration} s`;
});

if (consoleErrors.length) console.log(`# page console: ${consoleErrors.join(' | ')}`);
console.log(`1..${count}`);
await browser.close();
