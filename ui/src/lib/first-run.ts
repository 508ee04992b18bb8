/**
 * The first run's two fields become an account: the SIP address names the provider's domain,
 * which is also where its server is found (RFC 3263: NAPTR, SRV, then the domain's address,
 * with the `auto` transport's ladder UDP → TCP → TLS → 443). Providers that need a server of
 * their own use the full form in Settings.
 */
import type { AccountInput } from './backend';

/** `alice@pbx.example.com[:port]`, with or without `sip:`/`sips:`, split; null if it is not one. */
export function parseAddress(text: string): { user: string; host: string; secure: boolean } | null {
  const trimmed = text.trim();
  const scheme = /^(sips?):/i.exec(trimmed);
  const rest = scheme ? trimmed.slice(scheme[0].length) : trimmed;
  const m = /^([^@\s:;]+)@([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/.exec(rest);
  if (!m) return null;
  const [, user, name, port = ''] = m;
  if (name.startsWith('.') || name.endsWith('.') || name.includes('..')) return null;
  return { user, host: `${name}${port}`, secure: scheme?.[1].toLowerCase() === 'sips' };
}

/** The account the first run saves: the domain as its name and its registrar, `auto` transport. */
export function firstRunAccount(
  text: string,
  password: string,
  id: string | null,
): AccountInput | null {
  const parsed = parseAddress(text);
  if (!parsed) return null;
  const scheme = parsed.secure ? 'sips' : 'sip';
  return {
    id,
    display_name: parsed.host.replace(/:\d+$/, ''),
    sip_address: `${scheme}:${parsed.user}@${parsed.host}`,
    auth_user: '',
    registrar: `${scheme}:${parsed.host}`,
    transport: 'auto',
    password,
    dial_prefix: '',
    is_default: true,
  };
}
