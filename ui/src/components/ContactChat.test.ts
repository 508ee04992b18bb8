import { screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { ChatMessage, Contact, RegistrationStatus } from '../lib/backend';
import { peerKey } from '../lib/contacts';
import { account } from '../lib/test-fixtures';
import { argsOf, renderApp } from './test-utils';

const office = account({ id: 'acc-office', display_name: 'Office', sip_address: 'sip:me@example.com', is_default: true });
const ivan: Contact = { id: 'c-ivan', name: 'Иван', address: 'sip:ivan@example.ru', note: '' };
const wang: Contact = { id: 'c-wang', name: '王小明', address: 'wang@example.cn', note: '' };
const registered: RegistrationStatus = {
  account_id: 'acc-office',
  state: 'registered',
  reason: null,
  server: 'pbx',
  expires_secs: 600,
  retry_in_secs: null,
  register_requests: 1,
  note: null,
};
const incoming = (peer: string, text: string): ChatMessage => ({
  account_id: 'acc-office',
  peer,
  direction: 'incoming',
  text,
  time: '2026-12-04T17:00:00Z',
  msg_id: null,
  state: 'received',
  reason: null,
});

const row = (id: string) => screen.getAllByTestId('contact').find((r) => r.dataset.contactId === id)!;
const messages = () => screen.queryAllByTestId('chat-message');

describe('peerKey', () => {
  it('makes every form of one address the same key', () => {
    expect(peerKey('"Иван" <sip:ivan@Example.RU;transport=tcp>')).toBe('ivan@example.ru');
    expect(peerKey('ivan@example.ru')).toBe('ivan@example.ru');
    expect(peerKey('sips:ivan@example.ru:5061')).toBe('ivan@example.ru');
    expect(peerKey('sip:+442079460958@pbx;user=phone')).toBe(peerKey('+44 20 7946 0958'));
    expect(peerKey('sip:bob@example.com')).not.toBe(peerKey('sip:bob@example.org'));
  });
});

describe('Contacts tab: chat', () => {
  it('shows the kept thread, sends in Chinese and Russian, and follows sent → delivered / failed', async () => {
    const history = [incoming('"Иван" <sip:ivan@example.ru>', 'Привет!')];
    const { backend, user } = await renderApp(
      { accounts: [office], registrations: [registered], contacts: [ivan, wang], chat: history, chatDelayMs: null, presenceDelayMs: null },
      'contacts',
    );
    await waitFor(() => expect(screen.getAllByTestId('contact')).toHaveLength(2));
    await user.click(within(row('c-ivan')).getByTestId('contact-chat'));
    await waitFor(() => expect(messages()).toHaveLength(1));
    expect(within(messages()[0]).getByTestId('chat-text').textContent).toBe('Привет!');
    expect(messages()[0].dataset.direction).toBe('incoming');

    await user.type(screen.getByTestId('chat-input'), '你好，Иван');
    await user.click(screen.getByTestId('chat-send'));
    await waitFor(() => expect(messages()).toHaveLength(2));
    expect(argsOf(backend, 'send_chat')).toEqual([{ account_id: 'acc-office', target: 'sip:ivan@example.ru', text: '你好，Иван' }]);
    expect(messages()[1].dataset.state).toBe('sending');
    expect((screen.getByTestId('chat-input') as HTMLInputElement).value).toBe('');

    const sent = (await backend.chat_thread('sip:ivan@example.ru'))[1];
    backend.emitChat({ ...sent, state: 'delivered' });
    await waitFor(() => expect(messages()[1].dataset.state).toBe('delivered'));
    expect(within(messages()[1]).getByTestId('chat-state').textContent).toBe('Delivered');

    await user.type(screen.getByTestId('chat-input'), 'ещё');
    await user.click(screen.getByTestId('chat-send'));
    await waitFor(() => expect(messages()).toHaveLength(3));
    const second = (await backend.chat_thread('sip:ivan@example.ru'))[2];
    backend.emitChat({ ...second, state: 'failed', reason: 'Иван is offline.' });
    await waitFor(() => expect(messages()[2].dataset.state).toBe('failed'));
    expect(within(messages()[2]).getByTestId('chat-state').textContent).toBe('Not delivered: Иван is offline.');
  });

  it('counts unread messages per contact while their thread is closed', async () => {
    const { backend, user } = await renderApp(
      { accounts: [office], registrations: [registered], contacts: [ivan, wang], chatDelayMs: null, presenceDelayMs: null },
      'contacts',
    );
    await waitFor(() => expect(backend.calls.some((c) => c.command === 'onChat')).toBe(true));
    backend.emitChat(incoming('sip:wang@example.cn', '在吗？'));
    backend.emitChat(incoming('"王" <sip:wang@example.cn;transport=tls>', '回电话'));
    await waitFor(() => expect(within(row('c-wang')).getByTestId('contact-unread').textContent).toBe('2'));
    expect(within(row('c-ivan')).queryByTestId('contact-unread')).toBeNull();

    await user.click(within(row('c-wang')).getByTestId('contact-chat'));
    await waitFor(() => expect(messages().map((m) => within(m).getByTestId('chat-text').textContent)).toEqual(['在吗？', '回电话']));
    expect(within(row('c-wang')).queryByTestId('contact-unread')).toBeNull();
    // A message to the open thread shows at once and is not unread.
    backend.emitChat(incoming('sip:wang@example.cn', '好的'));
    await waitFor(() => expect(messages()).toHaveLength(3));
    expect(within(row('c-wang')).queryByTestId('contact-unread')).toBeNull();
  });

  it('a refused send keeps the text and says why', async () => {
    const { backend, user } = await renderApp(
      { accounts: [office], registrations: [registered], contacts: [ivan], chatDelayMs: null, presenceDelayMs: null },
      'contacts',
    );
    await waitFor(() => expect(screen.getAllByTestId('contact')).toHaveLength(1));
    await user.click(screen.getByTestId('contact-chat'));
    backend.fail('send_chat', {
      code: 'not_registered',
      message: 'The account is not connected, so the message cannot go out.',
      hint: 'Wait until the account is registered.',
    });
    await user.type(screen.getByTestId('chat-input'), 'hello');
    await user.click(screen.getByTestId('chat-send'));
    expect((await screen.findByTestId('chat-send-error')).dataset.code).toBe('not_registered');
    expect((screen.getByTestId('chat-input') as HTMLInputElement).value).toBe('hello');
    expect(messages()).toHaveLength(0);
  });

  it('the demo backend delivers and answers by itself', async () => {
    const { user } = await renderApp(
      { accounts: [office], registrations: [registered], contacts: [ivan], chatDelayMs: 10, presenceDelayMs: null },
      'contacts',
    );
    await waitFor(() => expect(screen.getAllByTestId('contact')).toHaveLength(1));
    await user.click(screen.getByTestId('contact-chat'));
    await user.type(screen.getByTestId('chat-input'), 'ping');
    await user.click(screen.getByTestId('chat-send'));
    await waitFor(() => expect(messages()).toHaveLength(2));
    expect(messages()[0].dataset.state).toBe('delivered');
    expect(messages()[1].dataset.direction).toBe('incoming');
  });
});
