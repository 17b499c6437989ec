import { afterEach, describe, expect, it } from "vitest";
import { api } from "../helpers/api";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { HOSTILE_URLS, NOT_HTTP_URLS, nonHttpUrls } from "../helpers/hostile";
import { ownerFollows, process, rows } from "../helpers/inbox";
import { createRemoteActor } from "../helpers/remote-actor";

const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
const GOOD_IMAGE = "https://remote.example/media/ok.png";

afterEach(() => restoreFetch());

/** An actor document with `url` in every field that holds a URL. */
function hostileActor(url: string): Record<string, unknown> {
  return {
    url,
    icon: [url, { type: "Image", url }, { type: "Image", url: { type: "Link", href: url } }],
    image: { type: "Image", url },
    outbox: url,
    followers: url,
    following: url,
    featured: url,
    endpoints: { sharedInbox: url },
    alsoKnownAs: [url],
    movedTo: url,
    summary: `<p>bio <a href="${url}">click</a> <a href='${url}'>here</a></p>`,
    attachment: [
      { type: "PropertyValue", name: "site", value: `<a href="${url}" rel="me">click</a>` },
      { type: "PropertyValue", name: "other", value: `<p><a href='${url}'>there</a></p>` },
    ],
  };
}

/** A note with `url` in every field that holds a URL, and one attachment that is fine. */
function hostileNote(actorId: string, url: string): Record<string, unknown> {
  return {
    id: `${actorId}/statuses/1`,
    type: "Note",
    attributedTo: actorId,
    content: `<p>see <a href="${url}">click</a> <a href='${url}' class="mention">@x</a></p>`,
    published: "2026-11-20T10:00:00Z",
    to: [PUBLIC],
    cc: [`${actorId}/followers`],
    url: [url, { type: "Link", mediaType: "text/html", href: url }],
    inReplyTo: url,
    tag: [
      { type: "Mention", href: url, name: "@x@remote.example" },
      { type: "Hashtag", href: url, name: "#birds" },
      { type: "Emoji", name: ":blob:", icon: { type: "Image", url } },
    ],
    attachment: [
      { type: "Document", mediaType: "image/png", url, name: "one" },
      { type: "Document", mediaType: "image/png", url: { type: "Link", href: url }, name: "two" },
      { type: "Image", mediaType: "image/png", url: GOOD_IMAGE, icon: { type: "Image", url }, name: "ok" },
    ],
  };
}

describe("remote URLs that are not http(s) never reach a client", () => {
  it.each([...NOT_HTTP_URLS, ...HOSTILE_URLS])(
    "drops %j from every field of an actor and a note, from the inbox to the Mastodon API",
    async (url) => {
      const bob = await createRemoteActor("https://remote.example/users/bob", hostileActor(url));
      mockFetch({ [bob.id]: () => activityJson(bob.document) });
      const account = await ownerFollows(bob.document);
      await process({
        id: `${bob.id}/statuses/1/activity`,
        type: "Create",
        actor: bob.id,
        object: hostileNote(bob.id, url),
      });
      const [stored] = await rows<{ id: string }>("SELECT id FROM statuses");
      expect(stored, "the note is stored").toBeDefined();

      const status = await api("GET", `/api/v1/statuses/${stored!.id}`);
      expect(status.status).toBe(200);
      const profile = await api("GET", `/api/v1/accounts/${account.id}`);
      expect(profile.status).toBe(200);
      expect(nonHttpUrls(status.body)).toEqual([]);
      expect(nonHttpUrls(profile.body)).toEqual([]);
      // What is valid is kept: the good attachment, and the fields' and links' text.
      // (served through the media proxy; remote_url keeps the original)
      expect(status.body.media_attachments.map((m: { remote_url: string }) => m.remote_url)).toEqual([
        GOOD_IMAGE,
      ]);
      expect(status.body.content).toContain("click");
      expect(profile.body.fields.map((f: { name: string }) => f.name)).toEqual(["site", "other"]);
      // Nor is any of it stored.
      expect(nonHttpUrls(await rows("SELECT * FROM accounts"))).toEqual([]);
      expect(nonHttpUrls(await rows("SELECT * FROM statuses"))).toEqual([]);
    },
  );
});
