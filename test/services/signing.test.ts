import { afterEach, describe, expect, it } from "vitest";
import { testCtx } from "../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { rows } from "../helpers/inbox";
import { fetchDocument } from "../../worker/services/signing";
import { importPublicKeyPem, verifyRequest } from "../../worker/lib/http-signatures";

const URL_ = "https://strict.example/users/carol";
const doc = { id: URL_, type: "Person", preferredUsername: "carol", inbox: `${URL_}/inbox` };

afterEach(() => restoreFetch());

describe("signed fetches", () => {
  it("are signed by the instance actor with draft-cavage, verifiable with its public key", async () => {
    const ctx = testCtx();
    const key = await importPublicKeyPem((await ctx.instance()).row.appRsaPublicKeyPem);
    let verdict: unknown;
    mockFetch({
      [URL_]: async (req) => {
        verdict = await verifyRequest(req, async () => key, { body: null });
        return activityJson(doc);
      },
    });
    await fetchDocument(ctx, URL_);
    expect(verdict).toMatchObject({
      ok: true,
      scheme: "cavage",
      keyId: "https://social.example.com/actor#main-key",
    });
  });

  it("retry a 401 once with RFC 9421 and remember that the host wants it", async () => {
    const schemes: string[] = [];
    mockFetch({
      [URL_]: (req) => {
        const scheme = req.headers.has("signature-input") ? "rfc9421" : "cavage";
        schemes.push(scheme);
        return scheme === "rfc9421" ? activityJson(doc) : new Response("signature required", { status: 401 });
      },
    });
    expect((await fetchDocument(testCtx(), URL_)).document).toEqual(doc);
    await fetchDocument(testCtx(), URL_);
    expect(schemes).toEqual(["cavage", "rfc9421", "rfc9421"]);
    expect(await rows("SELECT host, signature_scheme FROM hosts")).toEqual([
      { host: "strict.example", signature_scheme: "rfc9421" },
    ]);
  });
});
