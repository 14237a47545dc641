import { openPglite, rowsOf } from '../src/db/client.ts';
import { sql } from 'drizzle-orm';
const d = await openPglite(process.argv[2]!);
await d.migrate();
console.log(rowsOf(await d.db.execute(sql`select m.subject, s.search is not null as has from messages m left join message_search s on s.message_id = m.id order by m.id`)));
console.log(rowsOf(await d.db.execute(sql`select message_id from message_search where search @@ to_tsquery('posel_unaccent', 'zlutoucky')`)));
await d.close();
