import { describe, expect, it } from 'vitest';
import type { Permission } from '../auth/permissions.ts';
import { canDeleteMessage, canEditMessage } from './rules.ts';

const user = (id: number, ...permissions: Permission[]) => ({ id, permissions: new Set(permissions) });
const draft = (createdBy: number | null, generated = false) => ({ status: 'draft', createdBy, generated });

describe('message edit rules', () => {
  it('the creator edits their own draft with messages.edit', () => {
    expect(canEditMessage(user(1, 'messages.edit'), draft(1))).toEqual({ ok: true });
    expect(canEditMessage(user(1), draft(1))).toEqual({ ok: false, reason: 'not_allowed' });
  });

  it("someone else's draft needs messages.edit_generated", () => {
    expect(canEditMessage(user(2, 'messages.edit'), draft(1))).toEqual({ ok: false, reason: 'not_own' });
    expect(canEditMessage(user(2, 'messages.edit_generated'), draft(1))).toEqual({ ok: true });
  });

  it('a generated draft needs messages.edit_generated, even for the user it was generated for', () => {
    expect(canEditMessage(user(1, 'messages.edit'), draft(1, true))).toEqual({ ok: false, reason: 'not_own' });
    expect(canEditMessage(user(1, 'messages.edit'), draft(null))).toEqual({ ok: false, reason: 'not_own' });
    expect(canEditMessage(user(1, 'messages.edit_generated'), draft(null))).toEqual({ ok: true });
  });

  it('only drafts change: every other state is read-only, whatever the permissions', () => {
    const all = user(1, 'messages.edit', 'messages.edit_generated', 'messages.delete');
    for (const status of ['queued', 'sending', 'sent', 'deferred', 'failed', 'uncertain', 'cancelled', 'exported']) {
      expect(canEditMessage(all, { status, createdBy: 1, generated: false })).toEqual({ ok: false, reason: 'not_draft' });
      expect(canDeleteMessage(all, { status, createdBy: 1, generated: false })).toEqual({ ok: false, reason: 'not_draft' });
    }
  });

  it('deleting needs messages.delete, and messages.edit_generated for a draft not one\'s own', () => {
    expect(canDeleteMessage(user(1, 'messages.delete'), draft(1))).toEqual({ ok: true });
    expect(canDeleteMessage(user(1, 'messages.edit'), draft(1))).toEqual({ ok: false, reason: 'not_allowed' });
    expect(canDeleteMessage(user(2, 'messages.delete'), draft(1))).toEqual({ ok: false, reason: 'not_own' });
    expect(canDeleteMessage(user(2, 'messages.delete', 'messages.edit_generated'), draft(1))).toEqual({ ok: true });
  });

  it('nobody signed in may change anything', () => {
    expect(canEditMessage(null, draft(1))).toEqual({ ok: false, reason: 'not_allowed' });
  });
});
