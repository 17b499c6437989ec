import { afterEach, describe, expect, it } from "vitest";
import { api } from "../helpers/api";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { strings } from "../helpers/hostile";
import { ownerFollows, process, rows } from "../helpers/inbox";
import { createRemoteActor } from "../helpers/remote-actor";

const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
/** NUL, a C0 control, ESC (terminal sequences), DEL and a C1 control. */
const CONTROLS = "\u0000\u0001\u001b\u007f\u009b";
const STORED_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

afterEach(() => restoreFetch());

/** Every string of the rows (JSON columns included) that holds a control character. */
function withControls(values: unknown): string[] {
  return strings(values)
    .filter(([, s]) => STORED_CONTROL.test(s))
    .map(([path, s]) => `${path}: ${JSON.stringify(s)}`);
}

describe("control characters in remote documents are not stored", () => {
  it("strips them from every text of an actor and of a note, a poll and its attachments", async () => {
    const c = CONTROLS;
    const bob = await createRemoteActor("https://remote.example/users/bob", {
      name: `Bo${c}b`,
      summary: `<p>bio${c} &#0;text&#x1b;</p>`,
      attachment: [
        { type: "PropertyValue", name: `Si${c}te`, value: `<a href="https://remote.example/">x${c}</a>` },
      ],
    });
    mockFetch({ [bob.id]: () => activityJson(bob.document) });
    const account = await ownerFollows(bob.document);
    await process({
      id: `${bob.id}/statuses/1/activity`,
      type: "Create",
      actor: bob.id,
      object: {
        id: `${bob.id}/statuses/1`,
        type: "Question",
        attributedTo: bob.id,
        content: `<p>Pick${c} one &#0;</p>`,
        contentMap: { en: `<p>Pick${c} one</p>` },
        summary: `spoiler${c}`,
        published: "2026-11-20T10:00:00Z",
        to: [PUBLIC],
        cc: [`${bob.id}/followers`],
        oneOf: [
          { type: "Note", name: `yes${c}`, replies: { type: "Collection", totalItems: 1 } },
          { type: "Note", name: `no${c}`, replies: { type: "Collection", totalItems: 2 } },
        ],
        endTime: "2026-12-01T10:00:00Z",
        tag: [
          { type: "Hashtag", href: "https://remote.example/tags/birds", name: `#bir${c}ds` },
          { type: "Mention", href: "https://remote.example/users/carol", name: `@car${c}ol` },
        ],
        attachment: [
          {
            type: "Document",
            mediaType: "image/png",
            url: "https://remote.example/a.png",
            name: `alt${c} text`,
          },
        ],
      },
    });
    const [status] = await rows<Record<string, unknown>>("SELECT * FROM statuses");
    expect(status, "the note is stored").toBeDefined();
    expect(withControls(status)).toEqual([]);
    expect(withControls(await rows("SELECT * FROM accounts WHERE id = ?", account.id))).toEqual([]);
    expect(withControls(await rows("SELECT * FROM status_tags"))).toEqual([]);
    // The text around them is kept.
    expect(status).toMatchObject({ spoiler_text: "spoiler" });
    expect(JSON.parse(status!.poll as string).options.map((o: { name: string }) => o.name)).toEqual([
      "yes",
      "no",
    ]);
    expect(JSON.parse(status!.attachments as string)[0].name).toBe("alt text");
    const entity = await api("GET", `/api/v1/accounts/${account.id}`);
    expect(entity.body).toMatchObject({ display_name: "Bob", fields: [{ name: "Site" }] });
  });
});
