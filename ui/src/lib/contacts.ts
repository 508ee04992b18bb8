// Searching the address book in the window, with the rules of homeline-phone's
// ContactStore::search: every word must match the name, address or note, ignoring case
// (Unicode lower case); a word of digits also matches a number however it is spaced.
import type { Contact } from './backend';

function digits(s: string): string {
  return s.replace(/[^0-9]/g, '');
}

export function matchContact(contact: Contact, query: string): boolean {
  const words = query.trim().toLowerCase().split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return true;
  const hay = `${contact.name}\n${contact.address}\n${contact.note}`.toLowerCase();
  const number = digits(contact.address);
  return words.every((w) => hay.includes(w) || (/^\d+$/.test(w) && number.includes(w)));
}

/**
 * What two addresses share when they are the same peer (as ContactStore's address_key):
 * `"Bob" <sip:bob@Example.com;transport=tcp>` and `bob@example.com` → `bob@example.com`;
 * numbers (also `sip:+44…@host`) → their digits.
 */
export function peerKey(address: string): string {
  let a = address.trim();
  const open = a.indexOf('<');
  const close = a.lastIndexOf('>');
  if (open !== -1 && close > open) a = a.slice(open + 1, close);
  a = a.replace(/^sips?:/i, '').replace(/[;?].*$/, '');
  const at = a.lastIndexOf('@');
  const user = at === -1 ? a : a.slice(0, at);
  const host = at === -1 ? '' : a.slice(at + 1).replace(/:\d+$/, '').toLowerCase();
  if (/^\+?[\d\s\-.()/*#]+$/.test(user) && /\d/.test(user)) return digits(user);
  return host === '' ? user.toLowerCase() : `${user.toLowerCase()}@${host}`;
}
