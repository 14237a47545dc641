/**
 * The activity form: what the browser sends → a validated `ActivityInput`, or field errors. People come
 * two ways: clients picked from the address book (checkbox values `participantClient`, `ccClient`) and a
 * text box per role where anyone can type addresses (`Jan Novák <jan@firma.cz>`), an IČO or `#12` (a client
 * number). A typed entry that names a client becomes that client; any other valid address stays free.
 */
import { z } from 'zod';
import type { Db } from '../db/client.ts';
import { emailField, optionalText, requiredText, type FieldError, type FieldErrors } from '../http/forms.ts';
import { ACTIVITY_TYPES, PERSON_ROLES, clientByKey, clientsById, type ActivityType, type PersonRole } from './queries.ts';
import { parseLocalDateTime } from './time.ts';

export interface PersonInput {
  role: PersonRole;
  clientId: number | null;
  email: string | null;
  name: string | null;
}

export interface ActivityInput {
  type: ActivityType;
  subject: string;
  at: Date;
  clientId: number | null;
  note: string | null;
  done: boolean;
  responsible: number[];
  people: PersonInput[];
}

/** The form as the browser sent it: every key with all its values. */
export type RawForm = Record<string, string[]>;

export const first = (form: RawForm, key: string) => form[key]?.[0] ?? '';
export const ids = (form: RawForm, key: string) =>
  [...new Set((form[key] ?? []).filter((v) => /^\d{1,9}$/.test(v)).map(Number))].filter((n) => n > 0);

const MAX_PEOPLE = 200;
const baseSchema = z.object({
  type: z.enum(ACTIVITY_TYPES, { message: 'v.choice' }),
  subject: requiredText(300),
  note: optionalText(10_000),
});
const email = emailField();

/**
 * Splits a text box into entries at line breaks, `;` and `,`, except inside quotes or `<…>`
 * (so `"Novák, Jan" <jan@firma.cz>` stays one entry).
 */
