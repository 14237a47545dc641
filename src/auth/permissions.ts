/**
 * Every permission Posel knows, in one catalogue. Roles hold sets of these; each route names the one
 * it needs. The administrator role always holds all of them (so an admin can never lock everyone out).
 * Labels live in the i18n catalogue under `perm.<name>`.
 */
export const PERMISSIONS = [
  'clients.view',
  'clients.manage',
  'orders.view',
  'orders.manage',
  'contracts.view',
  'contracts.manage',
  'activities.view',
  'activities.manage',
  'lists.manage',
  'import.run',
  'messages.view',
  'messages.create',
  'messages.edit',
  'messages.edit_generated',
  'messages.delete',
  'messages.send',
  'messages.resend',
  'messages.export',
  'templates.manage',
  'campaigns.run',
  'settings.manage',
  'users.manage',
  'audit.view',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/** Keys of the roles created by the first migration. */
export const BUILT_IN_ROLES = ['admin', 'manager', 'staff', 'viewer'] as const;
export const ADMIN_ROLE = 'admin';

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/** Groups for the role × permission matrix: the part before the dot. */
export function permissionGroups(): { group: string; permissions: Permission[] }[] {
  const groups = new Map<string, Permission[]>();
  for (const p of PERMISSIONS) {
    const g = p.slice(0, p.indexOf('.'));
    groups.set(g, [...(groups.get(g) ?? []), p]);
  }
  return [...groups].map(([group, permissions]) => ({ group, permissions }));
}
