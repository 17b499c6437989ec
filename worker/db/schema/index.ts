/**
 * The single source of truth for Perch's D1 schema, one file per concept. `npm run db:generate` turns
 * changes here into numbered SQL files in migrations/, which wrangler and the tests apply.
 *
 * Ids are numeric strings that sort by time (see lib/ids.ts), stored as TEXT so that JavaScript never
 * rounds them. Every index costs a row written per insert on D1, so indexes are added only for a query
 * that needs them.
 */
export * from "./instance-and-accounts";
export * from "./statuses";
export * from "./social-graph";
export * from "./interactions";
export * from "./markers-and-filters";
export * from "./oauth-and-owner";
export * from "./federation";
export * from "./relays-and-media-cache";
export * from "./usage";
export * from "./moves";
export * from "./imports";
export * from "./archive-imports";
export * from "./archive-exports";
