// End-to-end: the real app on a desktop with no Secret Service. It must say so plainly, keep the
// password for the session only, and never write it to a file. Started by tests/e2e/run.sh with
// a D-Bus address that leads nowhere.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from './webdriver.mjs';

const app = process.env.HOMELINE_E2E_APP;
const out = process.env.HOMELINE_E2E_OUT;
const home = process.env.HOMELINE_E2E_HOME;
const driver = process.env.HOMELINE_WEBDRIVER_URL;
if (!app || !out || !home || !driver) throw new Error('run me through tests/e2e/run.sh');

const PASSWORD = `NoKeyring-Pw-${process.pid}-${Date.now()}`;
let session;
after(async () => {
  if (session) await session.end().catch(() => {});
});

function filesUnder(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory()) found.push(...filesUnder(p));
    else if (st?.isFile()) found.push(p);
  }
  return found;
}

test('without a keyring the app says so and keeps the password for the session only', async () => {
  session = await Session.start(driver, app);
  const warning = await session.waitText('[data-testid="keyring-warning"]', (t) => t.length > 0);
  assert.match(warning, /keyring/i);
  assert.match(warning, /session only/i);

  await (await session.find('[data-testid="tab-settings"]')).click();
  await (await session.find('[data-testid="add-account"]')).click();
  await (await session.find('[data-testid="account-display-name"]')).type('Bob Example');
  await (await session.find('[data-testid="account-sip-address"]')).type('sip:bob@pbx.example.com');
  await (await session.find('[data-testid="account-password"]')).type(PASSWORD);
  await (await session.find('[data-testid="account-save"]')).click();
  await session.waitText('[data-testid="account-row"]', (t) => t.includes('Bob Example'));
  const storage = await session.waitText('[data-testid="account-password-storage"]', (t) => t.length > 0);
  assert.match(storage, /session only/i);
  await session.screenshot(join(out, 'no-keyring.png'));
  await session.end();
  session = undefined;

  const leaks = filesUnder(home).filter((f) => readFileSync(f).includes(PASSWORD));
  assert.deepEqual(leaks, [], 'the password was written in plain text');
  const toml = filesUnder(join(home, '.config')).filter((f) => f.endsWith('.toml'));
  assert.equal(toml.length, 1);
  assert.match(readFileSync(toml[0], 'utf8'), /sip:bob@pbx\.example\.com/);
});
