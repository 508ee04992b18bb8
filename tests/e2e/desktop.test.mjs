// End-to-end: Homeline as a desktop citizen — the autostart switch, a second start handing its
// sip: link to the running window (one instance), closing the window into the tray and quitting
// on close when asked. The real app under Xvfb through tauri-driver, in a keyring session (its
// private D-Bus is where the single-instance lock lives). Started by tests/e2e/run.sh.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from './webdriver.mjs';

const app = process.env.HOMELINE_E2E_APP;
const out = process.env.HOMELINE_E2E_OUT;
const home = process.env.HOMELINE_E2E_HOME;
const driver = process.env.HOMELINE_WEBDRIVER_URL;
if (!app || !out || !home || !driver) throw new Error('run me through tests/e2e/run.sh');
const here = fileURLToPath(new URL('.', import.meta.url));
const x11 = join(here, 'x11.py');
const AXE = readFileSync(join(here, '..', '..', 'ui', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

let session;
after(async () => {
  if (session) await session.end().catch(() => {});
});

function appPids() {
  const pids = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readlinkSync(`/proc/${pid}/exe`) === app) pids.push(Number(pid));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

async function until(what, pred, timeout = 10000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function windowState() {
  return execFileSync(x11, ['state', 'Homeline'], { encoding: 'utf8' }).trim();
}

/** Starts the app a second time with `args`; resolves to its exit code (it must exit soon). */
function secondStart(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(app, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the second start did not exit within 15 s; stderr: ${stderr.slice(-500)}`));
    }, 15000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

function configFile() {
  const dir = join(home, '.config');
  const found = readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('homeline.toml'));
  assert.equal(found.length, 1, `one config file expected, found ${JSON.stringify(found)}`);
  return join(dir, String(found[0]));
}

async function openTab(name) {
  await (await session.find(`[data-testid="tab-${name}"]`)).click();
  return session.find(`[data-testid="panel-${name}"]`);
}

test('no tab has a serious or critical accessibility violation (axe-core in the real webview)', async () => {
  session = await Session.start(driver, app);
  const found = [];
  for (const tab of ['phone', 'contacts', 'diagnostics', 'settings']) {
    await openTab(tab);
    const result = await session.executeAsync(
      `${AXE};
       const done = arguments[arguments.length - 1];
       axe.run(document, { resultTypes: ['violations'] })
         .then((r) => done(JSON.stringify(r.violations.map((v) => ({
           id: v.id, impact: v.impact, help: v.help,
           nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))))
         .catch((e) => done(JSON.stringify({ error: String(e) })));`,
    );
    const parsed = JSON.parse(result);
    assert.ok(Array.isArray(parsed), `axe failed on ${tab}: ${result}`);
    for (const v of parsed) if (v.impact === 'serious' || v.impact === 'critical') found.push({ tab, ...v });
  }
  assert.deepEqual(found, [], 'serious accessibility violations');
});

test('the autostart switch writes and removes the autostart entry', async () => {
  await openTab('settings');
  const entryDir = join(home, '.config', 'autostart');
  const entries = () => (existsSync(entryDir) ? readdirSync(entryDir).filter((f) => f.endsWith('.desktop')) : []);
  assert.deepEqual(entries(), [], 'off by default');
  const sw = await session.find('[data-testid="autostart-switch"]');
  await until('the switch is ready', async () => (await sw.property('disabled')) === false);
  await sw.click();
  await session.waitText('[data-testid="general-saved"]', (t) => t.includes('start when you log in'));
  assert.equal(entries().length, 1, `one autostart entry expected, found ${JSON.stringify(entries())}`);
  const entry = readFileSync(join(entryDir, entries()[0]), 'utf8');
  assert.match(entry, /\[Desktop Entry\]/);
  assert.ok(entry.includes(`Exec=${app}`) || entry.includes(`Exec="${app}"`), `Exec names the app:\n${entry}`);
  await session.screenshot(join(out, '1-settings-general.png'));
  await sw.click();
  await session.waitText('[data-testid="general-saved"]', (t) => t.includes('not start by itself'));
  assert.deepEqual(entries(), [], 'switching it off removes the entry');
});

test('a second start with sip:echo focuses the running window and fills its dialer', async () => {
  assert.equal(appPids().length, 1);
  const code = await secondStart(['sip:echo']);
  assert.equal(code, 0, 'the second start hands over and exits cleanly');
  const field = await session.find('[data-testid="dial-input"]');
  await until('the dialer shows the link', async () => (await field.property('value')) === 'echo');
  const tab = await session.find('[data-testid="tab-phone"]');
  assert.equal(await tab.attribute('aria-selected'), 'true');
  assert.equal(appPids().length, 1, 'still one Homeline');
  // Nothing dialled by itself: no call screen.
  assert.equal((await session.findAll('[data-testid="call-screen"]')).length, 0);
  await session.screenshot(join(out, '2-link-in-dialer.png'));
});

test('closing the window keeps Homeline running in the tray; starting it again shows the window', async () => {
  assert.equal(windowState(), 'visible');
  assert.equal(execFileSync(x11, ['close', 'Homeline'], { encoding: 'utf8' }).trim(), '1');
  await until('the window hides', () => windowState() === 'hidden');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(appPids().length, 1, 'Homeline still runs');
  // The notice is remembered in the config file, written by the app on its own time.
  await until('the tray notice is remembered in the config file', () =>
    /tray_notice_shown = true/.test(readFileSync(configFile(), 'utf8')));
  assert.equal(await secondStart([]), 0);
  await until('the window shows again', () => windowState() === 'visible');
  // The page lived on while hidden: WebDriver still reaches it.
  await session.find('[data-testid="dial-input"]');
});

test('with "Quit when the window closes" on, closing the window quits', async () => {
  await openTab('settings');
  const sw = await session.find('[data-testid="quit-on-close-switch"]');
  // Disabled until the tab has read the setting: a click before that would be lost.
  await until('the switch is ready', async () => (await sw.property('disabled')) === false);
  await sw.click();
  await session.waitText('[data-testid="general-saved"]', (t) => t.includes('quits Homeline'));
  assert.equal(execFileSync(x11, ['close', 'Homeline'], { encoding: 'utf8' }).trim(), '1');
  await until('Homeline exits', () => appPids().length === 0, 15000);
  session = undefined;
});
