import type { Context } from 'hono';
import { listClientActivities } from '../activities/queries.ts';
import type { Permission } from '../auth/permissions.ts';
import { listClientContracts } from '../contracts/queries.ts';
import type { AppEnv } from '../http/types.ts';
import { listClientLists } from '../lists/queries.ts';
import { communicationTab } from '../messages/queries.ts';
import { listClientOrders } from '../orders/queries.ts';

/** The tabs of a client's detail page, each shown only to users who may see its records. */
export const CLIENT_TABS = ['details', 'orders', 'contracts', 'activities', 'lists', 'communication'] as const;
export const TAB_PERMISSION: Record<string, Permission> = {
  details: 'clients.view',
  orders: 'orders.view',
  contracts: 'contracts.view',
  activities: 'activities.view',
  lists: 'clients.view',
  communication: 'messages.view',
};

/** Loads only what the chosen tab shows (the page is one request; other tabs are plain links). */
export async function clientDetailTab(c: Context<AppEnv>, clientId: number, tab: string): Promise<Record<string, unknown>> {
  const db = c.get('deps').database.db;
  const user = c.get('user')!;
  const visibleTabs = CLIENT_TABS.filter((t) => user.permissions.has(TAB_PERMISSION[t]!));
  if (!visibleTabs.includes(tab as never)) return { visibleTabs, tab: 'details' };
  switch (tab) {
    case 'orders':
      return { visibleTabs, orders: await listClientOrders(db, clientId) };
    case 'contracts':
      return { visibleTabs, contracts: await listClientContracts(db, clientId) };
    case 'activities':
      return { visibleTabs, activities: await listClientActivities(db, clientId) };
    case 'lists':
      return { visibleTabs, lists: await listClientLists(db, clientId) };
    case 'communication':
      return { visibleTabs, communication: await communicationTab(db, { clientId }) };
    default:
      return { visibleTabs };
  }
}
