// End-to-end: Settings → Headset in the real app — the state in plain words (this machine has no
// headset), the master switch and the per-function switches, kept across a restart. Started by
// tests/e2e/run.sh inside a keyring session.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from './webdriver.mjs';

const app = process.env.HOMELINE_E2E_APP;
const out = process.env.HOMELINE_E2E_OUT;
const home = process.env.HOMELINE_E2E_HOME;
const driver = process.env.HOMELINE_WEBDRIVER_URL;
if (!app || !out || !home || !driver) throw new Error('run me through tests/e2e/run.sh');

let session;
after(async () => {
  if (session) await session.end().catch(() => {});
});

async function until(what, pred, timeout = 10000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The config file's text, or '' while the app has not written one yet (a fresh home has none
// until the first change is saved; the callers wait for the text they expect).
/** Clicks a switch once it is enabled (each is disabled while the previous change is saved). */
async function toggle(id) {
  const sw = await session.find(`[data-testid="${id}"]`);
  await until(`${id} is ready`, async () => (await sw.property('disabled')) === false);
  await sw.click();
}

function configText() {
  const dir = join(home, '.config');
  const found = readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('homeline.toml'));
  assert.ok(found.length <= 1, `one config file expected, found ${JSON.stringify(found)}`);
  return found.length ? readFileSync(join(dir, String(found[0])), 'utf8') : '';
}

async function openSettings() {
  await (await session.find('[data-testid="tab-settings"]')).click();
  await session.find('[data-testid="panel-settings"]');
}

const checked = async (id) => (await session.find(`[data-testid="${id}"]`)).property('checked');

test('Settings → Headset says there is no headset and shows every switch, on by default', async () => {
  session = await Session.start(driver, app);
  await openSettings();
  const state = await session.waitText('[data-testid="headset-state"]', (t) => t.length > 0);
  assert.match(state, /No headset with call buttons found|Headset integration is off|cannot be used/);
  for (const id of ['headset-enabled', 'headset-call_buttons', 'headset-mute_sync', 'headset-leds', 'headset-ring_on_headset']) {
    assert.equal(await checked(id), true, `${id} on by default`);
  }
});

test('switching mute sync off, then integration off, is saved and kept across a restart', async () => {
  await toggle('headset-mute_sync');
  await until('mute sync saved', async () => /mute_sync = false/.test(configText()));
  await toggle('headset-enabled');
  await until('integration off saved', async () => /enabled = false/.test(configText()));
  // Off means no function acts: their switches are greyed out.
  await until('functions disabled', async () => (await (await session.find('[data-testid="headset-leds"]')).property('disabled')) === true);
  await session.screenshot(join(out, '1-headset-off.png'));

  await session.end();
  session = await Session.start(driver, app);
  await openSettings();
  await session.waitText('[data-testid="headset-state"]', (t) => t.length > 0);
  assert.equal(await checked('headset-enabled'), false, 'integration still off after the restart');
  assert.equal(await checked('headset-mute_sync'), false, 'mute sync still off after the restart');
  assert.equal(await checked('headset-leds'), true, 'the others untouched');
  assert.match(await session.waitText('[data-testid="headset-state"]', (t) => t.length > 0), /off/i);

  // And back on: the file says so.
  await toggle('headset-enabled');
  await until('integration on saved', async () => !/enabled = false/.test(configText()));
});
