CREATE TABLE "test_mailbox" (
	"id" serial PRIMARY KEY NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"envelope_from" text DEFAULT '' NOT NULL,
	"envelope_to" text DEFAULT '' NOT NULL,
	"subject" text DEFAULT '' NOT NULL,
	"message_id_header" text,
	"blob_id" text NOT NULL,
	"size_bytes" integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX "test_mailbox_received_idx" ON "test_mailbox" USING btree ("received_at","id");