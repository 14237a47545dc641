import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { NotFoundError } from '../errors.ts';
import { readForm, type FieldErrors } from '../http/forms.ts';
import { PAGE_SIZE, pageParam, sortParam } from '../http/listing.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, isPartial, redirect, render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { communicationTab } from '../messages/queries.ts';
import { clientPickerRoutes } from '../orders/client-picker-routes.ts';
import { getClientRef, type ClientRef } from '../orders/client-picker.ts';
import { addDays, CURRENCIES, FieldRuleError, idQuery, routeId, todayIn } from '../orders/fields.ts';
import { contractValues, newContractValues, readContractForm, type ContractFormValues } from './form.ts';
import {
  CONTRACT_SORTS,
  CONTRACT_STATUSES,
  EXPIRING_DAYS,
  getContract,
  listContracts,
  type ContractDetail,
  type ContractSort,
  type ContractStatus,
} from './queries.ts';
import { changeContractStatus, createContract, updateContract, type ContractInput } from './service.ts';

export const contractsRoutes = new Hono<AppEnv>();

type Ctx = Context<AppEnv>;
const db = (c: Ctx) => c.get('deps').database.db;

/** Fragment for htmx table swaps, but the whole page when htmx restores history (it sends HX-Request then too). */
const isStatus = (v: string | undefined): v is ContractStatus => (CONTRACT_STATUSES as readonly string[]).includes(v ?? '');
const today = (c: Ctx) => todayIn(c.get('deps').config.TIMEZONE);

const DEFAULT_SORT = '-validFrom';
/** The direction a column sorts in when first clicked: dates newest first, text A–Z, value largest first. */
const FIRST_DIR: Record<ContractSort, '' | '-'> = { validFrom: '-', validTo: '', number: '', title: '', value: '-' };

// ---------------------------------------------------------------------------------------------- list

contractsRoutes.get('/', requirePermission('contracts.view'), async (c) => {
  const q = (c.req.query('q') ?? '').trim().slice(0, 200);
  const status = c.req.query('status');
  const clientId = idQuery(c.req.query('client'));
  const expiring = c.req.query('expiring') === '1';
  const sort = sortParam<ContractSort>(c.req.query('sort'), CONTRACT_SORTS, DEFAULT_SORT);
  const page = pageParam(c.req.query('page'));
  const now = today(c);
  const soon = addDays(now, EXPIRING_DAYS);
  const filter = {
    q: q || undefined,
    status: isStatus(status) ? status : undefined,
    clientId,
    expiring: expiring ? { from: now, to: soon } : undefined,
  };
  const [{ rows, total }, clientFilter] = await Promise.all([
    listContracts(db(c), { ...filter, sort: sort.key, dir: sort.dir, page, pageSize: PAGE_SIZE }),
    clientId ? getClientRef(db(c), clientId) : undefined,
  ]);
  const filterQs = { q, status: filter.status, client: clientId, expiring, sort: sort.raw === DEFAULT_SORT ? undefined : sort.raw };
  const sortLinks = Object.fromEntries(
    CONTRACT_SORTS.map((key) => {
      const next = sort.key === key ? (sort.dir === 'asc' ? `-${key}` : key) : `${FIRST_DIR[key]}${key}`;
      return [key, { sort: next === DEFAULT_SORT ? undefined : next, current: sort.key === key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : null }];
    }),
  );
  const data = {
    rows,
    total,
    page,
    pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
    clientFilter,
    statuses: CONTRACT_STATUSES,
    form: { q, status: filter.status ?? '', client: c.req.query('client') ?? '', expiring },
    filterQs,
    filtered: !!(q || filter.status || clientId || expiring),
    sortLinks,
    today: now,
    soon,
  };
  return render(c, isPartial(c) ? 'contracts/_rows.njk' : 'contracts/index.njk', data);
});

// ---------------------------------------------------------------------------------------------- client picker

contractsRoutes.route('/', clientPickerRoutes('contracts.manage', '/contracts'));

// ---------------------------------------------------------------------------------------------- form

interface FormPage {
  values: ContractFormValues;
  errors: FieldErrors;
  contract?: { id: number; number: string };
  client?: ClientRef | null;
}

