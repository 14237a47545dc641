import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` turns changes in src/db/schema into a new SQL file in migrations/.
// Hand-written SQL (text search, triggers, seeds) is added with `drizzle-kit generate --custom`.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: './migrations',
});
