// End-to-end: the real app started on a broken configuration file. It must say which line is
// wrong, start with defaults, and keep the broken file aside instead of overwriting it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from './webdriver.mjs';

const app = process.env.HOMELINE_E2E_APP;
const out = process.env.HOMELINE_E2E_OUT;
const home = process.env.HOMELINE_E2E_HOME;
const driver = process.env.HOMELINE_WEBDRIVER_URL;
if (!app || !out || !home || !driver) throw new Error('run me through tests/e2e/run.sh');

// Line 4 has an unterminated string: a typical hand-editing mistake.
const BROKEN = 'version = 1\n\n[[accounts]]\ndisplay_name = "Carol\nsip_address = "sip:carol@example.com"\n';

let session;
after(async () => {
  if (session) await session.end().catch(() => {});
});

test('a broken config file is reported with its line and kept aside, never overwritten', async () => {
  const dir = join(home, '.config', 'homeline');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'homeline.toml'), BROKEN);

  session = await Session.start(driver, app);
  const banner = await session.waitText('[data-testid="config-problem"]', (t) => t.length > 0);
  assert.match(banner, /line 4/);

  // The app started with defaults: no account, and it says so.
  await (await session.find('[data-testid="tab-phone"]')).click();
  assert.match(await (await session.find('[data-testid="panel-phone"]')).text(), /No account yet/);

  // Saving new settings must not destroy what the user wrote: the broken file is kept aside.
  await (await session.find('[data-testid="tab-settings"]')).click();
  await (await session.find('[data-testid="add-account"]')).click();
  await (await session.find('[data-testid="account-display-name"]')).type('Dave Example');
  await (await session.find('[data-testid="account-sip-address"]')).type('sip:dave@example.com');
  await (await session.find('[data-testid="account-save"]')).click();
  await session.waitText('[data-testid="account-row"]', (t) => t.includes('Dave Example'));
  await session.screenshot(join(out, 'broken-config.png'));

  const kept = readdirSync(dir).filter((f) => f.startsWith('homeline.toml.broken-'));
  assert.equal(kept.length, 1, `one broken file kept aside expected, found ${readdirSync(dir)}`);
  assert.equal(readFileSync(join(dir, kept[0]), 'utf8'), BROKEN);
  assert.match(readFileSync(join(dir, 'homeline.toml'), 'utf8'), /sip:dave@example\.com/);
});