export function splitEntries(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  let angle = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (ch === '<' && !quoted) angle = true;
    else if (ch === '>' && !quoted) angle = false;
    if (!quoted && !angle && (ch === '\n' || ch === '\r' || ch === ';' || ch === ',')) {
      if (current.trim()) out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

type Entry =
  | { kind: 'address'; email: string; name: string | null }
  | { kind: 'ico'; ico: string }
  | { kind: 'id'; id: number }
  | { kind: 'invalid'; text: string };

/** One typed entry: `#12`, an 8-digit IČO, `Name <address>` or a bare address (validated strictly). */
export function parseEntry(entry: string): Entry {
  const id = /^#(\d{1,9})$/.exec(entry);
  if (id) return { kind: 'id', id: Number(id[1]) };
  const digits = entry.replace(/\s+/g, '');
  if (/^\d{8}$/.test(digits)) return { kind: 'ico', ico: digits };
  const named = /^(.*?)\s*<([^<>]*)>$/.exec(entry);
  const address = named ? named[2]! : entry;
  const name = named ? named[1]!.replace(/^"+|"+$/g, '').trim().slice(0, 200) || null : null;
  const parsed = email.safeParse(address);
  if (!parsed.success || (name && /[\u0000-\u001f\u007f]/.test(name))) return { kind: 'invalid', text: address.trim() || entry };
  return { kind: 'address', email: parsed.data, name };
}

/** Resolves one role's people: picked clients plus the typed entries. */
async function readPeople(db: Db, role: PersonRole, pickedIds: number[], text: string): Promise<{ people: PersonInput[]; error?: FieldError }> {
  const picked = await clientsById(db, pickedIds);
  const people: PersonInput[] = [...picked.keys()].map((clientId) => ({ role, clientId, email: null, name: null }));
  const entries = splitEntries(text);
  if (entries.length + people.length > MAX_PEOPLE) return { people, error: { key: 'activities.v.too_many', params: { max: String(MAX_PEOPLE) } } };
  const invalid: string[] = [];
  const unknown: string[] = [];
  for (const entry of entries) {
    const e = parseEntry(entry);
    if (e.kind === 'invalid') invalid.push(e.text);
    else if (e.kind === 'id') {
      const client = (await clientsById(db, [e.id])).get(e.id);
      if (client) people.push({ role, clientId: client.id, email: null, name: null });
      else unknown.push(entry);
    } else if (e.kind === 'ico') {
      const client = await clientByKey(db, { ico: e.ico });
      if (client) people.push({ role, clientId: client.id, email: null, name: null });
      else unknown.push(entry);
    } else {
      const client = await clientByKey(db, { email: e.email });
      people.push(client ? { role, clientId: client.id, email: null, name: null } : { role, clientId: null, email: e.email, name: e.name });
    }
  }
  if (invalid.length) return { people, error: { key: 'activities.v.bad_address', params: { address: invalid.slice(0, 5).join(', ') } } };
  if (unknown.length) return { people, error: { key: 'activities.v.unknown_client', params: { entry: unknown.slice(0, 5).join(', ') } } };
  // One entry per client or address within a role.
  const seen = new Set<string>();
  return { people: people.filter((p) => !seen.has(`${p.clientId ?? p.email}`) && !!seen.add(`${p.clientId ?? p.email}`)) };
}

/**
 * Validates the whole form. `allowedResponsible` are the users that may be chosen (the active ones and
 * whoever is responsible already). Every problem is reported at once, each next to its field.
 */
export async function readActivityForm(
  db: Db,
  form: RawForm,
  options: { timeZone: string; allowedResponsible: Set<number> },
): Promise<{ ok: true; input: ActivityInput } | { ok: false; errors: FieldErrors }> {
  const errors: FieldErrors = {};
  const base = baseSchema.safeParse({ type: first(form, 'type'), subject: first(form, 'subject'), note: first(form, 'note') });
  if (!base.success) {
    for (const issue of base.error.issues) {
      const field = String(issue.path[0]);
      const [key = issue.message, query = ''] = issue.message.split('?');
      errors[field] ??= { key, params: Object.fromEntries(new URLSearchParams(query)) };
    }
  }
  const atText = first(form, 'at');
  const at = atText.trim() ? parseLocalDateTime(atText, options.timeZone) : null;
  if (!at) errors.at = { key: atText.trim() ? 'activities.v.at' : 'v.required', params: {} };

  const responsible = ids(form, 'responsible').filter((id) => options.allowedResponsible.has(id));
  if (!responsible.length) errors.responsible = { key: 'activities.v.responsible', params: {} };

  const clientIds = ids(form, 'clientId');
  let clientId: number | null = null;
  if (clientIds.length) {
    const found = await clientsById(db, clientIds.slice(-1));
    clientId = found.keys().next().value ?? null;
    if (clientId === null) errors.clientId = { key: 'activities.v.client_gone', params: {} };
  }

  const people: PersonInput[] = [];
  for (const role of PERSON_ROLES) {
    const result = await readPeople(db, role, ids(form, `${role}Client`), first(form, `${role}Emails`).slice(0, 20_000));
    if (result.error) errors[`${role}Emails`] = result.error;
    people.push(...result.people);
  }

  if (!base.success || Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    input: {
      ...base.data,
      at: at!,
      clientId,
      done: first(form, 'done') === '1',
      responsible,
      people,
    },
  };
}

/** The text box content for free addresses already saved: one per line, with the name when there is one. */
export function freeAddressesText(people: { email: string | null; name: string | null; clientId: number | null }[]): string {
  return people
    .filter((p) => p.clientId === null && p.email)
    .map((p) => (p.name ? `${/[",;<>]/.test(p.name) ? `"${p.name.replace(/"/g, '')}"` : p.name} <${p.email}>` : p.email!))
    .join('\n');
}
