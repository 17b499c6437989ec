-- inbox_seen is written once per incoming activity. As a WITHOUT ROWID table its primary key is the
-- table itself, so an insert costs D1 one row written instead of two (row + primary-key index).
-- drizzle-kit cannot express WITHOUT ROWID, hence this custom migration; the columns match schema.ts.
DROP TABLE `inbox_seen`;--> statement-breakpoint
CREATE TABLE `inbox_seen` (
	`activity_id` text PRIMARY KEY NOT NULL,
	`received_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
) WITHOUT ROWID;
