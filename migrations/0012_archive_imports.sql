CREATE TABLE `archive_imports` (
	`id` text PRIMARY KEY NOT NULL,
	`state` text DEFAULT 'uploading' NOT NULL,
	`filename` text NOT NULL,
	`size` integer NOT NULL,
	`key` text NOT NULL,
	`upload_id` text NOT NULL,
	`part_size` integer NOT NULL,
	`checkpoint` text,
	`carry` text,
	`lease_until` text,
	`failures` integer DEFAULT 0 NOT NULL,
	`items` integer DEFAULT 0 NOT NULL,
	`posts_imported` integer DEFAULT 0 NOT NULL,
	`posts_already` integer DEFAULT 0 NOT NULL,
	`media_imported` integer DEFAULT 0 NOT NULL,
	`polls_imported` integer DEFAULT 0 NOT NULL,
	`error` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`finished_at` text
);
--> statement-breakpoint
CREATE TABLE `archive_posts` (
	`old_uri` text PRIMARY KEY NOT NULL,
	`status_id` text NOT NULL,
	`old_url` text NOT NULL,
	`import_id` text NOT NULL,
	`chunk` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `archive_skips` (
	`import_id` text NOT NULL,
	`item` integer NOT NULL,
	`kind` text NOT NULL,
	`ref` text NOT NULL,
	`reason` text NOT NULL,
	PRIMARY KEY(`import_id`, `item`, `kind`, `ref`)
);
--> statement-breakpoint
CREATE TABLE `archive_upload_parts` (
	`import_id` text NOT NULL,
	`part_number` integer NOT NULL,
	`etag` text NOT NULL,
	`size` integer NOT NULL,
	PRIMARY KEY(`import_id`, `part_number`)
);