function renderForm(c: Ctx, page: FormPage, status = 200): Response {
  const t = c.get('t');
  return render(
    c,
    'contracts/form.njk',
    {
      ...page,
      isNew: !page.contract,
      action: page.contract ? `/contracts/${page.contract.id}` : '/contracts',
      pickerBase: '/contracts',
      statusOptions: CONTRACT_STATUSES.map((s) => ({ value: s, label: t(`contracts.status.${s}`) })),
      currencyOptions: CURRENCIES.map((cur) => ({ value: cur, label: cur })),
    },
    status,
  );
}

/** A POST of the contract form: validated, then `save`d; field errors come back at 422 with the input kept. */
async function handleContractPost(c: Ctx, contract: ContractDetail | undefined, save: (input: ContractInput, version: string) => Promise<number>) {
  const result = await readContractForm(db(c), await readForm(c), contract?.id);
  if (result.input) {
    try {
      const id = await save(result.input, result.values.version);
      return redirect(c, `/contracts/${id}`);
    } catch (error) {
      if (!(error instanceof FieldRuleError)) throw error;
      result.errors[error.field] = { key: error.messageKey, params: {} };
    }
  }
  return renderForm(c, { values: result.values, errors: result.errors, contract, client: result.client }, 422);
}

contractsRoutes.get('/new', requirePermission('contracts.manage'), async (c) => {
  const clientId = idQuery(c.req.query('client'));
  const client = clientId ? await getClientRef(db(c), clientId) : undefined;
  return renderForm(c, { values: newContractValues(today(c), client ? String(client.id) : ''), errors: {}, client: client ?? null });
});

contractsRoutes.post('/', requirePermission('contracts.manage'), (c) =>
  handleContractPost(c, undefined, async (input) => {
    const id = await createContract(db(c), input, auditActor(c));
    flash(c, 'success', 'contracts.created');
    return id;
  }),
);

// ---------------------------------------------------------------------------------------------- one contract

async function loadContract(c: Ctx): Promise<ContractDetail> {
  const id = routeId(c.req.param('id'));
  const contract = id ? await getContract(db(c), id) : undefined;
  if (!contract) throw new NotFoundError();
  return contract;
}

contractsRoutes.get('/:id{[0-9]+}', requirePermission('contracts.view'), async (c) => {
  const contract = await loadContract(c);
  const now = today(c);
  const tab = c.req.query('tab') === 'communication' ? 'communication' : 'details';
  const communication =
    tab === 'communication' && c.get('user')!.permissions.has('messages.view') ? await communicationTab(db(c), { contractId: contract.id }) : null;
  return render(c, 'contracts/detail.njk', {
    contract,
    tab,
    communication,
    statuses: CONTRACT_STATUSES,
    today: now,
    soon: addDays(now, EXPIRING_DAYS),
  });
});

contractsRoutes.get('/:id{[0-9]+}/edit', requirePermission('contracts.manage'), async (c) => {
  const contract = await loadContract(c);
  const sep = c.get('locale') === 'cs' ? ',' : '.';
  return renderForm(c, { values: contractValues(contract, sep), errors: {}, contract, client: contract.client });
});

contractsRoutes.post('/:id{[0-9]+}', requirePermission('contracts.manage'), async (c) => {
  const contract = await loadContract(c);
  return handleContractPost(c, contract, async (input, version) => {
    const changed = await updateContract(db(c), contract.id, input, auditActor(c), version || undefined);
    flash(c, changed ? 'success' : 'info', changed ? 'contracts.updated' : 'contracts.unchanged');
    return contract.id;
  });
});

const statusForm = z.object({ status: z.enum(CONTRACT_STATUSES) });

contractsRoutes.post('/:id{[0-9]+}/status', requirePermission('contracts.manage'), async (c) => {
  const contract = await loadContract(c);
  const parsed = statusForm.safeParse(await readForm(c));
  if (!parsed.success) flash(c, 'error', 'contracts.status_invalid');
  else if (await changeContractStatus(db(c), contract.id, parsed.data.status, auditActor(c))) {
    flash(c, 'success', 'contracts.status_changed', { status: c.get('t')(`contracts.status.${parsed.data.status}`) });
  }
  return redirect(c, `/contracts/${contract.id}`);
});
