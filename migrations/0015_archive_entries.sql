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
