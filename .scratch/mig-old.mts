import { openPglite } from './src/db/client.ts';
import { sql } from 'drizzle-orm';
const d = await openPglite(process.argv[2]!);
await d.migrate();
await d.db.execute(sql`insert into messages (message_id_header, subject, body_blob, search) values ('<a@x>', 'Žluťoučký kůň', 'b', to_tsvector('posel_unaccent', 'Žluťoučký kůň')), ('<b@x>', 'prázdná', 'b', ''::tsvector)`);
await d.close();
console.log('old ok');
