import { afterEach, describe, expect, it } from "vitest";
import { testCtx } from "../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { process, rows } from "../helpers/inbox";
import { createRemoteActor } from "../helpers/remote-actor";
import { InvalidActorError, storeActor } from "../../worker/services/accounts";
import { ACTOR } from "../helpers/app";

afterEach(() => restoreFetch());

const actor = (preferredUsername: string) => ({
  id: "https://remote.example/users/1",
  type: "Person",
  preferredUsername,
  inbox: "https://remote.example/users/1/inbox",
});

describe("remote usernames", () => {
  it.each([
    "Gargron@mastodon.social",
    "bob@its.host",
    "@bob",
    "bob smith",
    " bob",
    "bob\t",
    "bob\u0000",
    "bob\u001b[31m",
    "bob\u202egnp.exe",
    "bob\u3000",
    ".bob",
    "bob-",
    "",
    "b".repeat(101),
  ])("refuses an actor whose username is %j with InvalidActorError", async (name) => {
    await expect(storeActor(testCtx(), actor(name))).rejects.toBeInstanceOf(InvalidActorError);
    expect(await rows("SELECT * FROM accounts WHERE local = 0")).toEqual([]);
  });

  it.each([
    "bob",
    "Bob_Smith",
    "bob.smith",
    "bob-smith",
    "social.example.com",
    "ジョン",
    "Zoë",
    "हिन्दी",
    "b".repeat(100),
  ])("stores an actor whose username is %j as it is", async (name) => {
    const account = await storeActor(testCtx(), actor(name));
    expect(account.username).toBe(name);
  });

  it("refuses, at the inbox, an activity whose actor has an invalid username", async () => {
    const evil = await createRemoteActor("https://its.host/users/gargron", {
      preferredUsername: "Gargron@mastodon.social",
    });
    mockFetch({ [evil.id]: () => activityJson(evil.document) });
    const follow = { id: `${evil.id}#follow`, type: "Follow", actor: evil.id, object: ACTOR };
    await expect(process(follow)).rejects.toBeInstanceOf(InvalidActorError);
    expect(await rows("SELECT * FROM accounts WHERE local = 0")).toEqual([]);
    expect(await rows("SELECT * FROM follows")).toEqual([]);
  });
});
