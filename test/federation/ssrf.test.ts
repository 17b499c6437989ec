import { afterEach, describe, expect, it } from "vitest";
import { ACTOR, request } from "../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { ownerFollows, process } from "../helpers/inbox";
import { createRemoteActor } from "../helpers/remote-actor";

afterEach(() => restoreFetch());

/** Names that public DNS, a cluster's DNS or a cloud's metadata service map to private addresses. */
const INTERNAL = [
  "https://localhost./users/x",
  "https://metadata.google.internal./computeMetadata/v1/instance",
  "https://10.0.0.1.nip.io/users/x",
  "https://app.127.0.0.1.sslip.io/users/x",
  "https://kubernetes.default.svc/api/v1/secrets",
  "https://kubernetes.default.svc.cluster.local./api",
  "https://[::ffff:a9fe:a9fe]/latest/meta-data",
];

describe("a remote sender cannot make Perch fetch an internal address", () => {
  it.each(INTERNAL)("does not fetch %s named as an Announce's object", async (target) => {
    const bob = await createRemoteActor("https://remote.example/users/bob");
    const mock = mockFetch({ [bob.id]: () => activityJson(bob.document), [target]: () => activityJson({}) });
    await ownerFollows(bob.document);
    const announce = { id: `${bob.id}/statuses/9/activity`, type: "Announce", actor: bob.id, object: target };
    await process(announce).catch(() => undefined);
    expect(mock.calls.map((r) => new URL(r.url).host)).not.toContain(new URL(target).host);
  });

  it.each(INTERNAL)("does not fetch a signature's keyId at %s", async (target) => {
    const origin = new URL(target).origin;
    const evil = await createRemoteActor(`${origin}/users/evil`);
    const mock = mockFetch({ [evil.id]: () => activityJson(evil.document) });
    const follow = { id: `${evil.id}#follow`, type: "Follow", actor: evil.id, object: ACTOR };
    const res = await request(await evil.post(`${ACTOR}/inbox`, follow));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(mock.calls).toEqual([]);
  });
});
