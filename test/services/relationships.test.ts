import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { follows, mutes, notifications } from "../../worker/db/schema";
import { newId } from "../../worker/lib/ids";
import {
  block,
  blockDomain,
  blockedDomains,
  domainIsBlocked,
  hiddenAccountIds,
  isBlockedBy,
  isBlocking,
  isMuted,
  isMutingNotifications,
  mute,
  normalizeDomain,
  RelationshipError,
  unblock,
  unblockDomain,
  unmute,
} from "../../worker/services/relationships";
import { remoteAccount } from "../helpers/api";
import { ACTOR, testCtx } from "../helpers/app";
import { owner, process, rows } from "../helpers/inbox";

let send: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
});
afterEach(() => vi.restoreAllMocks());

describe("hiddenAccountIds", () => {
  it("holds blocked and muted accounts, not expired mutes", async () => {
    const ctx = testCtx();
    const bob = await remoteAccount("bob");
    const carol = await remoteAccount("carol");
    const dan = await remoteAccount("dan");
    expect(await hiddenAccountIds(ctx)).toEqual(new Set());
    await block(ctx, bob);
    await mute(ctx, carol, { durationSeconds: 60 });
    await mute(ctx, dan);
    expect(await hiddenAccountIds(ctx)).toEqual(new Set([bob.id, carol.id, dan.id]));
    await ctx.db.update(mutes).set({ expiresAt: "2001-01-01T00:00:00.000Z" });
    expect(await hiddenAccountIds(ctx)).toEqual(new Set([bob.id]));
    expect(await isMuted(ctx, carol.id)).toBe(false);
  });
});

describe("mutes", () => {
  it("tells whether an account and its notifications are muted", async () => {
    const ctx = testCtx();
    const bob = await remoteAccount("bob");
    expect(await isMuted(ctx, bob.id)).toBe(false);
    await mute(ctx, bob, { notifications: false });
    expect(await isMuted(ctx, bob.id)).toBe(true);
    expect(await isMutingNotifications(ctx, bob.id)).toBe(false);
    await mute(ctx, bob);
    expect(await isMutingNotifications(ctx, bob.id)).toBe(true);
    await unmute(ctx, bob);
    expect(await isMuted(ctx, bob.id)).toBe(false);
  });

  it("refuses to mute the owner", async () => {
    await expect(mute(testCtx(), await owner())).rejects.toBeInstanceOf(RelationshipError);
  });
});

describe("blocks", () => {
  it("knows blocks in both directions; unblocking what is not blocked sends nothing", async () => {
    const ctx = testCtx();
    const bob = await remoteAccount("bob");
    expect(await isBlocking(ctx, bob.id)).toBe(false);
    await unblock(ctx, bob);
    expect(send).not.toHaveBeenCalled();
    expect(await isBlockedBy(ctx, bob.id)).toBe(false);
    await process({ id: `${bob.uri}#b`, type: "Block", actor: bob.uri, object: ACTOR });
    expect(await isBlockedBy(ctx, bob.id)).toBe(true);
    await block(ctx, bob);
    expect(await isBlocking(ctx, bob.id)).toBe(true);
    await unblock(ctx, bob);
    expect(await isBlocking(ctx, bob.id)).toBe(false);
    expect(send).toHaveBeenCalledTimes(2);
  });
});

describe("domain blocks", () => {
  it("normalizes domains and refuses what is not one", () => {
    expect(normalizeDomain(" Spam.Example. ")).toBe("spam.example");
    expect(normalizeDomain("https://spam.example:8443/path")).toBe("spam.example");
    expect(normalizeDomain("spam")).toBeNull();
    expect(normalizeDomain("a b.example")).toBeNull();
  });

  it("blockedDomains and domainIsBlocked cover subdomains", async () => {
    const ctx = testCtx();
    await blockDomain(ctx, "spam.example");
    const set = await blockedDomains(ctx);
    expect(set).toEqual(new Set(["spam.example"]));
    expect(domainIsBlocked(set, "spam.example")).toBe(true);
    expect(domainIsBlocked(set, "a.spam.example")).toBe(true);
    expect(domainIsBlocked(set, "notspam.example")).toBe(false);
    await unblockDomain(ctx, "SPAM.example");
    expect(await blockedDomains(ctx)).toEqual(new Set());
    await expect(blockDomain(ctx, "example.com")).rejects.toBeInstanceOf(RelationshipError);
  });
});

describe("cleaning up notifications", () => {
  it("a block clears the account's notifications, a domain block those of the domain", async () => {
    const ctx = testCtx();
    const bob = await remoteAccount("bob");
    const carol = await remoteAccount("carol", "spam.example");
    const dan = await remoteAccount("dan", "other.example");
    for (const a of [bob, carol, dan])
      await ctx.db
        .insert(notifications)
        .values({ id: newId(), type: "follow", fromAccountId: a.id, groupKey: `follow-${a.id}` });
    await block(ctx, bob);
    const from = async () =>
      (await rows<{ from_account_id: string }>("SELECT from_account_id FROM notifications")).map(
        (r) => r.from_account_id,
      );
    expect((await from()).sort()).toEqual([carol.id, dan.id].sort());
    await blockDomain(ctx, "spam.example");
    expect(await from()).toEqual([dan.id]);
  });
});

describe("a domain block covers subdomains", () => {
  it("ends follows with and clears notifications from subdomain accounts, never the owner's", async () => {
    const ctx = testCtx();
    const me = await owner();
    const sub = await remoteAccount("sub", "a.spam.example");
    const other = await remoteAccount("other", "notspam.example");
    for (const a of [sub, other, me])
      await ctx.db
        .insert(notifications)
        .values({ id: newId(), type: "follow", fromAccountId: a.id, groupKey: `follow-${a.id}` });
    await ctx.db.insert(follows).values({
      id: newId(),
      accountId: sub.id,
      targetAccountId: me.id,
      uri: `${sub.uri}#follow`,
      accepted: true,
    });
    await blockDomain(ctx, "spam.example");
    const from = (await rows<{ from_account_id: string }>("SELECT from_account_id FROM notifications")).map(
      (r) => r.from_account_id,
    );
    expect(from.sort()).toEqual([other.id, me.id].sort());
    expect(await rows("SELECT * FROM follows")).toEqual([]);
    // The follower was told: a Reject of its Follow.
    expect(send).toHaveBeenCalled();
  });
});
