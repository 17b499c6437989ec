import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { activityJson, mockFetch, restoreFetch } from "../../helpers/fetch-mock";
import { ownerFollows, process, rows } from "../../helpers/inbox";
import { createRemoteActor, type RemoteActor } from "../../helpers/remote-actor";
import { PermanentError } from "../../../worker/federation/inbox";

const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
let bob: RemoteActor;
let carol: RemoteActor;
beforeEach(async () => {
  bob = await createRemoteActor("https://remote.example/users/bob");
  carol = await createRemoteActor("https://other.example/users/carol");
  mockFetch({ [bob.id]: () => activityJson(bob.document), [carol.id]: () => activityJson(carol.document) });
  await ownerFollows(bob.document);
  await process({ id: `${note.id}/activity`, type: "Create", actor: bob.id, object: note });
});
afterEach(() => restoreFetch());

const note = {
  id: "https://remote.example/users/bob/statuses/1",
  type: "Note",
  attributedTo: "https://remote.example/users/bob",
  content: "<p>first</p>",
  to: [PUBLIC],
};

describe("Update", () => {
  it("of a note by its author replaces the content and records the edit", async () => {
    await process({
      id: `${note.id}#updates/1`,
      type: "Update",
      actor: bob.id,
      object: { ...note, content: "<p>second</p>", updated: "2026-11-21T00:00:00Z" },
    });
    expect(await rows("SELECT content, edited_at FROM statuses")).toEqual([
      { content: "<p>second</p>", edited_at: "2026-11-21T00:00:00Z" },
    ]);
  });

  it("of a note by someone else is refused and changes nothing", async () => {
    const forged = { ...note, attributedTo: carol.id, content: "<p>hijacked</p>" };
    // Carol cannot even claim the object: it is not on her host, so the fast path would refuse it;
    // and if she claims authorship the consumer refuses it as well.
    await expect(
      process({ id: `${carol.id}#u`, type: "Update", actor: carol.id, object: forged }),
    ).rejects.toThrow();
    expect(await rows("SELECT content FROM statuses")).toEqual([{ content: "<p>first</p>" }]);
  });

  it("of the actor's own profile updates the stored account", async () => {
    await process({
      id: `${bob.id}#updates/p`,
      type: "Update",
      actor: bob.id,
      object: { ...bob.document, name: "Robert" },
    });
    expect(await rows("SELECT display_name FROM accounts WHERE uri = ?", bob.id)).toEqual([
      { display_name: "Robert" },
    ]);
  });

  it("of another actor's profile is refused", async () => {
    await expect(
      process({
        id: `${bob.id}#updates/p`,
        type: "Update",
        actor: bob.id,
        object: { ...carol.document, name: "Evil" },
      }),
    ).rejects.toThrow(PermanentError);
  });
});

describe("Delete", () => {
  it("of a note by its author turns it into a tombstone", async () => {
    await process({
      id: `${note.id}#delete`,
      type: "Delete",
      actor: bob.id,
      object: { id: note.id, type: "Tombstone" },
    });
    const [s] = await rows<{ deleted_at: string | null; content: string }>(
      "SELECT deleted_at, content FROM statuses",
    );
    expect(s?.deleted_at).toBeTruthy();
    expect(s?.content).toBe("");
  });

  it("of a note by someone else changes nothing", async () => {
    await process({ id: `${carol.id}#delete`, type: "Delete", actor: carol.id, object: note.id });
    expect(await rows("SELECT deleted_at FROM statuses")).toEqual([{ deleted_at: null }]);
  });

  it("of the actor itself removes everything held of that account", async () => {
    await process({ id: `${bob.id}#delete`, type: "Delete", actor: bob.id, object: bob.id });
    expect(await rows("SELECT * FROM statuses")).toEqual([]);
    expect(await rows("SELECT * FROM follows")).toEqual([]);
    expect(await rows("SELECT * FROM accounts WHERE uri = ?", bob.id)).toEqual([]);
    expect(await rows("SELECT * FROM remote_keys WHERE owner_uri = ?", bob.id)).toEqual([]);
  });
});
