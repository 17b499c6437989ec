import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../worker/config";
import { openDb } from "../../worker/db/client";
import { IdentityLockedError, loadInstance, markFederated } from "../../worker/services/instance";

const config = (vars: Record<string, string>) => readConfig({ ...env, ...vars });

describe("the local identity", () => {
  it("is created once, with keys, on first start, even when two requests race", async () => {
    const db = openDb(env.DB);
    const [a, b] = await Promise.all([loadInstance(db, config({})), loadInstance(db, config({}))]);
    expect(a.row.rsaPublicKeyPem).toBe(b.row.rsaPublicKeyPem);
    expect(a.owner.id).toBe(b.owner.id);
    const owners = await env.DB.prepare("SELECT count(*) AS n FROM accounts WHERE local = 1").first<{
      n: number;
    }>();
    expect(owners?.n).toBe(1);
  });

  it("adopts a changed domain before the server has federated", async () => {
    const db = openDb(env.DB);
    await loadInstance(db, config({}));
    const moved = await loadInstance(db, config({ WEB_DOMAIN: "new.example.com" }));
    expect(moved.row.webDomain).toBe("new.example.com");
    expect(moved.owner.uri).toBe("https://new.example.com/users/alice");
  });

  it("refuses a changed domain or username once federated, saying what changed and why", async () => {
    const db = openDb(env.DB);
    await loadInstance(db, config({}));
    await markFederated(db);
    await expect(loadInstance(db, config({ WEB_DOMAIN: "new.example.com" }))).rejects.toThrow(
      IdentityLockedError,
    );
    await expect(loadInstance(db, config({ USERNAME: "bob" }))).rejects.toThrow(
      /USERNAME from "alice" to "bob".*breaking every follower relationship/,
    );
    await expect(loadInstance(db, config({ ACCOUNT_DOMAIN: "other.example" }))).rejects.toThrow(
      /ACCOUNT_DOMAIN/,
    );
    // The unchanged configuration still works.
    await expect(loadInstance(db, config({}))).resolves.toBeTruthy();
  });
});
