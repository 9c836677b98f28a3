// Drives nwc's admin web page in Debian's chromium, as a person would. Started by
// admin_test.go, which runs the wallet service and plays the apps. Protocol on stdio:
//   script -> test:  "URI <nostr+walletconnect://...>"   a connection created with the form
//   test -> script:  "PAID"                              the app paid through it
//   script -> test:  "USED <before> <after>"             budget bar values (msat) around the payment
//   script -> test:  "NWA <wallet pubkey>"               an app approved from the NWA page
//   script -> test:  "REVOKED"                           revoked through the UI
// Environment: ADMIN_URL, ADMIN_TOKEN, NWA_URI, ARTIFACTS_DIR, CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const base = process.env.ADMIN_URL;
const token = process.env.ADMIN_TOKEN;
const nwaURI = process.env.NWA_URI;
const artifacts = process.env.ARTIFACTS_DIR || 'artifacts';
if (!base || !token || !nwaURI) {
  console.error('ADMIN_URL, ADMIN_TOKEN and NWA_URI are required');
  process.exit(2);
}
fs.mkdirSync(artifacts, { recursive: true });

const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function expectLine(want) {
  const { value, done } = await lines.next();
  if (done || value.trim() !== want) throw new Error(`expected "${want}" from the test, got ${done ? 'EOF' : JSON.stringify(value)}`);
}
function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nwc-e2e-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(20000);
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
// Refused logins and bad input answer 401/400 on purpose; the browser logs those loads.
page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

// usedOf reads the budget bar of the connection named name on the list page.
async function usedOf(name) {
  await page.goto(base + '/');
  const row = page.locator('#connections tbody tr', { hasText: name });
  check(await row.count() === 1, `no single row for ${name} on the list page`);
  return Number(await row.locator('progress.budget').getAttribute('value'));
}

try {
  // Every page needs the token: the first visit lands on the login page.
  await page.goto(base + '/connections/new');
  check(new URL(page.url()).pathname === '/login', `not sent to the login page: ${page.url()}`);
  await page.fill('#token', 'not-the-token');
  await page.click('#login');
  await page.waitForSelector('#error');
  check((await page.textContent('#error')).includes('Wrong token'), 'a wrong token was not refused');
  await shot('01-login-refused');
  await page.fill('#token', token);
  await page.click('#login');
  await page.waitForURL(base + '/connections/new');

  // Create a connection with a budget through the form.
  await page.fill('#name', 'Browser app');
  check(await page.isChecked('input[name=methods][value=pay_invoice]'), 'pay_invoice not checked by default');
  await page.fill('#budget_sat', '10000');
  await page.selectOption('#budget_renewal', 'monthly');
  await shot('02-new-connection-form');
  await page.click('#create');
  await page.waitForSelector('#uri');
  const uri = (await page.inputValue('#uri')).trim();
  check(uri.startsWith('nostr+walletconnect://'), `no URI on the page: ${uri}`);
  const qr = await page.getAttribute('#qr', 'src');
  check(qr.startsWith('data:image/png;base64,'), 'no QR image');
  check(await page.evaluate(() => document.querySelector('#qr').naturalWidth) > 100, 'the QR image did not load');
  await page.click('#copy');
  await page.waitForFunction(() => document.querySelector('#copy').textContent === 'Copied');
  check(await page.evaluate(() => navigator.clipboard.readText()) === uri, 'the copy button did not copy the URI');
  await shot('03-connection-created');

  const before = await usedOf('Browser app');
  await shot('04-list-before-payment');
  console.log('URI ' + uri);
  await expectLine('PAID');
  const after = await usedOf('Browser app');
  await shot('05-list-after-payment');
  console.log(`USED ${before} ${after}`);
  check(after > before, `the budget bar did not move: ${before} -> ${after}`);

  // The connection's page lists the payment.
  await page.locator('#connections tbody tr', { hasText: 'Browser app' }).locator('a').first().click();
  await page.waitForSelector('#requests');
  check((await page.textContent('#requests')).includes('pay_invoice'), 'the payment is not in the request log');
  await shot('06-connection-requests');

  // An app asks to connect (NWA): paste, review, approve.
  await page.click('text=Connect an app (NWA)');
  await page.fill('#nwa-uri', 'nostr+walletauth://not-a-key');
  await page.click('#review');
  await page.waitForSelector('#error');
  check((await page.textContent('#error')).includes('not a walletauth URI'), 'a bad NWA URI was not explained');
  await shot('07-nwa-bad-uri');
  await page.fill('#nwa-uri', nwaURI);
  await page.click('#review');
  await page.waitForSelector('#nwa-review');
  check((await page.textContent('#app-name')).includes('Browser NWA app'), 'the review page lacks the app name');
  check((await page.textContent('#app-methods')).includes('get_balance'), 'the review page lacks the methods');
  await shot('08-nwa-review');
  await page.click('#approve');
  await page.waitForSelector('#wallet-pubkey');
  await shot('09-nwa-approved');
  console.log('NWA ' + (await page.textContent('#wallet-pubkey')).trim());

  // Revoke the first connection, with confirmation.
  await page.goto(base + '/');
  await page.locator('#connections tbody tr', { hasText: 'Browser app' }).locator('a').first().click();
  await page.click('#revoke');
  await page.waitForSelector('#confirm-revoke');
  await shot('10-revoke-confirmation');
  await page.click('#confirm-revoke');
  await page.waitForSelector('#status');
  check((await page.textContent('#status')).trim() === 'revoked', 'the connection does not show as revoked');
  check(await page.locator('#revoke').count() === 0, 'a revoked connection still offers revocation');
  await shot('11-revoked');
  check(errors.length === 0, 'errors in the page: ' + errors.join('; '));
  console.log('REVOKED');
} catch (e) {
  await shot('failure').catch(() => {});
  console.error(e.stack || String(e));
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(1);
}
await context.close();
fs.rmSync(userDataDir, { recursive: true, force: true });
process.exit(0);
