-- Full-text search over statuses (FTS5, which D1 supports). drizzle-kit cannot describe virtual
-- tables, so this migration is written by hand. Rows are added in bulk by the search indexer
-- (services/search.ts), not on every insert, so the inbox's rows-written budget is unchanged.
CREATE VIRTUAL TABLE `status_search` USING fts5(
	`status_id` UNINDEXED,
	`text`,
	tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
-- status_tags is written for every stored status with hashtags; as a WITHOUT ROWID table each row
-- costs one row written instead of two. The columns match schema.ts.
DROP TABLE `status_tags`;--> statement-breakpoint
CREATE TABLE `status_tags` (
	`name` text NOT NULL,
	`status_id` text NOT NULL,
	PRIMARY KEY(`name`, `status_id`)
) WITHOUT ROWID;
