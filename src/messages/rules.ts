/**
 * Who may change a message. One place for the rule, used by the routes (to refuse) and by the views (to
 * show or hide the buttons), so the two never disagree.
 *
 * As the permission catalogue describes them (perm.* labels): `messages.edit` edits one's own drafts,
 * `messages.edit_generated` edits messages the system generated (or someone else wrote), `messages.delete`
 * deletes drafts. Only drafts change at all: queued, sent, exported … messages are read-only.
 */
import type { Permission } from '../auth/permissions.ts';
import type { MessageStatus } from '../db/schema/messages.ts';

export interface RuleUser {
  id: number;
  permissions: ReadonlySet<Permission>;
}

export interface RuleMessage {
  status: string;
  createdBy: number | null;
  generated: boolean;
}

/** Why a change is refused (an i18n key suffix: `messages.denied.<reason>`). */
export type MessageDenial = 'not_draft' | 'not_allowed' | 'not_own';

export type RuleOutcome = { ok: true } | { ok: false; reason: MessageDenial };

/** The statuses in which a message can still be edited or deleted. */
export const EDITABLE_STATUSES: readonly MessageStatus[] = ['draft'];

/** True when the message is the user's own hand-written one (not generated, not someone else's). */
export function isOwnMessage(user: RuleUser, message: RuleMessage): boolean {
  return !message.generated && message.createdBy !== null && message.createdBy === user.id;
}

/**
 * May `user` edit `message`? A draft only: one's own with `messages.edit`; a generated one or someone
 * else's with `messages.edit_generated`.
 */
export function canEditMessage(user: RuleUser | null | undefined, message: RuleMessage): RuleOutcome {
  if (!user) return { ok: false, reason: 'not_allowed' };
  if (!isEditableStatus(message.status)) return { ok: false, reason: 'not_draft' };
  if (isOwnMessage(user, message)) return user.permissions.has('messages.edit') ? { ok: true } : { ok: false, reason: 'not_allowed' };
  return user.permissions.has('messages.edit_generated') ? { ok: true } : { ok: false, reason: 'not_own' };
}

/**
 * May `user` delete `message`? A draft only, with `messages.delete`; a generated one or someone else's
 * also needs `messages.edit_generated` (deleting is the strongest edit).
 */
export function canDeleteMessage(user: RuleUser | null | undefined, message: RuleMessage): RuleOutcome {
  if (!user) return { ok: false, reason: 'not_allowed' };
  if (!isEditableStatus(message.status)) return { ok: false, reason: 'not_draft' };
  if (!user.permissions.has('messages.delete')) return { ok: false, reason: 'not_allowed' };
  if (!isOwnMessage(user, message) && !user.permissions.has('messages.edit_generated')) return { ok: false, reason: 'not_own' };
  return { ok: true };
}

function isEditableStatus(status: string): boolean {
  return (EDITABLE_STATUSES as readonly string[]).includes(status);
}
