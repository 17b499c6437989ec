-- Issue 9: maintained counts on accounts and statuses (backfilled below from the rows they count),
-- and Perch's own metering per hour. usage_hours and queue_stats are WITHOUT ROWID (hand edit:
-- drizzle-kit cannot express it), so each counter update writes one row.
CREATE TABLE `queue_stats` (
	`queue` text NOT NULL,
	`hour` text NOT NULL,
	`sent` integer DEFAULT 0 NOT NULL,
	`processed` integer DEFAULT 0 NOT NULL,
	`retried` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`max_lag_ms` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`queue`, `hour`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `usage_hours` (
	`hour` text PRIMARY KEY NOT NULL,
	`requests` integer DEFAULT 0 NOT NULL,
	`queue_batches` integer DEFAULT 0 NOT NULL,
	`subrequests` integer DEFAULT 0 NOT NULL,
	`d1_queries` integer DEFAULT 0 NOT NULL,
	`d1_rows_read` integer DEFAULT 0 NOT NULL,
	`d1_rows_written` integer DEFAULT 0 NOT NULL,
	`queue_ops` integer DEFAULT 0 NOT NULL,
	`r2_class_a` integer DEFAULT 0 NOT NULL,
	`r2_class_b` integer DEFAULT 0 NOT NULL,
	`max_subrequests` integer DEFAULT 0 NOT NULL,
	`max_d1_queries` integer DEFAULT 0 NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
ALTER TABLE `accounts` ADD `followers_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `accounts` ADD `following_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `accounts` ADD `statuses_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `accounts` ADD `last_status_at` text;--> statement-breakpoint
ALTER TABLE `statuses` ADD `replies_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `statuses` ADD `reblogs_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `statuses` ADD `favourites_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE `accounts` SET
	`followers_count` = (SELECT count(*) FROM `follows` f WHERE f.`target_account_id` = `accounts`.`id` AND f.`accepted` = 1),
	`following_count` = (SELECT count(*) FROM `follows` f WHERE f.`account_id` = `accounts`.`id` AND f.`accepted` = 1),
	`statuses_count` = (SELECT count(*) FROM `statuses` s WHERE s.`account_id` = `accounts`.`id` AND s.`deleted_at` IS NULL),
	`last_status_at` = (SELECT strftime('%Y-%m-%dT%H:%M:%fZ', (CAST(max(CAST(s.`id` AS INTEGER)) AS INTEGER) >> 16) / 1000.0, 'unixepoch')
		FROM `statuses` s WHERE s.`account_id` = `accounts`.`id` AND s.`deleted_at` IS NULL);--> statement-breakpoint
UPDATE `statuses` SET
	`replies_count` = (SELECT count(*) FROM `statuses` r WHERE r.`in_reply_to_uri` = `statuses`.`uri` AND r.`deleted_at` IS NULL),
	`reblogs_count` = (SELECT count(*) FROM `statuses` b WHERE b.`reblog_of_id` = `statuses`.`id` AND b.`deleted_at` IS NULL),
	`favourites_count` = (SELECT count(*) FROM `favourites` f WHERE f.`status_id` = `statuses`.`id` AND f.`emoji` IS NULL)
	WHERE `statuses`.`deleted_at` IS NULL;
