CREATE TABLE `archive_entries` (
	`import_id` text NOT NULL,
	`key` text NOT NULL,
	`name` text NOT NULL,
	`method` integer NOT NULL,
	`flags` integer NOT NULL,
	`crc32` integer NOT NULL,
	`compressed_size` integer NOT NULL,
	`size` integer NOT NULL,
	`local_header_offset` integer NOT NULL,
	`modified` integer NOT NULL,
	PRIMARY KEY(`import_id`, `key`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `archive_relinks` (
	`import_id` text NOT NULL,
	`kind` text NOT NULL,
	`uri` text NOT NULL,
	`item` integer NOT NULL,
	`published` text,
	`visibility` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`retry_at` text,
	PRIMARY KEY(`import_id`, `kind`, `uri`)
);
--> statement-breakpoint
ALTER TABLE `archive_imports` ADD `phase` text DEFAULT 'outbox' NOT NULL;--> statement-breakpoint
ALTER TABLE `archive_imports` ADD `convert` text;--> statement-breakpoint
ALTER TABLE `archive_imports` ADD `converted_bytes` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `archive_imports` ADD `announce` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `archive_imports` ADD `phase_checkpoint` text;--> statement-breakpoint
ALTER TABLE `archive_imports` ADD `boosts_imported` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `archive_imports` ADD `likes_imported` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `archive_imports` ADD `bookmarks_imported` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `archive_imports` ADD `relinks_already` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `archive_imports` ADD `posts_announced` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `archive_imports` ADD `profile` text;--> statement-breakpoint
ALTER TABLE `archive_imports` ADD `profile_state` text;--> statement-breakpoint
ALTER TABLE `archive_imports` ADD `archive_deleted_at` text;