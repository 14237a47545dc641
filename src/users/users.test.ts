import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, rolePermissions, roles, sessions, users } from '../db/schema/index.ts';
import { ADMIN, addUser, createAdminApp, createTestApp, signIn, type TestClient } from '../test-support/harness.ts';

let t: Awaited<ReturnType<typeof createTestApp>>;
let admin: TestClient;
const roleId = async (key: string) => (await t.db.select().from(roles).where(eq(roles.key, key)))[0]!.id;
const userByEmail = async (email: string) => (await t.db.select().from(users).where(eq(users.email, email)))[0];

beforeAll(async () => {
  [t, admin] = await createAdminApp();
});
afterAll(() => t.close());

describe('users', () => {
  it('lists users with search, ignoring diacritics', async () => {
    await addUser(t.database, 'staff', 'zdenek@firma.cz');
    const all = await (await admin.get('/users')).text();
    expect(all).toContain('zdenek@firma.cz');
    expect(all).toContain(ADMIN.email);
    const found = await (await admin.get('/users?q=novakova')).text();
    expect(found).toContain(ADMIN.email);
    expect(found).not.toContain('zdenek@firma.cz');
    const partial = await admin.get('/users?q=zdenek', { 'HX-Request': 'true' });
    const fragment = await partial.text();
    expect(fragment).not.toContain('<html');
    expect(fragment).toContain('zdenek@firma.cz');
  });

  it('creates a user, logging who did it', async () => {
    const res = await admin.post('/users', {
      name: 'Petr Svoboda', email: 'Petr.Svoboda@firma.cz', roleId: String(await roleId('staff')), locale: 'en', password: 'Petrovo heslo 2026',
    });
    expect(res.status).toBe(303);
    const user = await userByEmail('petr.svoboda@firma.cz');
    expect(user).toMatchObject({ name: 'Petr Svoboda', locale: 'en', active: true });
    const [row] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'user.created'), eq(auditLog.objectId, String(user!.id))));
    expect(row).toMatchObject({ actorName: ADMIN.name, result: 'ok' });
    expect(JSON.stringify(row)).not.toContain('Petrovo heslo');
    await signIn(t.client(), 'petr.svoboda@firma.cz', 'Petrovo heslo 2026');
  });

  it('keeps the form input and shows each error next to its field', async () => {
    const res = await admin.post('/users', { name: '', email: ADMIN.email, roleId: '999', locale: 'xx', password: '123' });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain(`value="${ADMIN.email}"`);
    expect(html).toMatch(/id="e-name"[^>]*>Vyplňte prosím toto pole/);
    expect(html).toMatch(/id="e-locale"[^>]*>Vyberte jednu z nabízených možností/);
    expect(html).toMatch(/id="e-password"[^>]*>Heslo musí mít alespoň 10 znaků/);
    const taken = await admin.post('/users', { name: 'Dvojník', email: ADMIN.email, roleId: String(await roleId('staff')), locale: 'cs', password: 'Dlouhé heslo 2026' });
    expect(taken.status).toBe(422);
    expect(await taken.text()).toMatch(/id="e-email"[^>]*>Uživatel s tímto e-mailem už existuje/);
  });

  it('deactivating a user ends their sessions at once', async () => {
    const id = await addUser(t.database, 'staff', 'odchazi@firma.cz', 'Heslo odcházejícího');
    const them = t.client();
    await signIn(them, 'odchazi@firma.cz', 'Heslo odcházejícího');
    expect((await them.get('/')).status).toBe(200);
    const res = await admin.post(`/users/${id}/deactivate`, {});
    expect(res.status).toBe(303);
    expect(await t.db.select().from(sessions).where(eq(sessions.userId, id))).toHaveLength(0);
    expect((await them.get('/')).status).toBe(303);
    const retry = await t.client().post('/login', { email: 'odchazi@firma.cz', password: 'Heslo odcházejícího' });
    expect(retry.status).toBe(401);
  });

  it('never deactivates or demotes the last active administrator', async () => {
    const me = (await userByEmail(ADMIN.email))!;
    const res = await admin.post(`/users/${me.id}/deactivate`, {});
    expect(res.status).toBe(303);
    expect(await (await admin.get(`/users/${me.id}`)).text()).toContain('Posledního aktivního administrátora');
    const demote = await admin.post(`/users/${me.id}`, { name: me.name, email: me.email, roleId: String(await roleId('staff')), locale: 'cs' });
    expect(demote.status).toBe(422);
    expect((await userByEmail(ADMIN.email))).toMatchObject({ active: true, roleId: await roleId('admin') });
  });

  it('allows demoting an administrator when another one remains', async () => {
    const id = await addUser(t.database, 'admin', 'druhy.admin@firma.cz');
    const res = await admin.post(`/users/${id}`, { name: 'Druhý', email: 'druhy.admin@firma.cz', roleId: String(await roleId('manager')), locale: 'cs' });
    expect(res.status).toBe(303);
    expect((await userByEmail('druhy.admin@firma.cz'))!.roleId).toBe(await roleId('manager'));
  });
});

