// End-to-end: the Contacts tab of the real app — a contact in Russian and Chinese is added,
// written to contacts.json in the data folder, still there after a restart, and Call fills the
// dialer. Started by tests/e2e/run.sh.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from './webdriver.mjs';

const app = process.env.HOMELINE_E2E_APP;
const out = process.env.HOMELINE_E2E_OUT;
const home = process.env.HOMELINE_E2E_HOME;
const driver = process.env.HOMELINE_WEBDRIVER_URL;
if (!app || !out || !home || !driver) throw new Error('run me through tests/e2e/run.sh');

const CONTACT = { name: 'Иван Петров', address: 'sip:ivan@example.ru', note: '销售部 · Бухгалтерия' };
const book = join(home, '.local', 'share', 'homeline', 'contacts.json');

let session;
after(async () => {
  if (session) await session.end().catch(() => {});
});

async function openTab(name) {
  await (await session.find(`[data-testid="tab-${name}"]`)).click();
  return session.find(`[data-testid="panel-${name}"]`);
}

test('a contact added in the Contacts tab is on disk, survives a restart, and Call fills the dialer', async () => {
  session = await Session.start(driver, app);
  const panel = await openTab('contacts');
  assert.match(await panel.text(), /No contacts yet/);
  await (await session.find('[data-testid="contact-add"]')).click();
  await (await session.find('[data-testid="contact-name"]')).type(CONTACT.name);
  await (await session.find('[data-testid="contact-address"]')).type(CONTACT.address);
  await (await session.find('[data-testid="contact-note"]')).type(CONTACT.note);
  await (await session.find('[data-testid="contact-save"]')).click();
  const row = await session.waitText('[data-testid="contact"]', (t) => t.includes(CONTACT.name));
  assert.match(row, /sip:ivan@example\.ru/);
  assert.ok(row.includes(CONTACT.note), row);

  await session.end();
  session = undefined;
  const saved = JSON.parse(readFileSync(book, 'utf8'));
  assert.equal(saved.version, 1);
  assert.deepEqual(
    saved.contacts.map(({ name, address, note }) => ({ name, address, note })),
    [CONTACT],
    'UTF-8 byte-exact on disk',
  );
  assert.equal(statSync(book).mode & 0o777, 0o600, 'readable by its owner only');

  session = await Session.start(driver, app);
  await openTab('contacts');
  await session.waitText('[data-testid="contact"]', (t) => t.includes(CONTACT.name));
  await (await session.find('[data-testid="contact-call"]')).click();
  const dial = await session.find('[data-testid="dial-input"]');
  for (let i = 0; i < 50 && (await dial.property('value')) !== CONTACT.address; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await dial.property('value'), CONTACT.address);
});
