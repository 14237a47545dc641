/** The contract form: what the user typed (kept verbatim for re-rendering) and its validation into a ContractInput. */
import { z } from 'zod';
import type { Db } from '../db/client.ts';
import { fieldErrors, requiredText, type FieldErrors } from '../http/forms.ts';
import { resolveClientRef, type ClientRef } from '../orders/client-picker.ts';
import {
  amountErrorKey,
  CURRENCIES,
  fieldError,
  noteField,
  optionalDate,
  parseDateInput,
  requiredDate,
  type Currency,
} from '../orders/fields.ts';
import { moneyInput, parseMoney } from '../orders/money.ts';
import { CONTRACT_STATUSES, findContractIdByNumber, type ContractDetail, type ContractStatus } from './queries.ts';
import type { ContractInput } from './service.ts';

export interface ContractFormValues {
  number: string;
  client: string;
  title: string;
  validFrom: string;
  validTo: string;
  value: string;
  currency: string;
  status: string;
  note: string;
  /** The contract's updatedAt when the edit form was built (optimistic concurrency). */
  version: string;
}

const FIELDS = ['number', 'client', 'title', 'validFrom', 'validTo', 'value', 'currency', 'status', 'note', 'version'] as const;

/** Everything the contract form sent, as strings (missing fields empty, currency and status defaulted). */
export function contractFormValues(form: Record<string, string>): ContractFormValues {
  const values = Object.fromEntries(FIELDS.map((k) => [k, form[k] ?? ''])) as unknown as ContractFormValues;
  values.currency ||= 'CZK';
  values.status ||= 'draft';
  return values;
}

/** The values of a new contract form: valid from today, and the client when the link named one. */
export function newContractValues(today: string, client = ''): ContractFormValues {
  return { number: '', client, title: '', validFrom: today, validTo: '', value: '', currency: 'CZK', status: 'draft', note: '', version: '' };
}

/** The edit form's values from a stored contract, the value written back with the user's decimal mark. */
export function contractValues(contract: ContractDetail, sep: ',' | '.'): ContractFormValues {
  return {
    number: contract.number,
    client: String(contract.clientId),
    title: contract.title,
    validFrom: contract.validFrom,
    validTo: contract.validTo ?? '',
    value: moneyInput(contract.value, sep),
    currency: contract.currency,
    status: contract.status,
    note: contract.note ?? '',
    version: contract.updatedAt.toISOString(),
  };
}

const schema = z.object({
  number: requiredText(50),
  client: requiredText(254),
  title: requiredText(200),
  validFrom: requiredDate(),
  validTo: optionalDate(),
  currency: z.enum(CURRENCIES, { message: 'v.choice' }),
  status: z.enum(CONTRACT_STATUSES, { message: 'v.choice' }),
  note: noteField(4000),
});

export interface ContractFormResult {
  values: ContractFormValues;
  errors: FieldErrors;
  client: ClientRef | null;
  input: ContractInput | null;
}

/** Validates the whole contract form at once: fields, value, validity dates, client reference, free number. */
export async function readContractForm(db: Db, form: Record<string, string>, exceptId?: number): Promise<ContractFormResult> {
  const values = contractFormValues(form);
  const parsed = schema.safeParse(values);
  const errors: FieldErrors = parsed.success ? {} : fieldErrors(parsed.error);

  const value = values.value.trim() ? parseMoney(values.value) : { ok: true as const, value: 0n };
  if (!value.ok) errors.value = fieldError(amountErrorKey(value.error));

  const from = parseDateInput(values.validFrom);
  const to = values.validTo.trim() ? parseDateInput(values.validTo) : null;
  if (!errors.validTo && from && to && to < from) errors.validTo = fieldError('contracts.v.to_before_from');

  let client: ClientRef | null = null;
  if (values.client.trim() && !errors.client) {
    const found = await resolveClientRef(db, values.client);
    if (found.ok) client = found.client;
    else errors.client = fieldError(found.error);
  }
  const number = values.number.trim();
  if (number && !errors.number && (await findContractIdByNumber(db, number, exceptId))) {
    errors.number = fieldError('contracts.v.number_taken');
  }
  if (!parsed.success || !value.ok || Object.keys(errors).length || !client) return { values, errors, client, input: null };
  const d = parsed.data;
  return {
    values,
    errors,
    client,
    input: {
      number: d.number,
      clientId: client.id,
      title: d.title,
      validFrom: d.validFrom,
      validTo: d.validTo,
      value: value.value,
      currency: d.currency as Currency,
      status: d.status as ContractStatus,
      note: d.note,
    },
  };
}
