export * from './users.ts';
export * from './audit.ts';
export * from './clients.ts';
export * from './orders.ts';
export * from './contracts.ts';
export * from './activities.ts';
export * from './settings.ts';
