import { afterEach, describe, expect, it, vi } from "vitest";
import { follows, lists, type ImportKind } from "../../../worker/db/schema";
import { newId } from "../../../worker/lib/ids";
import { findAccountByHandle } from "../../../worker/services/account-queries";
import { resolveHandleOrUrl } from "../../../worker/services/accounts";
import { unbookmark } from "../../../worker/services/bookmarks";
import { followAccount, unfollow } from "../../../worker/services/following";
import { exportCsv, type ExportName } from "../../../worker/services/imports/exports";
import { blockDomain, mute, unblock } from "../../../worker/services/relationships";
import { deleteList } from "../../../worker/services/lists";
import { findStatusByUri } from "../../../worker/services/remote-statuses";
import { testCtx } from "../../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../../helpers/fetch-mock";
import { remotePeople, runToEnd, startImport } from "./helpers";

afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

const PEOPLE = ["ann", "bob", "cat", "dan", "eve", "fay", "gus"].map((n) => `${n}@b.example`);
const NOTE = "https://b.example/users/ann/statuses/1";
const note = {
  "@context": "https://www.w3.org/ns/activitystreams",
  id: NOTE,
  type: "Note",
  attributedTo: "https://b.example/users/ann",
  content: "<p>Hello</p>",
  published: "2026-11-30T10:00:00Z",
  to: ["https://www.w3.org/ns/activitystreams#Public"],
  cc: [],
};

/** What each export is imported back as. */
const KIND_OF: Partial<Record<ExportName, ImportKind>> = {
  following_accounts: "following",
  blocked_accounts: "blocking",
  muted_accounts: "muting",
  blocked_domains: "domain_blocking",
  bookmarks: "bookmarks",
  lists: "lists",
};

async function setUp() {
  const ctx = testCtx();
  mockFetch({ ...(await remotePeople(PEOPLE)), [NOTE]: () => activityJson(note) });
  // The state, made by importing files as Mastodon writes them.
  const files: [ImportKind, string][] = [
    [
      "following",
      'Account address,Show boosts,Notify on new posts,Languages\nann@b.example,false,true,"en, de"\n',
    ],
    ["following", "bob@b.example\n"],
    ["blocking", "dan@b.example\n"],
    ["muting", "Account address,Hide notifications\neve@b.example,false\n"],
    ["muting", "fay@b.example\n"],
    ["domain_blocking", "spam.example\nscam.example\n"],
    ["bookmarks", `${NOTE}\n`],
    ["lists", '"Close, friends",ann@b.example\nWork,bob@b.example\n'],
  ];
  for (const [kind, csv] of files) await runToEnd(ctx, (await startImport(ctx, kind, "merge", csv)).id);
  // cat follows the owner.
  const { owner } = await ctx.instance();
  const cat = await resolveHandleOrUrl(ctx, "cat@b.example");
  await ctx.db.insert(follows).values({
    id: newId(),
    accountId: cat.id,
    targetAccountId: owner.id,
    uri: "https://b.example/follows/1",
    accepted: true,
  });
  return ctx;
}

async function exportAll(ctx: ReturnType<typeof testCtx>) {
  const out: Partial<Record<ExportName, string>> = {};
  for (const name of [
    "following_accounts",
    "follower_accounts",
    "blocked_accounts",
    "muted_accounts",
    "blocked_domains",
    "bookmarks",
    "lists",
  ] as const)
    out[name] = await exportCsv(ctx, name);
  return out as Record<ExportName, string>;
}

describe("exports", { timeout: 30_000 }, () => {
  it("write each file byte for byte as Mastodon does: its headers, true/false, quotes only where needed, LF", async () => {
    const ctx = await setUp();
    expect(await exportAll(ctx)).toEqual({
      // Newest follow first, as Mastodon orders them; no languages is an empty last field.
      following_accounts:
        "Account address,Show boosts,Notify on new posts,Languages\n" +
        "bob@b.example,true,false,\n" +
        'ann@b.example,false,true,"en, de"\n',
      follower_accounts: "cat@b.example\n",
      blocked_accounts: "dan@b.example\n",
      // A mute without the column hides notifications, as on Mastodon.
      muted_accounts: "Account address,Hide notifications\nfay@b.example,true\neve@b.example,false\n",
      blocked_domains: "spam.example\nscam.example\n",
      bookmarks: `${NOTE}\n`,
      lists: '"Close, friends",ann@b.example\nWork,bob@b.example\n',
    });
  });

  it("import back, in overwrite mode, to the state they were exported from", async () => {
    const ctx = await setUp();
    const before = await exportAll(ctx);
    // Change everything: a follow gone and one added, a block lifted, a mute changed, another
    // domain, the bookmark gone, a list deleted.
    const ann = await findAccountByHandle(ctx, "ann@b.example");
    const dan = await findAccountByHandle(ctx, "dan@b.example");
    const eve = await findAccountByHandle(ctx, "eve@b.example");
    if (!ann || !dan || !eve) throw new Error("accounts not stored");
    await unfollow(ctx, ann);
    await followAccount(ctx, await resolveHandleOrUrl(ctx, "gus@b.example"));
    await unblock(ctx, dan);
    await mute(ctx, eve, { notifications: true });
    await blockDomain(ctx, "other.example");
    await unbookmark(ctx, (await findStatusByUri(ctx, NOTE))?.id ?? "");
    for (const l of await ctx.db.select().from(lists)) await deleteList(ctx, l.id);
    const changed = await exportAll(ctx);
    for (const name of Object.keys(KIND_OF) as ExportName[])
      expect(changed[name], name).not.toBe(before[name]);

    for (const [name, kind] of Object.entries(KIND_OF) as [ExportName, ImportKind][])
      await runToEnd(ctx, (await startImport(ctx, kind, "overwrite", before[name])).id);

    const after = await exportAll(ctx);
    // The same lines; re-made follows and lists are newer, so their order may differ.
    const lines = (s: string) => s.split("\n").sort();
    for (const name of Object.keys(before) as ExportName[])
      expect(lines(after[name]), name).toEqual(lines(before[name]));
  });
});
