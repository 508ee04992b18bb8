// The UI's languages: Fluent catalogs (src/locales/*.ftl, bundled with `?raw`), the language
// in use as Svelte state, and `t()` to say a message in it. Everything that calls `t()` while
// rendering re-renders when the language changes: no reload.
//
// Fluent chooses plural and select variants by the CLDR rules of each language (Russian has
// one/few/many), and the catalogs are plain text translators can edit without touching code.
import { FluentBundle, FluentResource, type FluentVariable } from '@fluent/bundle';
import { negotiateLanguages } from '@fluent/langneg';
import en from '../locales/en.ftl?raw';
import ru from '../locales/ru.ftl?raw';
import zhCN from '../locales/zh-CN.ftl?raw';

export const LOCALES = ['en', 'ru', 'zh-CN'] as const;
export type Locale = (typeof LOCALES)[number];
/** What the person chose in Settings → General: a language, or whatever the system says. */
export type LanguageChoice = Locale | 'system';

/** The catalogs' sources, by locale (the parity test reads them too). */
export const CATALOGS: Record<Locale, string> = { en, ru, 'zh-CN': zhCN };

/** Each language by its own name, as the language menu shows it. */
export const LANGUAGE_NAMES: Record<Locale, string> = { en: 'English', ru: 'Русский', 'zh-CN': '简体中文' };

/** Where the choice is remembered (not in the config file yet). */
export const STORAGE_KEY = 'homeline.language';

const bundles = new Map<Locale, FluentBundle>();

function bundle(locale: Locale): FluentBundle {
  let b = bundles.get(locale);
  if (!b) {
    // No Unicode isolation marks around placeables: names and numbers are shown as they are.
    b = new FluentBundle(locale, { useIsolating: false });
    const errors = b.addResource(new FluentResource(CATALOGS[locale]));
    for (const e of errors) console.warn(`${locale}.ftl:`, e);
    bundles.set(locale, b);
  }
  return b;
}

/** The best of our languages for the system's list (e.g. navigator.languages), else English. */
export function systemLocale(requested: readonly string[] = systemLanguages()): Locale {
  // Filtering, not lookup: "ru-RU" finds "ru", "zh" or "zh-Hans-CN" finds "zh-CN".
  const [best] = negotiateLanguages([...requested], [...LOCALES], { strategy: 'filtering', defaultLocale: 'en' });
  return (LOCALES as readonly string[]).includes(best) ? (best as Locale) : 'en';
}

function systemLanguages(): string[] {
  if (typeof navigator === 'undefined') return [];
  if (navigator.languages && navigator.languages.length > 0) return [...navigator.languages];
  return navigator.language ? [navigator.language] : [];
}

function storedChoice(): LanguageChoice {
  try {
    const v = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (v === 'system' || (LOCALES as readonly string[]).includes(v ?? '')) return v as LanguageChoice;
  } catch {
    // Storage may be unavailable (private mode): the system language it is.
  }
  return 'system';
}

class I18n {
  choice = $state<LanguageChoice>(storedChoice());
  system = $state<Locale>(systemLocale());
  /** The language in use. */
  readonly locale: Locale = $derived(this.choice === 'system' ? this.system : this.choice);
}

export const i18n = new I18n();

/** Sets `<html lang>` to the language in use. */
function applyLang(): void {
  if (typeof document !== 'undefined') document.documentElement.lang = i18n.locale;
}
applyLang();

/** Switches the language (every visible string follows at once) and remembers the choice. */
export function setLanguage(choice: LanguageChoice): void {
  i18n.choice = choice;
  try {
    if (choice === 'system') globalThis.localStorage?.removeItem(STORAGE_KEY);
    else globalThis.localStorage?.setItem(STORAGE_KEY, choice);
  } catch {
    // Not remembered, but still switched.
  }
  applyLang();
}

/** The system's languages changed (the `languagechange` event). */
export function refreshSystemLocale(): void {
  i18n.system = systemLocale();
  applyLang();
}

if (typeof window !== 'undefined') window.addEventListener('languagechange', refreshSystemLocale);

export type Args = Record<string, FluentVariable>;

/** Message `id` in the language in use (in English if that catalog lacks it, else the id). */
export function t(id: string, args?: Args): string {
  for (const locale of i18n.locale === 'en' ? (['en'] as const) : ([i18n.locale, 'en'] as const)) {
    const b = bundle(locale);
    const msg = b.getMessage(id);
    if (msg?.value) {
      const errors: Error[] = [];
      const out = b.formatPattern(msg.value, args ?? null, errors);
      for (const e of errors) console.warn(`${locale}.ftl ${id}:`, e);
      return out;
    }
  }
  console.warn(`no message ${id}`);
  return id;
}

/** Whether the catalogs have message `id` (for codes that may or may not have a translation). */
export function has(id: string): boolean {
  return bundle('en').hasMessage(id);
}

/**
 * A table of labels by key whose values are read in the language in use each time they are
 * read: `labels(['a', 'b'], 'prefix')` reads `prefix-a`, `prefix-b`. Keys with `_` read as `-`.
 */
export function labels<K extends string>(keys: readonly K[], prefix: string): Record<K, string> {
  const table = {} as Record<K, string>;
  for (const k of keys) {
    Object.defineProperty(table, k, {
      enumerable: true,
      get: () => t(`${prefix}-${k.replace(/_/g, '-')}`),
    });
  }
  return table;
}

/** A number in the language in use (decimal separator and grouping). */
export function formatNumber(n: number, options?: Intl.NumberFormatOptions): string {
  return new Intl.NumberFormat(i18n.locale, options).format(n);
}

/**
 * What to show of an error from the core: in English its own words; in another language the
 * catalog's words for its code where the catalog has them (`error-<code>`, `error-<code>-hint`),
 * else its own (English) words — the core does not speak other languages yet.
 */
export function errorText(error: {
  code: string;
  message: string;
  hint: string;
  args?: Record<string, string>;
}): { message: string; hint: string } {
  if (i18n.locale === 'en' || !has(`error-${error.code}`)) return { message: error.message, hint: error.hint };
  const hintId = `error-${error.code}-hint`;
  const args = error.args ?? {};
  return { message: t(`error-${error.code}`, args), hint: has(hintId) ? t(hintId, args) : error.hint };
}
