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
