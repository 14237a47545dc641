import { customType } from 'drizzle-orm/pg-core';

/** A tsvector column (generated in SQL from the row's searchable text; never written by the app). */
export const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });
