import { Hono, type Context } from 'hono';
import { NotFoundError } from '../errors.ts';
import { readForm } from '../http/forms.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, isPartial, redirect, render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { applyPreset, emptyForm, formFromAccount, parseAccountForm, SECURITY_OPTIONS, type AccountFormValues } from './form.ts';
import { PRESETS, presetByKey, presetForHost } from './presets.ts';
import { DEFAULT_MODES, getSendDefaults, MAIL_KINDS, readSendDefaults, saveSendDefaults } from './send-defaults.ts';
import { getAccount, listAccounts, toView, waitingFor, type AccountRow } from './queries.ts';
import { createAccount, deleteAccount, makeDefault, resumeAccount, testAccount, updateAccount, type TestResult } from './service.ts';

/** /settings: SMTP accounts (list, form, presets, test connection). */
export const settingsRoutes = new Hono<AppEnv>();

type Ctx = Context<AppEnv>;
const db = (c: Ctx) => c.get('deps').database.db;

/** The account named by the URL, or a 404 (ids out of int range included). */
async function loadAccount(c: Ctx): Promise<AccountRow> {
  const raw = c.req.param('id') ?? '';
  const account = /^\d{1,9}$/.test(raw) ? await getAccount(db(c), Number(raw)) : undefined;
  if (!account) throw new NotFoundError();
  return account;
}

/** What the form page needs besides the values: presets with their data, the choices, the account. */
function formPage(
  c: Ctx,
  data: { values: AccountFormValues; errors: Record<string, unknown>; account?: AccountRow; passwordTyped?: boolean; test?: TestResult | null; sendMail?: boolean },
  status = 200,
) {
  return render(
    c,
    'settings/form.njk',
    {
      ...data,
      isNew: !data.account,
      account: data.account ? toView(data.account) : null,
      presets: PRESETS,
      preset: presetByKey(data.values.preset) ?? null,
      securityOptions: SECURITY_OPTIONS,
      userEmail: c.get('user')?.email ?? '',
      test: data.test ?? null,
    },
    status,
  );
}

/** The administration entry of the menu: the sections this user may open (each page checks its own permission). */
const SECTIONS = [
  { href: '/settings/accounts', key: 'nav.accounts', hint: 'settings.section.accounts', permission: 'settings.manage' },
  { href: '/settings/sending', key: 'nav.send_defaults', hint: 'settings.section.send_defaults', permission: 'settings.manage' },
  { href: '/users', key: 'nav.users', hint: 'settings.section.users', permission: 'users.manage' },
  { href: '/roles', key: 'nav.roles', hint: 'settings.section.roles', permission: 'users.manage' },
  { href: '/test-mailbox', key: 'nav.test_mailbox', hint: 'settings.section.test_mailbox', permission: 'messages.view' },
] as const;

settingsRoutes.get('/', (c) => {
  const permissions = c.get('user')?.permissions;
  const sections = SECTIONS.filter((s) => permissions?.has(s.permission));
  if (!sections.length) return c.text('Forbidden', 403);
  return render(c, 'settings/home.njk', { sections });
});

settingsRoutes.get('/sending', requirePermission('settings.manage'), async (c) =>
  render(c, 'settings/sending.njk', { values: await getSendDefaults(db(c)), kinds: MAIL_KINDS, modes: DEFAULT_MODES, invalid: false }),
);

settingsRoutes.post('/sending', requirePermission('settings.manage'), async (c) => {
  const form = await readForm(c);
  const value = readSendDefaults(form);
  if (!value) return render(c, 'settings/sending.njk', { values: form, kinds: MAIL_KINDS, modes: DEFAULT_MODES, invalid: true }, 422);
  await saveSendDefaults(db(c), auditActor(c), value);
  flash(c, 'success', 'settings.send_defaults.saved');
  return redirect(c, '/settings/sending');
});

settingsRoutes.get('/accounts', requirePermission('settings.manage'), async (c) => {
  return render(c, 'settings/index.njk', { accounts: await listAccounts(db(c)), presets: PRESETS });
});

settingsRoutes.get('/accounts/new', requirePermission('settings.manage'), (c) => {
  const values = applyPreset(emptyForm(), c.req.query('preset'));
  return formPage(c, { values, errors: {} });
});

