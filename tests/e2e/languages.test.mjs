// End-to-end: the real app in Russian and Simplified Chinese. Settings → General → Language
// switches every visible string at once (tabs, titles, the dialer), the choice survives a
// restart, and "System default" brings English back (the test machine's locale). Screenshots
// of the Phone and Settings tabs in each language land in tests/out/e2e/languages/.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from './webdriver.mjs';

const x11 = join(dirname(fileURLToPath(import.meta.url)), 'x11.py');

const app = process.env.HOMELINE_E2E_APP;
const out = process.env.HOMELINE_E2E_OUT;
const driver = process.env.HOMELINE_WEBDRIVER_URL;
if (!app || !out || !driver) throw new Error('run me through tests/e2e/run.sh');

const WORDS = {
  ru: { phone: 'Телефон', contacts: 'Контакты', diagnostics: 'Диагностика', settings: 'Настройки', echo: 'Эхо-тест' },
  'zh-CN': { phone: '电话', contacts: '联系人', diagnostics: '诊断', settings: '设置', echo: '回声测试' },
  en: { phone: 'Phone', contacts: 'Contacts', diagnostics: 'Diagnostics', settings: 'Settings', echo: 'Echo test' },
};

let session;
after(async () => {
  if (session) await session.end().catch(() => {});
});

// The choice is made as a keyboard user makes it (value + change event) rather than by
// clicking the <option>: a click opens WebKitGTK's native popup menu, which stays open under
// WebDriver and makes every later screenshot hang.
async function choose(lang) {
  await (await session.find('[data-testid="tab-settings"]')).click();
  await session.find('[data-testid="language-select"]');
  await session.executeAsync(
    `const s = document.querySelector('[data-testid="language-select"]');
     s.value = arguments[0];
     s.dispatchEvent(new Event('change', { bubbles: true }));
     arguments[1](s.value);`,
    [lang],
  );
}

async function expectLanguage(lang) {
  const w = WORDS[lang === 'system' ? 'en' : lang];
  for (const tab of ['phone', 'contacts', 'diagnostics', 'settings']) {
    await session.waitText(`[data-testid="tab-${tab}"]`, (t) => t.includes(w[tab]));
  }
  const htmlLang = await session.executeAsync('arguments[0](document.documentElement.lang)');
  assert.equal(htmlLang, lang === 'system' ? 'en' : lang);
}

/** A screenshot of the window as the X server shows it, once the page has painted. */
async function windowShot(file) {
  await session.executeAsync('requestAnimationFrame(() => requestAnimationFrame(() => arguments[0](true)))');
  execFileSync(x11, ['shot', 'Homeline', file], { encoding: 'utf8' });
}

async function shoot(lang) {
  await (await session.find('[data-testid="tab-settings"]')).click();
  await session.waitText('[data-testid="panel-settings"] h2', (t) => t.includes(WORDS[lang].settings));
  await windowShot(join(out, `settings-${lang}.png`));
  await (await session.find('[data-testid="tab-phone"]')).click();
  await session.waitText('[data-testid="panel-phone"] h2', (t) => t.includes(WORDS[lang].phone));
  // Not only the tab strip: the panel's own buttons speak the language too.
  await session.waitText('[data-testid="echo-test-button"]', (t) => t.includes(WORDS[lang].echo));
  await windowShot(join(out, `phone-${lang}.png`));
}

test('Russian and Chinese change every tab at once and survive a restart', async () => {
  session = await Session.start(driver, app);
  await expectLanguage('system');

  await choose('ru');
  await expectLanguage('ru');
  await shoot('ru');

  await choose('zh-CN');
  await expectLanguage('zh-CN');
  await shoot('zh-CN');

  // The choice is remembered: a restarted app opens in Chinese.
  await session.end();
  session = await Session.start(driver, app);
  await expectLanguage('zh-CN');

  await choose('system');
  await expectLanguage('system');
});
