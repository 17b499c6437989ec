CREATE TABLE `login_throttle` (
	`key` text PRIMARY KEY NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`locked_until` text,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
ALTER TABLE `favourites` ADD `emoji_url` text;--> statement-breakpoint
ALTER TABLE `hosts` ADD `failing_since` text;--> statement-breakpoint
ALTER TABLE `oauth_codes` ADD `used_at` text;--> statement-breakpoint
ALTER TABLE `oauth_codes` ADD `token_hash` text;--> statement-breakpoint
ALTER TABLE `owner_login` DROP COLUMN `failures`;--> statement-breakpoint
ALTER TABLE `owner_login` DROP COLUMN `locked_until`;