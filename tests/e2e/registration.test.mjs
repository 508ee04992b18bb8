// End-to-end: the real app registers an account against a registrar where nothing listens. The
// account's row must say "Failed" and why, naming the server, within seconds (a closed UDP port
// on loopback answers with ICMP "port unreachable", which the app reports as refused at once).
// Started by tests/e2e/run.sh inside a keyring session.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
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

/** A UDP port on 127.0.0.1 that nothing listens on: bound by us, then released. */
async function closedUdpPort() {
  const socket = createSocket('udp4');
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', resolve);
  });
  const { port } = socket.address();
  await new Promise((resolve) => socket.close(resolve));
  return port;
}

async function openTab(name) {
  await (await session.find(`[data-testid="tab-${name}"]`)).click();
  return session.find(`[data-testid="panel-${name}"]`);
}

async function addAccount({ name, address, registrar = '', transport }) {
  await (await session.find('[data-testid="add-account"]')).click();
  await (await session.find('[data-testid="account-display-name"]')).type(name);
  await (await session.find('[data-testid="account-sip-address"]')).type(address);
  if (registrar) await (await session.find('[data-testid="account-registrar"]')).type(registrar);
  if (transport) {
    await (await session.find('[data-testid="account-transport"]')).click();
    await (await session.find(`[data-testid="account-transport"] option[value="${transport}"]`)).click();
  }
  await (await session.find('[data-testid="account-save"]')).click();
  // Saved when its row (with its registration badge) is in the list.
  await waitInRow(name, 'account-registration', (t) => t.length > 0, 10000);
}

/** The text of the `testid` element inside the account row that shows `name`. */
async function inRow(name, testid) {
  for (const row of await session.findAll('[data-testid="account-row"]')) {
    if (!(await row.text()).includes(name)) continue;
    const els = await session.cmd('POST', `/element/${row.id}/elements`, {
      using: 'css selector',
      value: `[data-testid="${testid}"]`,
    });
    if (els.length === 0) return null;
    const id = Object.values(els[0])[0];
    return session.cmd('GET', `/element/${id}/text`);
  }
  return null;
}

async function waitInRow(name, testid, pred, timeout = 20000) {
  const deadline = Date.now() + timeout;
  let last = null;
  for (;;) {
    last = await inRow(name, testid);
    if (last !== null && pred(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`${testid} of ${name} never matched; last: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('an account whose registrar does not answer shows Failed and says why', async () => {
  const port = await closedUdpPort();
  session = await Session.start(driver, app);
  await openTab('settings');

  await addAccount({ name: 'Direct Dora', address: 'sip:dora@example.com' });
  const direct = await waitInRow('Direct Dora', 'account-registration', (t) => t.length > 0);
  assert.match(direct, /Direct calls only — no registration/);

  await addAccount({
    name: 'Closed Carl',
    address: 'sip:carl@127.0.0.1',
    registrar: `sip:127.0.0.1:${port}`,
    transport: 'udp',
  });
  const badge = await waitInRow('Closed Carl', 'account-registration', (t) => t === 'Failed');
  assert.equal(badge, 'Failed');
  const reason = await waitInRow('Closed Carl', 'account-registration-reason', (t) => t.length > 0);
  assert.match(reason, /127\.0\.0\.1/);
  assert.match(reason, new RegExp(`port ${port}`));
  assert.match(reason, /nothing listens/i);
  await session.screenshot(join(out, 'registration-failed.png'));

  // The Phone tab shows the same state.
  const phone = await openTab('phone');
  const text = await phone.text();
  assert.match(text, /Failed/);
  assert.match(text, /nothing listens/i);
  assert.match(text, /Direct calls only — no registration/);
  await session.screenshot(join(out, 'registration-phone.png'));
});
