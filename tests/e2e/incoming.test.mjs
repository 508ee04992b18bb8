// End-to-end: the real app takes an incoming call. sipp plays a registrar on loopback that
// accepts the app's REGISTER and then calls the registered account back (PCMU offer). The call
// must ring on screen with the caller's name, Answer must connect it (with audio statistics),
// the caller's BYE must end it, and the history must keep it as an answered incoming call.
// Started by tests/e2e/run.sh inside a keyring session and a private PulseAudio.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from './webdriver.mjs';

const app = process.env.HOMELINE_E2E_APP;
const out = process.env.HOMELINE_E2E_OUT;
const driver = process.env.HOMELINE_WEBDRIVER_URL;
if (!app || !out || !driver) throw new Error('run me through tests/e2e/run.sh');
const here = dirname(fileURLToPath(import.meta.url));

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

test('an incoming call rings, is answered, ends when the caller hangs up, and is in the history', async () => {
  const port = await freeUdpPort();
  let sippLog = '';
  sipp = spawn(
    'sipp',
    ['-sf', join(here, 'data', 'registrar_calls_back.xml'), '-i', '127.0.0.1', '-p', String(port)]
      .concat(['-m', '1', '-nostdin', '-timeout', '90s', '-timeout_error']),
    { cwd: out, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  sipp.stdout.on('data', (d) => (sippLog += d));
  sipp.stderr.on('data', (d) => (sippLog += d));
  const sippDone = new Promise((resolve) => sipp.on('exit', (code) => resolve(code)));

  session = await Session.start(driver, app);
  await (await session.find('[data-testid="tab-settings"]')).click();
  await (await session.find('[data-testid="add-account"]')).click();
  await (await session.find('[data-testid="account-display-name"]')).type('Office');
  await (await session.find('[data-testid="account-sip-address"]')).type('sip:alice@127.0.0.1');
  await (await session.find('[data-testid="account-registrar"]')).type(`sip:127.0.0.1:${port}`);
  await (await session.find('[data-testid="account-transport"]')).click();
  await (await session.find('[data-testid="account-transport"] option[value="udp"]')).click();
  await (await session.find('[data-testid="account-save"]')).click();

  // The call rings wherever we are (here: still in Settings), with the caller's name.
  const ringing = await session.find('[data-testid="incoming-call"]', { timeout: 20000 });
  assert.ok(ringing);
  assert.match(await (await session.find('[data-testid="incoming-remote"]')).text(), /Bob Caller/);
  await session.screenshot(join(out, 'incoming-ringing.png'));
  await (await session.find('[data-testid="answer-button"]')).click();

  await session.attributeBecomes('[data-testid="call-screen"]', 'data-state', (s) => s === 'active');
  const codec = await session.waitText('[data-testid="quality-codec"]', (t) => /PCMU/i.test(t), {
    timeout: 10000,
  });
  assert.match(codec, /PCMU/);
  await session.screenshot(join(out, 'incoming-active.png'));

  // sipp hangs up after 3 s of talk.
  const outcome = await session.attributeBecomes(
    '[data-testid="call-ended"]',
    'data-outcome',
    (o) => o !== null && o !== '',
    20000,
  );
  assert.equal(outcome, 'answered');
  const direction = await session.attributeBecomes(
    '[data-testid="history-entry"]',
    'data-direction',
    (d) => d === 'incoming',
  );
  assert.equal(direction, 'incoming');
  assert.equal(await sippDone, 0, `sipp did not complete its scenario:\n${sippLog}`);
});