describe('roles and permissions', () => {
  it('toggles one permission inline (htmx) and logs it', async () => {
    const viewer = await roleId('viewer');
    const res = await admin.post(`/roles/${viewer}/permissions/messages.send`, { grant: [`${viewer}:messages.send`, `${viewer}:clients.view`] }, { 'HX-Request': 'true' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<input[^>]*id="p-\d+-messages\.send"[^>]*checked/);
    expect(html).toContain('hx-swap-oob');
    const granted = await t.db.select().from(rolePermissions).where(and(eq(rolePermissions.roleId, viewer), eq(rolePermissions.permission, 'messages.send')));
    expect(granted).toHaveLength(1);
    const [row] = await t.db.select().from(auditLog).where(eq(auditLog.action, 'role.permission_granted'));
    expect(row).toMatchObject({ objectType: 'role', objectId: String(viewer) });

    await admin.post(`/roles/${viewer}/permissions/messages.send`, {}, { 'HX-Request': 'true' });
    expect(await t.db.select().from(rolePermissions).where(and(eq(rolePermissions.roleId, viewer), eq(rolePermissions.permission, 'messages.send')))).toHaveLength(0);
  });

  it('saves the whole matrix from the plain form (no JavaScript)', async () => {
    const staff = await roleId('staff');
    const viewer = await roleId('viewer');
    const res = await admin.post('/roles/matrix', { grant: [`${staff}:clients.view`, `${viewer}:audit.view`, 'junk', `${staff}:no.such`] });
    expect(res.status).toBe(303);
    const staffPerms = await t.db.select().from(rolePermissions).where(eq(rolePermissions.roleId, staff));
    expect(staffPerms.map((p) => p.permission)).toEqual(['clients.view']);
    const viewerPerms = await t.db.select().from(rolePermissions).where(eq(rolePermissions.roleId, viewer));
    expect(viewerPerms.map((p) => p.permission)).toEqual(['audit.view']);
  });

  it('gives a permission to the users of the role at once', async () => {
    await addUser(t.database, 'viewer', 'ctenar@firma.cz', 'Heslo čtenáře 2026');
    const reader = t.client();
    await signIn(reader, 'ctenar@firma.cz', 'Heslo čtenáře 2026');
    expect((await reader.get('/audit')).status).toBe(200); // granted in the previous test
    const viewer = await roleId('viewer');
    await admin.post(`/roles/${viewer}/permissions/audit.view`, {}, { 'HX-Request': 'true' });
    expect((await reader.get('/audit')).status).toBe(403);
  });

  it('keeps the administrator role complete', async () => {
    const adminRole = await roleId('admin');
    await admin.post(`/roles/${adminRole}/permissions/users.manage`, {}, { 'HX-Request': 'true' });
    expect((await admin.get('/users')).status).toBe(200);
    const html = await (await admin.get('/roles')).text();
    expect(html).toMatch(new RegExp(`id="p-${adminRole}-users\\.manage"[^>]*checked[^>]*disabled`, 's'));
  });

  it('creates, renames and deletes a role; a role in use cannot be deleted', async () => {
    const bad = await admin.post('/roles', { name: '' });
    expect(bad.status).toBe(422);
    await admin.post('/roles', { name: 'Účetní', description: 'Faktury' });
    const [role] = await t.db.select().from(roles).where(eq(roles.name, 'Účetní'));
    expect((await admin.post(`/roles/${role!.id}`, { name: 'Účetní oddělení', description: '' })).status).toBe(303);
    const id = await addUser(t.database, 'staff', 'ucetni@firma.cz');
    await t.db.update(users).set({ roleId: role!.id }).where(eq(users.id, id));
    await admin.post(`/roles/${role!.id}/delete`, {});
    expect(await t.db.select().from(roles).where(eq(roles.id, role!.id))).toHaveLength(1);
    await t.db.update(users).set({ roleId: await roleId('staff') }).where(eq(users.id, id));
    await admin.post(`/roles/${role!.id}/delete`, {});
    expect(await t.db.select().from(roles).where(eq(roles.id, role!.id))).toHaveLength(0);
    expect((await admin.post(`/roles/${await roleId('viewer')}/delete`, {})).status).toBe(303);
    expect(await t.db.select().from(roles).where(eq(roles.key, 'viewer'))).toHaveLength(1);
  });
});
