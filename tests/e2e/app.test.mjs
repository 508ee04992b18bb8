// End-to-end: the real Homeline app in a real window (Xvfb), driven through tauri-driver and
// WebKitWebDriver, with a real Secret Service (gnome-keyring). Started by tests/e2e/run.sh.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from './webdriver.mjs';

const app = process.env.HOMELINE_E2E_APP;
const out = process.env.HOMELINE_E2E_OUT;
const home = process.env.HOMELINE_E2E_HOME;
const driver = process.env.HOMELINE_WEBDRIVER_URL;
if (!app || !out || !home || !driver) throw new Error('run me through tests/e2e/run.sh');

// A password no other file on this machine contains, so finding it anywhere is a leak.
const PASSWORD = `E2e-Pw-${process.pid}-${Date.now()}`;
const ACCOUNT = { name: 'Alice Example', address: 'sip:alice@pbx.example.com', registrar: 'sip:pbx.example.com:5061' };

let session;
let accountId;
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

function configFile() {
  const tomls = filesUnder(join(home, '.config')).filter((f) => f.endsWith('.toml'));
  assert.equal(tomls.length, 1, `one config file expected, found ${JSON.stringify(tomls)}`);
  return tomls[0];
}

/** What the Secret Service holds for Homeline's account `id`: its secret, or null. */
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

/** How many Secret Service items Homeline holds for account `id`. */
function keyringCount(id) {
  let out = '';
  try {
    out = execFileSync('secret-tool', ['search', '--all', 'service', 'Homeline', 'username', id], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'], // attributes go to stderr; the item paths to stdout
    });
  } catch (e) {
    out = `${e.stdout ?? ''}`;
  }
  return out.split('\n').filter((l) => l.startsWith('[')).length;
}

/** Whether a process runs the app's binary (by /proc/PID/exe, not by command line: the test
 * scripts carry the app's path in their own arguments). */
function appRunning() {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readlinkSync(`/proc/${pid}/exe`) === app) return true;
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return false;
}

async function waitAppGone() {
  for (let i = 0; i < 100; i++) {
    if (!appRunning()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the app did not exit after its session ended');
}

async function openTab(name) {
  await (await session.find(`[data-testid="tab-${name}"]`)).click();
  return session.find(`[data-testid="panel-${name}"]`);
}

test('the window opens with its title and the four tabs, each with an honest empty state', async () => {
  session = await Session.start(driver, app);
  assert.equal(await session.title(), 'Homeline');
  const phone = await openTab('phone');
  assert.match(await phone.text(), /No account yet/);
  const contacts = await openTab('contacts');
  assert.match(await contacts.text(), /No contacts yet/);
  const diagnostics = await openTab('diagnostics');
  assert.match(await diagnostics.text(), /Test my connection/);
  assert.match(await diagnostics.text(), /No test has run yet/);
  await openTab('settings');
  await session.find('[data-testid="add-account"]');
  // A running app must not show the demo badge of the mock backend.
  assert.equal((await session.findAll('[data-testid="demo-badge"]')).length, 0);
  // The real keyring is there, so no warning about it.
  assert.equal((await session.findAll('[data-testid="keyring-warning"]')).length, 0);
  await session.screenshot(join(out, '1-settings-empty.png'));
});

test('an account added in Settings is saved, with its password in the keyring only', async () => {
  await openTab('settings');
  await (await session.find('[data-testid="add-account"]')).click();
  await (await session.find('[data-testid="account-display-name"]')).type(ACCOUNT.name);
  await (await session.find('[data-testid="account-sip-address"]')).type(ACCOUNT.address);
  await (await session.find('[data-testid="account-password"]')).type(PASSWORD);
  await (await session.find('[data-testid="account-registrar"]')).type(ACCOUNT.registrar);
  await (await session.find('[data-testid="account-transport"]')).click();
  await (await session.find('[data-testid="account-transport"] option[value="tls"]')).click();
  await (await session.find('[data-testid="account-save"]')).click();

  const row = await session.waitText('[data-testid="account-row"]', (t) => t.includes(ACCOUNT.name));
  assert.match(row, /sip:alice@pbx\.example\.com/);
  const storage = await session.waitText('[data-testid="account-password-storage"]', (t) => t.length > 0);
  assert.match(storage, /keyring/i);
  await session.screenshot(join(out, '2-settings-account.png'));

  const phone = await openTab('phone');
  assert.doesNotMatch(await phone.text(), /No account yet/);
});

test('after a restart the account is still there and its password only in the keyring', async () => {
  await session.end();
  session = undefined;
  await waitAppGone();

  const toml = readFileSync(configFile(), 'utf8');
  assert.match(toml, /sip:alice@pbx\.example\.com/);
  assert.match(toml, /transport = "tls"/);
  const id = toml.match(/id = "([^"]+)"/)?.[1];
  assert.ok(id, `no account id in the config file:\n${toml}`);

  assert.equal(keyringCount(id), 1, `one keyring item for ${id} expected`);
  assert.equal(keyringSecret(id), PASSWORD);
  accountId = id;

  // Not in the config, not in the logs, nowhere in the app's home but the encrypted keyring.
  const leaks = filesUnder(home)
    .filter((f) => !f.includes(join('.local', 'share', 'keyrings')))
    .filter((f) => readFileSync(f).includes(PASSWORD));
  assert.deepEqual(leaks, [], 'the password was written in plain text');
  const logs = filesUnder(join(home, '.local', 'share')).filter((f) => /log/i.test(f));
  assert.ok(logs.length > 0, 'the app wrote no log file');

  session = await Session.start(driver, app);
  await openTab('settings');
  const row = await session.waitText('[data-testid="account-row"]', (t) => t.includes(ACCOUNT.name));
  assert.match(row, /sip:alice@pbx\.example\.com/);
  await session.screenshot(join(out, '3-after-restart.png'));
});

test('removing the account removes its password from the keyring', async () => {
  await openTab('settings');
  await (await session.find('[data-testid="account-remove"]')).click();
  await (await session.find('[data-testid="account-remove-confirm"]')).click();
  await session.gone('[data-testid="account-row"]');
  const phone = await openTab('phone');
  assert.match(await phone.text(), /No account yet/);
  assert.equal(keyringSecret(accountId), null);
  assert.equal(keyringCount(accountId), 0);
});
