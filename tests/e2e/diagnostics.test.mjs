// End-to-end: the connectivity test in the real app (Xvfb, tauri-driver, WebKitWebDriver) with
// no account, against a real STUN server (coturn on loopback): the checks appear, the verdict,
// the quality plot (Chart.js), the export into Downloads and the history. Started by tests/e2e/run.sh.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from './webdriver.mjs';

const app = process.env.HOMELINE_E2E_APP;
const out = process.env.HOMELINE_E2E_OUT;
const home = process.env.HOMELINE_E2E_HOME;
const driver = process.env.HOMELINE_WEBDRIVER_URL;
if (!app || !out || !home || !driver) throw new Error('run me through tests/e2e/run.sh');

let session;
let coturn;
after(async () => {
  if (session) await session.end().catch(() => {});
  if (coturn) coturn.kill('SIGTERM');
});

/** A UDP port nobody uses now (TCP free is a good hint; coturn listens on both). */
function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once a STUN Binding request to 127.0.0.1:port gets an answer (≤ 10 s). */
async function stunAnswers(port) {
  const deadline = Date.now() + 10000;
  const sock = createSocket('udp4');
  try {
    for (;;) {
      const req = Buffer.alloc(20);
      req.writeUInt16BE(0x0001, 0); // Binding request
      req.writeUInt32BE(0x2112a442, 4); // magic cookie (RFC 5389)
      for (let i = 8; i < 20; i++) req[i] = Math.floor(Math.random() * 256);
      const answered = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), 300);
        sock.once('message', () => {
          clearTimeout(timer);
          resolve(true);
        });
        sock.send(req, port, '127.0.0.1');
      });
      if (answered) return;
      if (Date.now() > deadline) throw new Error(`coturn did not answer STUN on port ${port}`);
    }
  } finally {
    sock.close();
  }
}

test('the connectivity test runs in the app with no account and gives findings, a plot, an export and a history', async () => {
  const port = await freePort();
  coturn = spawn(
    'turnserver',
    ['-n', '--no-cli', '--listening-ip', '127.0.0.1', '--listening-port', String(port), '--no-tls', '--no-dtls',
      '--log-file', join(out, 'turnserver.log'), '--simple-log', '--pidfile', join(out, 'turnserver.pid')],
    { stdio: 'ignore' },
  );
  await stunAnswers(port);

  // The app's configuration: no account, one STUN server.
  const dir = join(home, '.config', 'homeline');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'homeline.toml'), `version = 1\n\n[network]\nstun_servers = ["stun:127.0.0.1:${port}"]\n`);

  session = await Session.start(driver, app);
  await (await session.find('[data-testid="tab-diagnostics"]')).click();
  await session.find('[data-testid="panel-diagnostics"]');
  await session.waitText('[data-testid="empty-state"]', (t) => /No test has run yet/.test(t));

  // The quick test only (the router timeout takes minutes).
  const background = await session.find('[data-testid="diag-background"]');
  await background.click();
  assert.equal(await background.property('checked'), false);
  const started = Date.now();
  await (await session.find('[data-testid="diag-start"]')).click();

  const verdict = await session.waitText('[data-testid="diag-verdict"]', (t) => /Calls will/.test(t), { timeout: 30000 });
  await session.waitText('[data-testid="diag-start"]', (t) => t === 'Test my connection', { timeout: 30000 });
  const took = Date.now() - started;
  console.log(`verdict after ${took} ms: ${verdict.split('\n')[0]}`);

  // UDP to the STUN server works; there is no server to test the phone signalling against.
  const udp = await session.find('[data-testid="check-udp"]');
  assert.equal(await udp.attribute('data-status'), 'ok', await udp.text());
  const ports = await session.find('[data-testid="check-sip_ports"]');
  assert.equal(await ports.attribute('data-status'), 'skipped', await ports.text());
  // The quality probe ran to the STUN server and Chart.js drew it.
  const quality = await session.find('[data-testid="check-quality"]');
  assert.match(await quality.text(), /call quality/i);
  const plotFailed = await session.findAll('[data-testid="plot-failed"]');
  assert.equal(plotFailed.length, 0, 'the plot could not be drawn');
  // Chart.js drew on the canvas: count its painted pixels.
  const painted = await session.executeAsync(
    `const done = arguments[arguments.length - 1];
     const c = document.querySelector('[data-testid="check-quality"] canvas');
     if (!c) return done(-1);
     const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
     let n = 0;
     for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) n++;
     done(n);`,
  );
  assert.ok(painted > 1000, `painted pixels on the plot: ${painted}`);
  // No screenshot: in this test WebKitWebDriver's screenshot command never answers (whole page
  // or element, before or after the run), while app.test.mjs's screenshots work; not solved yet.

  // Export: text and JSON land in Downloads.
  await (await session.find('[data-testid="diag-export"]')).click();
  const said = await session.waitText('[data-testid="diag-exported"]', (t) => /homeline-diagnostics-/.test(t));
  // Downloads when the desktop names one (user-dirs.dirs), else the home folder.
  const paths = said.match(/\/\S+homeline-diagnostics-\S+?\.(?:txt|json)/g) ?? [];
  assert.equal(paths.length, 2, said);
  for (const p of paths) assert.ok(p.startsWith(home), `${p} is not in the test's home`);
  const files = paths.map((p) => p.slice(p.lastIndexOf('/') + 1));
  const downloads = paths[0].slice(0, paths[0].lastIndexOf('/'));
  const json = JSON.parse(readFileSync(join(downloads, files.find((f) => f.endsWith('.json'))), 'utf8'));
  assert.ok(['works', 'works_with_relay', 'fails'].includes(json.verdict_kind), json.verdict_kind);
  const q = json.checks.find((c) => c.id === 'quality');
  assert.ok(q.details.samples.length >= 200, `samples: ${q.details.samples.length}`);
  const text = readFileSync(join(downloads, files.find((f) => f.endsWith('.txt'))), 'utf8');
  assert.match(text, /Homeline connectivity test/);

  // The run is kept in the history.
  await session.waitText('[data-testid="diag-history"]', (t) => /Show/.test(t));
  assert.equal((await session.findAll('[data-testid="diag-run"]')).length, 1);
});
