// End-to-end: the first run on the real app. With no account, the Phone tab asks for the SIP
// address and the password only; sipp plays the registrar on loopback (its address is the
// SIP address's domain, as a provider's is). The steps must end registered, the echo test must
// connect from there, and Done must leave the Phone tab as every day (the dialer, the account).
// Started by tests/e2e/run.sh inside a keyring session and a private PulseAudio.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from './webdriver.mjs';

const app = process.env.HOMELINE_E2E_APP;
const out = process.env.HOMELINE_E2E_OUT;
const driver = process.env.HOMELINE_WEBDRIVER_URL;
if (!app || !out || !driver) throw new Error('run me through tests/e2e/run.sh');
const here = dirname(fileURLToPath(import.meta.url));
const x11 = join(here, 'x11.py');

let session;
let sipp;
after(async () => {
  if (session) await session.end().catch(() => {});
  if (sipp && sipp.exitCode === null) sipp.kill();
});

/** A UDP port on 127.0.0.1 that is free now (bound by us, then released). */
async function freeUdpPort() {
  const socket = createSocket('udp4');
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', resolve);
  });
  const { port } = socket.address();
  await new Promise((resolve) => socket.close(resolve));
  return port;
}

/** A screenshot of the window as the X server shows it, once the page has painted
 * (WebKitWebDriver's own screenshot hangs on this page). */
async function windowShot(file) {
  await session.executeAsync('requestAnimationFrame(() => requestAnimationFrame(() => arguments[0](true)))');
  execFileSync(x11, ['shot', 'Homeline', file], { encoding: 'utf8' });
}

test('the SIP address and the password register, and the first run ends on the echo test', async () => {
  const port = await freeUdpPort();
  let sippLog = '';
  sipp = spawn(
    'sipp',
    ['-sf', join(here, 'data', 'registrar.xml'), '-i', '127.0.0.1', '-p', String(port)]
      .concat(['-m', '1', '-nostdin', '-timeout', '120s']),
    { cwd: out, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  sipp.stdout.on('data', (d) => (sippLog += d));
  sipp.stderr.on('data', (d) => (sippLog += d));

  session = await Session.start(driver, app);
  await (await session.find('[data-testid="tab-phone"]')).click();
  await session.find('[data-testid="first-run"]');
  await windowShot(join(out, 'first-run-form.png'));
  await (await session.find('[data-testid="first-run-address"]')).type(`alice@127.0.0.1:${port}`);
  await (await session.find('[data-testid="first-run-password"]')).type('first-run-secret');
  await (await session.find('[data-testid="first-run-connect"]')).click();

  const state = await session.attributeBecomes(
    '[data-testid="first-run-step"]',
    'data-state',
    (s) => s === 'registered' || s === 'failed',
    30000,
  );
  assert.equal(state, 'registered', `sipp:\n${sippLog}`);
  assert.equal(
    await (await session.find('[data-testid="first-run-step"]')).text(),
    `Registered: calls to and from sip:alice@127.0.0.1:${port} work now.`,
  );
  await windowShot(join(out, 'first-run-registered.png'));

  await (await session.find('[data-testid="echo-test-button"]')).click();
  await session.attributeBecomes('[data-testid="call-screen"]', 'data-state', (s) => s === 'active');
  assert.match(await (await session.find('[data-testid="call-remote"]')).text(), /Echo test/);
  await (await session.find('[data-testid="hangup-button"]')).click();
  await session.attributeBecomes('[data-testid="call-ended"]', 'data-outcome', (o) => o === 'answered');
  await (await session.find('[data-testid="call-ended-dismiss"]')).click();

  // Back on the first run's last step; Done leaves the Phone tab of every day.
  await (await session.find('[data-testid="first-run-done"]')).click();
  await session.find('[data-testid="dial-input"]');
  const phone = await (await session.find('[data-testid="panel-phone"]')).text();
  assert.match(phone, /127\.0\.0\.1/);
  assert.doesNotMatch(phone, /No account yet/);
});
