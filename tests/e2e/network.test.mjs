// End-to-end: Settings → Network in the real app with a real Secret Service (gnome-keyring):
// a relay saved with its password (in the keyring as turn:USER@URI, nowhere else), the relay
// test against a relay that does not answer, a bad address refused in plain words, all kept
// across a restart. Started by tests/e2e/run.sh inside a keyring session.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from './webdriver.mjs';

const app = process.env.HOMELINE_E2E_APP;
const out = process.env.HOMELINE_E2E_OUT;
const home = process.env.HOMELINE_E2E_HOME;
const driver = process.env.HOMELINE_WEBDRIVER_URL;
if (!app || !out || !home || !driver) throw new Error('run me through tests/e2e/run.sh');

// A password no other file on this machine contains, so finding it anywhere is a leak.
const PASSWORD = `E2e-Turn-${process.pid}-${Date.now()}`;
// Nothing listens on the discard port: the relay test must say it does not work, quickly.
const RELAY = 'turn:127.0.0.1:9?transport=tcp';
const USER = 'e2e';
const KEYRING_ID = `turn:${USER}@${RELAY}`;

let session;
after(async () => {
  if (session) await session.end().catch(() => {});
});

function filesUnder(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) found.push(...filesUnder(p));
    else if (st.isFile()) found.push(p);
  }
  return found;
}

function configText() {
  const tomls = filesUnder(join(home, '.config')).filter((f) => f.endsWith('homeline.toml'));
  assert.ok(tomls.length <= 1, `one config file expected, found ${JSON.stringify(tomls)}`);
  return tomls.length ? readFileSync(tomls[0], 'utf8') : '';
}

/** What the Secret Service holds for Homeline under `id`, or null. */
function keyringSecret(id) {
  try {
    return execFileSync('secret-tool', ['lookup', 'service', 'Homeline', 'username', id], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    if (e.status === 1 && !`${e.stderr}`.trim()) return null; // no such item
    throw e;
  }
}

async function openSettings() {
  await (await session.find('[data-testid="tab-settings"]')).click();
  await session.find('[data-testid="panel-settings"]');
  return session.find('[data-testid="network-form"]');
}

test('a fresh app has no relay and cannot test one', async () => {
  session = await Session.start(driver, app);
  await openSettings();
  await session.find('[data-testid="network-turn-none"]');
  assert.equal(await (await session.find('[data-testid="network-test"]')).property('disabled'), true);
  assert.equal(await (await session.find('[data-testid="network-ice"]')).property('checked'), true);
  assert.equal(await (await session.find('[data-testid="network-force-relay"]')).property('checked'), false);
});

test('a relay saved with its password: the file has the address, the keyring the password', async () => {
  await (await session.find('[data-testid="network-stun"]')).type('stun:127.0.0.1:3478');
  await (await session.find('[data-testid="network-turn-add"]')).click();
  await (await session.find('[data-testid="network-turn-uri"]')).type(RELAY);
  await (await session.find('[data-testid="network-turn-username"]')).type(USER);
  await (await session.find('[data-testid="network-turn-password"]')).type(PASSWORD);
  await (await session.find('[data-testid="network-force-relay"]')).click();
  await (await session.find('[data-testid="network-save"]')).click();
  await session.waitText('[data-testid="network-status"]', (t) => /Saved/.test(t));

  const toml = configText();
  assert.ok(toml.includes(RELAY), toml);
  assert.match(toml, /force_relay = true/);
  assert.match(toml, /stun:127\.0\.0\.1:3478/);
  assert.ok(!toml.includes(PASSWORD) && !/password/.test(toml), `a password in the file:\n${toml}`);
  assert.equal(keyringSecret(KEYRING_ID), PASSWORD);
  const state = await session.waitText('[data-testid="network-turn-password-state"]', (t) => t.length > 0);
  assert.match(state, /stored in the system keyring/);
  assert.equal(await (await session.find('[data-testid="network-turn-password"]')).property('value'), '');
});

test('Test relays says, per transport, that the relay does not answer, and that none works', async () => {
  await (await session.find('[data-testid="network-test"]')).click();
  await session.waitText('[data-testid="network-test-summary"]', (t) => /No relay works/.test(t), { timeout: 15000 });
  const rows = await session.findAll('[data-testid="network-test-row"]');
  assert.equal(rows.length, 2, 'TCP as configured, and its UDP twin');
  const texts = await Promise.all(rows.map((r) => r.text()));
  assert.match(texts[0], /127\.0\.0\.1\s*TCP\s*Does not work/);
  assert.match(texts[1], /127\.0\.0\.1\s*UDP\s*Does not work/);
  assert.equal((await session.findAll('[data-testid="network-test-used-tag"]')).length, 0);
  await session.screenshot(join(out, '1-relay-test.png'));
});

test('a bad relay address is refused in plain words naming it, and nothing is saved', async () => {
  const before = configText();
  const uri = await session.find('[data-testid="network-turn-uri"]');
  await uri.clear();
  await uri.type('turns:127.0.0.1?transport=udp');
  await (await session.find('[data-testid="network-save"]')).click();
  const note = await session.waitText('[data-testid="network-save-error"]', (t) => t.length > 0);
  assert.match(note, /turns:127\.0\.0\.1\?transport=udp/);
  assert.equal(configText(), before);
  await session.screenshot(join(out, '2-bad-uri.png'));
});

test('after a restart the settings are back, the password still only in the keyring and in no log', async () => {
  await session.end();
  session = await Session.start(driver, app);
  await openSettings();
  assert.equal(await (await session.find('[data-testid="network-turn-uri"]')).property('value'), RELAY);
  assert.equal(await (await session.find('[data-testid="network-turn-username"]')).property('value'), USER);
  assert.equal(await (await session.find('[data-testid="network-force-relay"]')).property('checked'), true);
  assert.match(await session.waitText('[data-testid="network-turn-password-state"]', (t) => t.length > 0), /system keyring/);

  const leaks = filesUnder(home)
    .filter((f) => !f.includes(join('.local', 'share', 'keyrings')))
    .filter((f) => readFileSync(f).includes(PASSWORD));
  assert.deepEqual(leaks, [], 'the relay password was written in plain text');

  // Taking the relay off the list takes its password out of the keyring.
  await (await session.find('[data-testid="network-turn-remove"]')).click();
  await (await session.find('[data-testid="network-save"]')).click();
  await session.waitText('[data-testid="network-status"]', (t) => /Saved/.test(t));
  assert.equal(keyringSecret(KEYRING_ID), null);
  assert.ok(!configText().includes(RELAY));
});
