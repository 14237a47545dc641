-- The search vector moves out of the message row into a table of its own, so that changes of state
-- (the sender's claims and outcomes rewrite the row) no longer re-index its words in the GIN index.
-- The vectors are copied before the column goes; the index is built after the copy (faster than row by row).
CREATE TABLE "message_search" (
	"message_id" integer PRIMARY KEY NOT NULL,
	"search" "tsvector" NOT NULL
);
--> statement-breakpoint
INSERT INTO "message_search" ("message_id", "search") SELECT "id", "search" FROM "messages" WHERE "search" <> ''::tsvector;--> statement-breakpoint
DROP INDEX "messages_search_idx";--> statement-breakpoint
ALTER TABLE "message_search" ADD CONSTRAINT "message_search_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "message_search_idx" ON "message_search" USING gin ("search");--> statement-breakpoint
ALTER TABLE "messages" DROP COLUMN "search";
