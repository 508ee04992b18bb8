// The three catalogs say the same messages: the same ids, the same variables, no syntax errors.
import { FluentBundle, FluentResource } from '@fluent/bundle';
import { FluentParser, Junk, Message, Visitor, type VariableReference } from '@fluent/syntax';
import { describe, expect, it } from 'vitest';
import { CATALOGS, LOCALES, type Locale } from '../lib/i18n.svelte';

class Variables extends Visitor {
  names = new Set<string>();
  visitVariableReference(node: VariableReference): void {
    this.names.add(node.id.name);
  }
}

/** Each message id with the sorted names of the variables it uses. */
function parse(locale: Locale): { messages: Map<string, string[]>; junk: string[] } {
  const resource = new FluentParser({ withSpans: false }).parse(CATALOGS[locale]);
  const messages = new Map<string, string[]>();
  const junk: string[] = [];
  for (const entry of resource.body) {
    if (entry instanceof Junk) {
      junk.push(`${entry.annotations.map((a) => a.message).join('; ')}: ${entry.content.trim()}`);
    } else if (entry instanceof Message) {
      if (messages.has(entry.id.name)) junk.push(`${entry.id.name} is defined twice`);
      const v = new Variables();
      v.visit(entry);
      messages.set(entry.id.name, [...v.names].sort());
    }
  }
  return { messages, junk };
}

describe('catalogs', () => {
  const parsed = Object.fromEntries(LOCALES.map((l) => [l, parse(l)])) as Record<Locale, ReturnType<typeof parse>>;

  it.each(LOCALES)('%s.ftl has no Fluent syntax errors or duplicate ids', (locale) => {
    expect(parsed[locale].junk).toEqual([]);
    // And the runtime parser agrees.
    const bundle = new FluentBundle(locale);
    expect(bundle.addResource(new FluentResource(CATALOGS[locale]))).toEqual([]);
  });

  it.each(LOCALES.filter((l) => l !== 'en'))('%s.ftl has exactly the ids of en.ftl', (locale) => {
    const en = [...parsed.en.messages.keys()].sort();
    const other = [...parsed[locale].messages.keys()].sort();
    expect({ missing: en.filter((id) => !other.includes(id)), extra: other.filter((id) => !en.includes(id)) }).toEqual({
      missing: [],
      extra: [],
    });
  });

  it.each(LOCALES.filter((l) => l !== 'en'))('%s.ftl uses the same variables in each message as en.ftl', (locale) => {
    const differ: string[] = [];
    for (const [id, vars] of parsed.en.messages) {
      const theirs = parsed[locale].messages.get(id);
      if (theirs && theirs.join() !== vars.join()) differ.push(`${id}: en {${vars}} ${locale} {${theirs}}`);
    }
    expect(differ).toEqual([]);
  });
});
