// End-to-end: the real app calls its built-in echo line — no account needed — through the full
// SIP + RTP path, with the sound devices of a private PulseAudio (null sinks). The call screen
// must show the call connected with live media statistics (Opus, encrypted), and after Hang up
// the call must be in the history as answered.
// Started by tests/e2e/run.sh inside a keyring session and a private PulseAudio.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Session } from './webdriver.mjs';

const app = process.env.HOMELINE_E2E_APP;
const out = process.env.HOMELINE_E2E_OUT;
const driver = process.env.HOMELINE_WEBDRIVER_URL;
if (!app || !out || !driver) throw new Error('run me through tests/e2e/run.sh');

let session;
after(async () => {
  if (session) await session.end().catch(() => {});
});

test('the echo line answers, the call screen shows live media, and history keeps the call', async () => {
  session = await Session.start(driver, app);
  await (await session.find('[data-testid="tab-phone"]')).click();
  // No account at all: the echo test is still offered.
  await session.find('[data-testid="empty-state"]');
  await (await session.find('[data-testid="echo-test-button"]')).click();

  await session.attributeBecomes('[data-testid="call-screen"]', 'data-state', (s) => s === 'active');
  assert.match(await (await session.find('[data-testid="call-remote"]')).text(), /Echo test/);

  // Live statistics arrive about once a second: the codec agreed, audio both ways, encrypted.
  const codec = await session.waitText(
    '[data-testid="quality-codec"]',
    (t) => /opus/i.test(t),
    { timeout: 10000 },
  );
  assert.match(codec, /opus/i);
  assert.match(await (await session.find('[data-testid="quality-srtp"]')).text(), /\S/);
  assert.match(await (await session.find('[data-testid="quality-loss"]')).text(), /^0(\.0+)? %$/);
  const timer = await session.waitText('[data-testid="call-timer"]', (t) => /0:0[2-9]/.test(t), {
    timeout: 10000,
  });
  assert.match(timer, /0:0\d/);
  await session.screenshot(join(out, 'calls-echo-active.png'));

  await (await session.find('[data-testid="hangup-button"]')).click();
  const outcome = await session.attributeBecomes(
    '[data-testid="call-ended"]',
    'data-outcome',
    (o) => o !== null && o !== '',
  );
  assert.equal(outcome, 'answered');

  const entry = await session.attributeBecomes(
    '[data-testid="history-entry"]',
    'data-outcome',
    (o) => o === 'answered',
  );
  assert.equal(entry, 'answered');
  assert.match(await (await session.find('[data-testid="history-remote"]')).text(), /echo/i);
  await session.screenshot(join(out, 'calls-history.png'));
});
