import { beforeEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...args: unknown[]) => invoke(...args), Channel: class {} }));
const listen = vi.fn();
vi.mock('@tauri-apps/api/event', () => ({ listen: (...args: unknown[]) => listen(...args) }));

const { TauriBackend } = await import('./tauri-backend');

describe('TauriBackend: contacts, presence and chat', () => {
  beforeEach(() => {
    invoke.mockReset();
    listen.mockReset();
  });

  it('calls the commands of docs/app-api.md with their argument names', async () => {
    const b = new TauriBackend();
    invoke.mockResolvedValue(null);
    const input = { id: null, name: 'Иван', address: 'sip:ivan@example.ru', note: '' };
    await b.list_contacts();
    await b.save_contact(input);
    await b.remove_contact('c1');
    await b.set_presence('acc-1', 'busy', 'На встрече');
    await b.watch_presence('acc-1', 'sip:ivan@example.ru');
    await b.chat_thread('sip:ivan@example.ru');
    await b.send_chat('acc-1', 'sip:ivan@example.ru', '你好');
    expect(invoke.mock.calls).toEqual([
      ['list_contacts', undefined],
      ['save_contact', { input }],
      ['remove_contact', { id: 'c1' }],
      ['set_presence', { account_id: 'acc-1', status: 'busy', note: 'На встрече' }],
      ['watch_presence', { account_id: 'acc-1', target: 'sip:ivan@example.ru' }],
      ['chat_thread', { peer: 'sip:ivan@example.ru' }],
      ['send_chat', { account_id: 'acc-1', target: 'sip:ivan@example.ru', text: '你好' }],
    ]);
  });

  it('listens to presence://update and chat://message, handing over the payload', async () => {
    const handlers: Record<string, (e: { payload: unknown }) => void> = {};
    listen.mockImplementation(async (name: string, h: (e: { payload: unknown }) => void) => {
      handlers[name] = h;
      return () => {};
    });
    const b = new TauriBackend();
    const presence = vi.fn();
    const chat = vi.fn();
    await b.onPresence(presence);
    await b.onChat(chat);
    handlers['presence://update']({ payload: { account_id: 'a', kind: 'published', status: 'away' } });
    handlers['chat://message']({ payload: { text: 'x' } });
    expect(presence).toHaveBeenCalledWith({ account_id: 'a', kind: 'published', status: 'away' });
    expect(chat).toHaveBeenCalledWith({ text: 'x' });
  });

  it('turns a rejection into a UiError', async () => {
    invoke.mockRejectedValue({ code: 'invalid_contact', message: 'The name is empty.', hint: 'Correct the “Name” field.' });
    await expect(
      new TauriBackend().save_contact({ id: null, name: '', address: '1', note: '' }),
    ).rejects.toEqual({ code: 'invalid_contact', message: 'The name is empty.', hint: 'Correct the “Name” field.' });
  });
});
