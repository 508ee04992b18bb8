import { screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { Contact } from '../lib/backend';
import { account } from '../lib/test-fixtures';
import { argsOf, renderApp, text } from './test-utils';

const ivan: Contact = { id: 'c-ivan', name: 'Иван Петров', address: 'sip:ivan@example.ru', note: 'Бухгалтерия' };
const wang: Contact = { id: 'c-wang', name: '王小明', address: 'sip:wang@example.cn', note: '' };
const bob: Contact = { id: 'c-bob', name: 'bob', address: '+44 20 7946 0958', note: 'Plumber' };

const rows = () => screen.queryAllByTestId('contact');
const names = () => rows().map((r) => within(r).getByTestId('contact-entry-name').textContent);

describe('Contacts tab', () => {
  it('says so plainly when the book is empty', async () => {
    await renderApp({}, 'contacts');
    expect(await screen.findByTestId('empty-state')).toBeTruthy();
    expect(text('empty-state')).toContain('No contacts yet');
    expect(rows()).toHaveLength(0);
  });

  it('lists contacts by name with address and note, and searches in any script', async () => {
    const { user } = await renderApp({ contacts: [wang, ivan, bob] }, 'contacts');
    await waitFor(() => expect(rows()).toHaveLength(3));
    expect(names()).toEqual(['bob', 'Иван Петров', '王小明']);
    expect(within(rows()[1]).getByTestId('contact-entry-note').textContent).toBe('Бухгалтерия');
    expect(screen.queryByTestId('empty-state')).toBeNull();

    await user.type(screen.getByTestId('contacts-search'), 'ИВАН');
    expect(names()).toEqual(['Иван Петров']);
    await user.clear(screen.getByTestId('contacts-search'));
    await user.type(screen.getByTestId('contacts-search'), '79460958');
    expect(names()).toEqual(['bob']);
    await user.clear(screen.getByTestId('contacts-search'));
    await user.type(screen.getByTestId('contacts-search'), 'nobody');
    expect(rows()).toHaveLength(0);
    expect(text('contacts-no-match')).toContain('nobody');
  });

  it('adds a contact, showing the backend’s refusal in plain words first', async () => {
    const { backend, user } = await renderApp({}, 'contacts');
    await screen.findByTestId('empty-state');
    await user.click(screen.getByTestId('contact-add'));
    await user.type(screen.getByTestId('contact-name'), '王小明');
    await user.type(screen.getByTestId('contact-address'), 'just words');
    await user.click(screen.getByTestId('contact-save'));
    const error = await screen.findByTestId('contact-error');
    expect(error.dataset.code).toBe('invalid_contact');
    expect(error.textContent).toContain('neither a SIP address');
    expect(rows()).toHaveLength(0);

    await user.clear(screen.getByTestId('contact-address'));
    await user.type(screen.getByTestId('contact-address'), 'wang@example.cn');
    await user.type(screen.getByTestId('contact-note'), '销售部');
    await user.click(screen.getByTestId('contact-save'));
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(screen.queryByTestId('contact-form')).toBeNull();
    expect(argsOf(backend, 'save_contact').at(-1)).toEqual({
      input: { id: null, name: '王小明', address: 'wang@example.cn', note: '销售部' },
    });
    expect(await backend.list_contacts()).toEqual([
      { id: expect.any(String), name: '王小明', address: 'wang@example.cn', note: '销售部' },
    ]);
  });

  it('edits and removes a contact', async () => {
    const { backend, user } = await renderApp({ contacts: [ivan, bob] }, 'contacts');
    await waitFor(() => expect(rows()).toHaveLength(2));
    await user.click(within(rows()[1]).getByTestId('contact-edit'));
    const name = screen.getByTestId('contact-name') as HTMLInputElement;
    expect(name.value).toBe('Иван Петров');
    await user.clear(name);
    await user.type(name, 'Иван Иванович');
    await user.click(screen.getByTestId('contact-save'));
    await waitFor(() => expect(names()).toEqual(['bob', 'Иван Иванович']));
    expect(argsOf(backend, 'save_contact').at(-1)).toEqual({
      input: { id: 'c-ivan', name: 'Иван Иванович', address: 'sip:ivan@example.ru', note: 'Бухгалтерия' },
    });

    await user.click(within(rows()[0]).getByTestId('contact-remove'));
    await waitFor(() => expect(names()).toEqual(['Иван Иванович']));
    expect(argsOf(backend, 'remove_contact')).toEqual([{ id: 'c-bob' }]);
  });

  it('shows a failed removal and keeps the contact', async () => {
    const { backend, user } = await renderApp({ contacts: [bob] }, 'contacts');
    await waitFor(() => expect(rows()).toHaveLength(1));
    backend.fail('remove_contact', {
      code: 'contacts_failed',
      message: 'Could not save the contacts.',
      hint: 'Check that the disk is not full, then try again.',
    });
    await user.click(screen.getByTestId('contact-remove'));
    const error = await screen.findByTestId('contacts-action-error');
    expect(error.dataset.code).toBe('contacts_failed');
    expect(rows()).toHaveLength(1);
  });

  it('click to call fills the dialer on the Phone tab, with or without an account', async () => {
    const { backend, user } = await renderApp({ contacts: [bob] }, 'contacts');
    await waitFor(() => expect(rows()).toHaveLength(1));
    await user.click(screen.getByTestId('contact-call'));
    const input = (await screen.findByTestId('dial-input')) as HTMLInputElement;
    await waitFor(() => expect(input.value).toBe('+44 20 7946 0958'));
    expect(argsOf(backend, 'dial')).toEqual([]);
  });

  it('click to call with an account fills the dialer and previews the call', async () => {
    const office = account({ id: 'acc-office', display_name: 'Office', is_default: true });
    const { backend, user } = await renderApp({ accounts: [office], contacts: [ivan] }, 'contacts');
    await waitFor(() => expect(rows()).toHaveLength(1));
    await user.click(screen.getByTestId('contact-call'));
    const input = (await screen.findByTestId('dial-input')) as HTMLInputElement;
    await waitFor(() => expect(input.value).toBe('sip:ivan@example.ru'));
    expect(argsOf(backend, 'dial')).toEqual([]);
  });
});