/** Shared by create and update: "Use preset" re-renders the form filled; otherwise validate and save. */
async function saveAccount(c: Ctx, account: AccountRow | undefined) {
  const form = await readForm(c);
  const passwordTyped = (form.password ?? '') !== '';
  // The password is never sent back to the page; the form asks to type it again.
  const echoed: AccountFormValues = { ...form, password: '' };
  if (form.usePreset) {
    return formPage(c, { values: applyPreset(echoed, form.preset), errors: {}, ...(account ? { account } : {}), passwordTyped });
  }
  const parsed = parseAccountForm(form);
  if (!parsed.ok) return formPage(c, { values: echoed, errors: parsed.errors, ...(account ? { account } : {}), passwordTyped }, 422);
  if (account) {
    await updateAccount(db(c), c.get('deps').store, account.id, parsed.data, auditActor(c));
    flash(c, 'success', 'settings.updated', { name: parsed.data.name });
  } else {
    await createAccount(db(c), c.get('deps').store, parsed.data, auditActor(c));
    flash(c, 'success', 'settings.created', { name: parsed.data.name });
  }
  c.get('deps').sender?.wake();
  return redirect(c, '/settings/accounts');
}

settingsRoutes.post('/accounts', requirePermission('settings.manage'), (c) => saveAccount(c, undefined));

settingsRoutes.get('/accounts/:id{[0-9]+}/edit', requirePermission('settings.manage'), async (c) => {
  const account = await loadAccount(c);
  return formPage(c, { values: formFromAccount(account, presetForHost(account.host)), errors: {}, account });
});

settingsRoutes.post('/accounts/:id{[0-9]+}', requirePermission('settings.manage'), async (c) => saveAccount(c, await loadAccount(c)));

// Without JavaScript the confirmation is a page of its own; it says where the waiting messages go.
settingsRoutes.get('/accounts/:id{[0-9]+}/delete', requirePermission('settings.manage'), async (c) => {
  const account = await loadAccount(c);
  const others = (await listAccounts(db(c))).filter((a) => a.id !== account.id);
  return render(c, 'settings/delete.njk', {
    account: toView(account),
    waiting: await waitingFor(db(c), account.id),
    nextDefault: account.isDefault ? (others[0] ?? null) : (others.find((a) => a.isDefault) ?? null),
  });
});

settingsRoutes.post('/accounts/:id{[0-9]+}/delete', requirePermission('settings.manage'), async (c) => {
  const account = await loadAccount(c);
  const { waiting, newDefault } = await deleteAccount(db(c), account.id, auditActor(c));
  flash(c, 'success', newDefault ? 'settings.deleted_new_default' : 'settings.deleted', { name: account.name, waiting, default: newDefault?.name ?? '' });
  c.get('deps').sender?.wake();
  return redirect(c, '/settings/accounts');
});

settingsRoutes.post('/accounts/:id{[0-9]+}/default', requirePermission('settings.manage'), async (c) => {
  const account = await loadAccount(c);
  await makeDefault(db(c), account.id, auditActor(c));
  flash(c, 'success', 'settings.made_default', { name: account.name });
  c.get('deps').sender?.wake();
  return redirect(c, '/settings/accounts');
});

settingsRoutes.post('/accounts/:id{[0-9]+}/resume', requirePermission('settings.manage'), async (c) => {
  const account = await loadAccount(c);
  const resumed = await resumeAccount(db(c), account.id, auditActor(c));
  flash(c, resumed ? 'success' : 'info', resumed ? 'settings.resumed' : 'settings.not_paused', { name: account.name });
  c.get('deps').sender?.wake();
  return redirect(c, '/settings/accounts');
});

// Verify (and optionally send a test mail to the signed-in user); htmx swaps the result in, else a full page.
settingsRoutes.post('/accounts/:id{[0-9]+}/test', requirePermission('settings.manage'), async (c) => {
  const account = await loadAccount(c);
  const form = await readForm(c);
  const user = c.get('user')!;
  const t = c.get('t');
  const sendMail = Boolean(form.sendMail);
  const test = await testAccount(
    db(c),
    c.get('deps').store,
    account.id,
    {
      sendTo: sendMail ? { address: user.email, name: user.name } : null,
      subject: t('settings.test.mail_subject', { name: account.name }),
      html: `<p>${escapeHtml(t('settings.test.mail_body', { name: account.name, host: `${account.host}:${account.port}` }))}</p>`,
    },
    auditActor(c),
  );
  const data = { test, account: toView(account), sendMail, userEmail: user.email };
  if (isPartial(c)) return render(c, 'settings/_test_result.njk', data);
  return formPage(c, { values: formFromAccount(account, presetForHost(account.host)), errors: {}, account, test, sendMail });
});

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
