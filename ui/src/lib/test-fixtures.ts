// Shared test data; imported by *.test.ts only, so it never reaches the build.
import type { Account, CallView } from './backend';

export function callView(over: Partial<CallView> = {}): CallView {
  return {
    id: 'call-1',
    account_id: null,
    direction: 'outgoing',
    remote: 'sip:bob@example.com',
    remote_name: null,
    state: 'active',
    waiting: false,
    muted: false,
    on_hold: false,
    remote_hold: false,
    started_at: 1_000,
    answered_at: 2_000,
    ended_at: null,
    outcome: null,
    end_reason: null,
    media_problem: null,
    stats: null,
    ...over,
  };
}

export function account(over: Partial<Account> = {}): Account {
  return {
    id: 'acc-1',
    display_name: 'Office',
    sip_address: 'sip:alice@pbx.example.com',
    auth_user: '',
    registrar: 'sip:pbx.example.com',
    transport: 'udp',
    password_storage: 'keyring',
    dial_prefix: '',
    is_default: false,
    ...over,
  };
}
