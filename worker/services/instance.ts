import { eq, sql } from "drizzle-orm";
import type { Config } from "../config";
import { d1Of, type Account, type DB, type InstanceRow } from "../db/client";
import { accounts, instance } from "../db/schema";
import { uris } from "../federation/uris";
import { generateRsaKeyPair } from "../lib/http-signatures";
import { newId } from "../lib/ids";
import { generateEd25519KeyPair } from "../lib/multikey";

export interface Instance {
  row: InstanceRow;
  owner: Account;
}

/** Raised on every request once the identity has federated and the configuration no longer matches. */
export class IdentityLockedError extends Error {
  override name = "IdentityLockedError";
}

/**
 * Loads the local identity and keys. On first start it creates them (keys are generated once and
 * kept in D1). Before the server has federated, a changed domain or username is adopted; after, it is
 * refused, because every follower and every signature elsewhere refers to the old URIs.
 */
export async function loadInstance(db: DB, config: Config): Promise<Instance> {
  let found = await readInstance(db);
  if (!found) {
    await createInstance(db, config);
    found = await readInstance(db);
    if (!found) throw new Error("instance row missing right after creating it");
  }
  const { row, owner } = found;
  const changed = identityChanges(row, config);
  if (changed.length === 0) return found;
  if (row.federatedAt) {
    throw new IdentityLockedError(
      `This server has federated as @${row.username}@${row.accountDomain} (actor on ${row.webDomain}) since ` +
        `${row.federatedAt}, and the configuration now changes ${changed.join(", ")}. ` +
        "Changing it would give the account new URIs that no follower, follow or signature elsewhere knows, " +
        "breaking every follower relationship. Restore the previous values (or start a new database).",
    );
  }
  await adoptIdentity(db, config, owner.id);
  const again = await readInstance(db);
  if (!again) throw new Error("instance row missing after adopting the new identity");
  return again;
}

function identityChanges(row: InstanceRow, config: Config): string[] {
  const changes: string[] = [];
  if (row.accountDomain !== config.accountDomain)
    changes.push(`ACCOUNT_DOMAIN from "${row.accountDomain}" to "${config.accountDomain}"`);
  if (row.webDomain !== config.webDomain)
    changes.push(`WEB_DOMAIN from "${row.webDomain}" to "${config.webDomain}"`);
  if (row.username !== config.username)
    changes.push(`USERNAME from "${row.username}" to "${config.username}"`);
  return changes;
}

async function readInstance(db: DB): Promise<Instance | undefined> {
  const rows = await db
    .select({ row: instance, owner: accounts })
    .from(instance)
    .innerJoin(accounts, eq(accounts.id, instance.ownerId))
    .where(eq(instance.id, 1))
    .limit(1);
  return rows[0];
}

async function createInstance(db: DB, config: Config): Promise<void> {
  const [rsa, appRsa, ed] = await Promise.all([
    generateRsaKeyPair(),
    generateRsaKeyPair(),
    generateEd25519KeyPair(),
  ]);
  const ownerId = newId();
  const u = uris(config);
  // Two concurrent first requests may race here: the loser's statements do nothing, and both read
  // the winner's row afterwards. The owner is inserted only if its instance row won, in the same batch
  // (D1's transaction), so there is never an instance without its owner.
  const d1 = d1Of(db);
  await d1.batch([
    d1
      .prepare(
        `INSERT INTO instance (id, account_domain, web_domain, username, owner_id, rsa_public_key_pem, rsa_private_key,
           ed25519_public_key, ed25519_private_key, app_rsa_public_key_pem, app_rsa_private_key)
         VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      )
      .bind(
        config.accountDomain,
        config.webDomain,
        config.username,
        ownerId,
        rsa.publicKeyPem,
        rsa.privateKey,
        ed.publicKeyMultibase,
        ed.privateKeyMultibase,
        appRsa.publicKeyPem,
        appRsa.privateKey,
      ),
    d1
      .prepare(
        `INSERT INTO accounts (id, uri, url, local, type, username, domain, display_name)
         SELECT ?, ?, ?, 1, 'Person', ?, ?, ? WHERE (SELECT owner_id FROM instance WHERE id = 1) = ?
         ON CONFLICT DO NOTHING`,
      )
      .bind(ownerId, u.actor, u.profileUrl, config.username, config.accountDomain, config.username, ownerId),
  ]);
}

async function adoptIdentity(db: DB, config: Config, ownerId: string): Promise<void> {
  const u = uris(config);
  await db.batch([
    db
      .update(instance)
      .set({ accountDomain: config.accountDomain, webDomain: config.webDomain, username: config.username })
      .where(eq(instance.id, 1)),
    db
      .update(accounts)
      .set({ uri: u.actor, url: u.profileUrl, username: config.username, domain: config.accountDomain })
      .where(eq(accounts.id, ownerId)),
  ]);
}

/** Records that the server has federated: from now on its identity is locked. */
export async function markFederated(db: DB): Promise<void> {
  await db.run(
    sql`UPDATE instance SET federated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = 1 AND federated_at IS NULL`,
  );
}
