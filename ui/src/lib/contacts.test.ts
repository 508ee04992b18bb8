import { describe, expect, it } from 'vitest';
import { matchContact } from './contacts';

const ivan = { id: 'a', name: 'Иван Петров', address: 'sip:ivan@example.ru', note: 'Бухгалтерия' };
const wang = { id: 'b', name: '王小明', address: 'sip:wang@example.cn', note: '销售部' };
const bob = { id: 'c', name: 'Bob', address: '+44 20 7946 0958', note: 'Plumber' };

describe('matchContact', () => {
  it('matches every word in name, address or note, ignoring case, in any script', () => {
    expect(matchContact(ivan, 'иван')).toBe(true);
    expect(matchContact(ivan, 'БУХГАЛТЕРИЯ')).toBe(true);
    expect(matchContact(ivan, 'иван ru')).toBe(true);
    expect(matchContact(ivan, 'иван cn')).toBe(false);
    expect(matchContact(wang, '小明')).toBe(true);
    expect(matchContact(wang, 'example.cn')).toBe(true);
    expect(matchContact(bob, 'plumb')).toBe(true);
    expect(matchContact(bob, 'nobody')).toBe(false);
  });

  it('matches numbers however they are spaced; an empty query matches all', () => {
    expect(matchContact(bob, '79460958')).toBe(true);
    expect(matchContact(bob, '4420 7946')).toBe(true);
    expect(matchContact(bob, '5555')).toBe(false);
    expect(matchContact(ivan, '  ')).toBe(true);
  });
});
