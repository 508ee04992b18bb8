// The app in Russian and in Chinese: tab names, the dialer, Settings, a plural, and switching
// the language from Settings → General re-rendering everything at once.
import { screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../lib/backend';
import { errorText, i18n, setLanguage, STORAGE_KEY, systemLocale, t } from '../lib/i18n.svelte';
import { account } from '../lib/test-fixtures';
import { argsOf, renderApp, text } from './test-utils';

const office = account({ id: 'acc-office', display_name: 'Office', is_default: true });
const tabNames = () => screen.getAllByRole('tab').map((tab) => tab.textContent?.trim());

/** `n` finished calls, newest first. */
function history(n: number): HistoryEntry[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    id: `call-${i}`,
    account_id: 'acc-office',
    direction: 'outgoing' as const,
    remote: `sip:c${i}@example.com`,
    remote_name: null,
    started_at: now - (i + 1) * 60_000,
    answered_at: null,
    ended_at: now - (i + 1) * 60_000 + 5_000,
    outcome: 'cancelled' as const,
    reason: null,
  }));
}

describe('languages', () => {
  it('chooses from the system languages, English when none of ours is there', () => {
    expect(systemLocale(['ru-RU', 'en-US'])).toBe('ru');
    expect(systemLocale(['zh-CN'])).toBe('zh-CN');
    expect(systemLocale(['zh'])).toBe('zh-CN');
    expect(systemLocale(['de-DE', 'ru'])).toBe('ru');
    expect(systemLocale(['de-DE', 'fr'])).toBe('en');
    expect(systemLocale([])).toBe('en');
    // jsdom says en-US: the tests run in English.
    expect(i18n.locale).toBe('en');
  });

  it('Russian: tabs, dialer, Settings and <html lang>', async () => {
    setLanguage('ru');
    const { user } = await renderApp({ accounts: [office] });
    expect(document.documentElement.lang).toBe('ru');
    expect(tabNames()).toEqual(['Телефон', 'Контакты', 'Диагностика', 'Настройки']);
    expect(screen.getByRole('heading', { level: 2 }).textContent).toBe('Телефон');
    expect(text('dial-button')).toBe('Позвонить');
    expect(screen.getByTestId('dial-input').getAttribute('placeholder')).toBe('Номер или sip:имя@сервер');
    expect(text('dial-preview')).toBe('Введите номер или SIP-адрес либо наберите его на клавиатуре.');
    expect(screen.getByRole('group', { name: 'Клавиатура' })).toBeTruthy();
    expect(screen.getByTestId('keypad-star').getAttribute('aria-label')).toBe('звёздочка');
    expect(text('echo-test-button')).toBe('Эхо-тест');

    await user.type(screen.getByTestId('dial-input'), '0301234');
    await waitFor(() => expect(text('dial-preview')).toBe('Звонок на 0301234 с учётной записи Office'));

    await user.click(screen.getByTestId('tab-settings'));
    expect(screen.getByRole('heading', { level: 2 }).textContent).toBe('Настройки');
    expect(screen.getByRole('heading', { name: 'Учётные записи' })).toBeTruthy();
    expect(screen.getByRole('heading', { name: 'Общие' })).toBeTruthy();
    expect(text('add-account')).toBe('Добавить учётную запись');
    const select = screen.getByLabelText('Язык') as HTMLSelectElement;
    expect(select.value).toBe('ru');
    expect([...select.options].map((o) => o.textContent)).toEqual(['Как в системе', 'English', 'Русский', '简体中文']);
  });

  it.each([
    [1, 'Удалить из журнала 1 звонок?'],
    [3, 'Удалить из журнала 3 звонка?'],
    [5, 'Удалить из журнала 5 звонков?'],
    [21, 'Удалить из журнала 21 звонок?'],
  ])('Russian plurals: %i calls in the history', async (n, question) => {
    setLanguage('ru');
    const { user } = await renderApp({ accounts: [office], history: history(n) });
    await waitFor(() => expect(screen.getAllByTestId('history-entry')).toHaveLength(n));
    await user.click(screen.getByTestId('clear-history'));
    const group = screen.getByRole('group', { name: 'Подтвердите очистку журнала' });
    expect(within(group).getByText(question)).toBeTruthy();
  });

  it('Russian plurals elsewhere: channels, packets, unread messages', () => {
    setLanguage('ru');
    expect([1, 2, 5, 21, 22, 11].map((count) => t('audio-channels', { count }))).toEqual([
      '1 канал',
      '2 канала',
      '5 каналов',
      '21 канал',
      '22 канала',
      '11 каналов',
    ]);
    expect(t('contacts-unread', { count: 3 })).toBe('3 непрочитанных сообщения');
  });

  it('numbers in the language in use: decimal comma in Russian, units translated', () => {
    expect(t('quality-mos', { mos: 4 })).toBe('MOS 4.0 of 4.5');
    expect(t('unit-ms', { value: 3.24 })).toBe('3.2 ms');
    setLanguage('ru');
    expect(t('quality-mos', { mos: 4.2 })).toBe('MOS 4,2 из 4,5');
    expect(t('unit-ms', { value: 3.24 })).toBe('3,2 мс');
    expect(t('rate-khz', { rate: 44.1 })).toBe('44,1 кГц');
    setLanguage('zh-CN');
    expect(t('diag-took', { seconds: 7.96 })).toBe('快速测试用时 8.0 秒。');
  });

  it('core errors: known codes in the language in use, the core’s own words otherwise', () => {
    const stalled = { code: 'rtp_timeout', message: 'No audio arrived for a minute, so the call was ended.', hint: 'Call again.' };
    const other = { code: 'not_in_the_catalogs', message: 'Something new went wrong.', hint: 'Check.' };
    expect(errorText(stalled)).toEqual({ message: stalled.message, hint: stalled.hint });
    setLanguage('ru');
    expect(errorText(stalled)).toEqual({
      message: 'Звук не приходил целую минуту, поэтому звонок завершён.',
      hint: 'Собеседник или сеть оборвали звонок; позвоните ещё раз.',
    });
    expect(errorText(other)).toEqual({ message: other.message, hint: other.hint });
  });

  it('a server not found in DNS says why in the language in use', () => {
    const missing = (why: string) => ({
      code: 'server_not_found',
      message: 'Could not find pbx.invalid in DNS: the name does not exist.',
      hint: "Check the registrar's name in the account settings and the internet connection.",
      args: { host: 'pbx.invalid', why },
    });
    expect(errorText(missing('no_such_name')).message).toBe('Could not find pbx.invalid in DNS: the name does not exist.');
    setLanguage('ru');
    expect(errorText(missing('no_such_name'))).toEqual({
      message: 'Не удалось найти pbx.invalid в DNS: такого имени нет.',
      hint: 'Проверьте имя сервера регистрации в настройках учётной записи и подключение к интернету.',
    });
    expect(errorText(missing('timeout')).message).toBe('Не удалось найти pbx.invalid в DNS: DNS-сервер не ответил вовремя.');
    setLanguage('zh-CN');
    expect(errorText(missing('unreachable')).message).toBe('无法在 DNS 中找到 pbx.invalid：无法连接任何 DNS 服务器。');
  });

  it('registration failures in the language in use, with the server, user and port the core names', () => {
    const wrong = {
      code: 'wrong_credentials',
      message: 'Wrong user name or password: pbx.example.com refused the credentials of "alice" (realm "example.com").',
      hint: 'Check the user name…',
      args: { server: 'pbx.example.com', transport: 'UDP', port: '5060', user: 'alice', realm: 'example.com' },
    };
    const silent = (transport: string) => ({
      code: 'no_answer',
      message: 'No answer.',
      hint: 'The server may be down.',
      args: { server: 'pbx.example.com', transport, port: '5060' },
    });
    expect(errorText(wrong)).toEqual({ message: wrong.message, hint: wrong.hint });
    setLanguage('ru');
    expect(errorText(wrong).message).toBe(
      'Неверное имя пользователя или пароль: pbx.example.com не принял учётные данные «alice» (область «example.com»).',
    );
    expect(errorText(silent('UDP'))).toEqual({
      message: 'Нет ответа от pbx.example.com (UDP, порт 5060).',
      hint:
        'Возможно, сервер не работает. UDP-порт 5060 может блокировать брандмауэр или провайдер: выберите TCP или TLS ' +
        'в поле «Транспорт» учётной записи или другой порт (5060, 6060, 8080).',
    });
    expect(errorText(silent('TLS')).hint).toBe(
      'Возможно, сервер не работает. Порт 5060 может блокировать брандмауэр: проверьте адрес и порт сервера или выберите другой транспорт.',
    );
    setLanguage('zh-CN');
    expect(errorText(wrong).message).toBe('用户名或密码错误：pbx.example.com 拒绝了“alice”的凭据（域“example.com”）。');
    const rejected = (code: string, serverError: string) => ({
      code: 'rejected',
      message: '',
      hint: '',
      args: { server: 'pbx', transport: 'TCP', port: '5060', code, reason: 'Busy Everywhere', server_error: serverError },
    });
    expect(errorText(rejected('503', 'yes')).hint).toBe('服务器出现故障；Homeline 稍后会自动重试。');
    expect(errorText(rejected('606', 'no')).message).toBe('pbx 返回了 606 Busy Everywhere（TCP，端口 5060）。');
  });

  it('Settings → Accounts says why the registration failed in Russian, naming the server and user', async () => {
    setLanguage('ru');
    const { user } = await renderApp({
      accounts: [office],
      registrations: [
        {
          account_id: 'acc-office',
          state: 'failed',
          reason: {
            code: 'wrong_credentials',
            message: 'Wrong user name or password: pbx.example.com refused the credentials of "alice" (realm "example.com").',
            hint: 'Check the user name, authentication user and password in the account settings.',
            args: { server: 'pbx.example.com', transport: 'UDP', port: '5060', user: 'alice', realm: 'example.com' },
          },
          server: null,
          expires_secs: null,
          retry_in_secs: null,
          register_requests: 1,
          note: null,
        },
      ],
    });
    await user.click(screen.getByTestId('tab-settings'));
    const reason = await screen.findByTestId('account-registration-reason');
    expect(reason.textContent).toContain(
      'Неверное имя пользователя или пароль: pbx.example.com не принял учётные данные «alice» (область «example.com»).',
    );
    expect(reason.textContent).toContain('Homeline прекратил попытки, чтобы провайдер вас не заблокировал.');
  });

  it('Chinese: tabs, dialer, Settings and <html lang>', async () => {
    setLanguage('zh-CN');
    const { user } = await renderApp({ accounts: [office], history: history(3) });
    expect(document.documentElement.lang).toBe('zh-CN');
    expect(tabNames()).toEqual(['电话', '联系人', '诊断', '设置']);
    expect(text('dial-button')).toBe('拨打');
    expect(text('dial-preview')).toBe('输入号码或 SIP 地址，或使用拨号键盘。');
    expect(screen.getByRole('heading', { name: '最近通话' })).toBeTruthy();
    await user.click(screen.getByTestId('clear-history'));
    expect(screen.getByText('从记录中删除全部 3 个通话？')).toBeTruthy();

    await user.click(screen.getByTestId('tab-settings'));
    expect(screen.getByRole('heading', { level: 2 }).textContent).toBe('设置');
    expect(screen.getByRole('heading', { name: '账户' })).toBeTruthy();
    expect(screen.getByRole('heading', { name: '常规' })).toBeTruthy();
    expect((screen.getByLabelText('语言') as HTMLSelectElement).value).toBe('zh-CN');
  });

  it('Settings → General → Language switches every visible string at once and remembers it', async () => {
    const { user, backend } = await renderApp({ accounts: [office] }, 'settings');
    expect(tabNames()).toEqual(['Phone', 'Contacts', 'Diagnostics', 'Settings']);
    // The shell (tray, notifications) is told the language at start and on every change.
    await waitFor(() => expect(argsOf(backend, 'set_language')).toEqual([{ locale: 'en' }]));
    const select = screen.getByTestId('language-select') as HTMLSelectElement;
    expect(select.value).toBe('system');

    await user.selectOptions(select, 'ru');
    expect(tabNames()).toEqual(['Телефон', 'Контакты', 'Диагностика', 'Настройки']);
    expect(screen.getByRole('heading', { level: 2 }).textContent).toBe('Настройки');
    expect(document.documentElement.lang).toBe('ru');
    expect(localStorage.getItem(STORAGE_KEY)).toBe('ru');

    await user.selectOptions(select, 'zh-CN');
    expect(tabNames()).toEqual(['电话', '联系人', '诊断', '设置']);
    expect(localStorage.getItem(STORAGE_KEY)).toBe('zh-CN');

    await user.selectOptions(select, 'system');
    expect(tabNames()).toEqual(['Phone', 'Contacts', 'Diagnostics', 'Settings']);
    expect(document.documentElement.lang).toBe('en');
    expect(localStorage.getItem(STORAGE_KEY)).toBeNull();
    await waitFor(() =>
      expect(argsOf(backend, 'set_language')).toEqual([{ locale: 'en' }, { locale: 'ru' }, { locale: 'zh-CN' }, { locale: 'en' }]),
    );
  });
});
