import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { p, readInput, readParsed } from "../../worker/api/input";
import { readPage, setLink } from "../../worker/api/pagination";
import { HttpError } from "../../worker/lib/errors";

/** A tiny app that echoes what readInput makes of a request, rendering HttpErrors like the real one. */
const app = new Hono();
app.all("/echo", async (c) => c.json(await readInput(c, { maxFileBody: 1024 })));
app.post("/status", async (c) =>
  c.json(
    await readParsed(
      c,
      z.object({
        status: p.str(20),
        sensitive: p.bool().optional(),
        media_ids: p.list(p.id(), 4).optional(),
        poll: z.object({ options: p.list(p.str(50), 4), expires_in: p.int(300, 1000) }).optional(),
      }),
    ),
  ),
);
app.get("/page", (c) => {
  const page = readPage(c);
  setLink(c, ["30", "20", "10"]);
  return c.json(page);
});
app.onError((e, c) =>
  e instanceof HttpError ? c.json({ error: e.message }, e.status as 400) : c.json({ error: "500" }, 500),
);

const post = (path: string, body: BodyInit, type?: string) =>
  app.request(path, { method: "POST", body, headers: type ? { "content-type": type } : {} });

describe("readInput", () => {
  it("reads Rails bracket notation from forms: nested objects and arrays", async () => {
    const res = await post(
      "/echo?from=query",
      "status=hi&media_ids[]=1&media_ids[]=2&poll[options][]=a&poll[options][]=b&poll[expires_in]=600&fields_attributes[0][name]=x&fields_attributes[1][name]=y",
      "application/x-www-form-urlencoded",
    );
    expect(await res.json()).toEqual({
      from: "query",
      status: "hi",
      media_ids: ["1", "2"],
      poll: { options: ["a", "b"], expires_in: "600" },
      fields_attributes: { "0": { name: "x" }, "1": { name: "y" } },
    });
  });

  it("reads Rails arrays of hashes (`a[][key]`), starting a new hash when a key repeats", async () => {
    const res = await post(
      "/echo",
      "keywords_attributes[][keyword]=cat&keywords_attributes[][whole_word]=true&keywords_attributes[][keyword]=dog",
      "application/x-www-form-urlencoded",
    );
    expect(await res.json()).toEqual({
      keywords_attributes: [{ keyword: "cat", whole_word: "true" }, { keyword: "dog" }],
    });
  });

  it("keeps JSON structure, with scalars as strings for the schemas to coerce", async () => {
    const res = await post(
      "/echo",
      JSON.stringify({
        status: "hi",
        sensitive: true,
        poll: { options: ["a", "b"], expires_in: 600 },
        x: null,
      }),
      "application/json",
    );
    expect(await res.json()).toEqual({
      status: "hi",
      sensitive: "true",
      poll: { options: ["a", "b"], expires_in: "600" },
    });
  });

  it("reads multipart bodies, files included, and refuses one over the limit (413)", async () => {
    const form = new FormData();
    form.set("description", "a cat");
    form.set("file", new File([new Uint8Array(10)], "cat.png", { type: "image/png" }));
    const app2 = new Hono();
    app2.post("/f", async (c) => {
      const input = await readInput(c, { maxFileBody: 1024 });
      const file = input.file as File;
      return c.json({ description: input.description, name: file.name, size: file.size });
    });
    expect(await (await app2.request("/f", { method: "POST", body: form })).json()).toEqual({
      description: "a cat",
      name: "cat.png",
      size: 10,
    });
    const big = new FormData();
    big.set("file", new File([new Uint8Array(4096)], "big.png"));
    const res = await post("/echo", big as unknown as BodyInit);
    expect(res.status).toBe(413);
  });

  it("400 for malformed JSON or a JSON array, 413 for an oversized body", async () => {
    expect((await post("/echo", "{", "application/json")).status).toBe(400);
    expect((await post("/echo", "[1]", "application/json")).status).toBe(400);
    expect((await post("/echo", "x=" + "a".repeat(70_000), "application/x-www-form-urlencoded")).status).toBe(
      413,
    );
  });
});

describe("readParsed", () => {
  it("coerces and validates, naming the parameter in a 422", async () => {
    const ok = await post(
      "/status",
      "status=hello&sensitive=1&media_ids[]=12&poll[options][]=a&poll[options][]=b&poll[expires_in]=300",
      "application/x-www-form-urlencoded",
    );
    expect(await ok.json()).toEqual({
      status: "hello",
      sensitive: true,
      media_ids: ["12"],
      poll: { options: ["a", "b"], expires_in: 300 },
    });
    const tooLong = await post("/status", JSON.stringify({ status: "x".repeat(21) }), "application/json");
    expect(tooLong.status).toBe(422);
    expect(await tooLong.json()).toEqual({
      error: "Validation failed: status: is longer than 20 characters",
    });
    const badId = await post(
      "/status",
      JSON.stringify({ status: "x", media_ids: ["1; drop"] }),
      "application/json",
    );
    expect(badId.status).toBe(422);
    expect(((await badId.json()) as { error: string }).error).toContain("media_ids.0");
    const tooMany = await post(
      "/status",
      JSON.stringify({ status: "x", media_ids: ["1", "2", "3", "4", "5"] }),
      "application/json",
    );
    expect(tooMany.status).toBe(422);
  });
});

describe("integer parameters", () => {
  it("truncates a fraction toward zero, from JSON and from forms, and still refuses non-numbers", async () => {
    const json = await post(
      "/status",
      JSON.stringify({ status: "hi", poll: { options: ["a"], expires_in: 600.9 } }),
      "application/json",
    );
    expect(json.status).toBe(200);
    expect(((await json.json()) as { poll: unknown }).poll).toEqual({ options: ["a"], expires_in: 600 });
    const form = await post(
      "/status",
      "status=hi&poll[options][]=a&poll[expires_in]=999.999",
      "application/x-www-form-urlencoded",
    );
    expect(((await form.json()) as { poll: unknown }).poll).toEqual({ options: ["a"], expires_in: 999 });
    // Truncated first, then held to the bounds: 1000.5 is 1000, 1001.2 is too long.
    const edge = await post(
      "/status",
      "status=hi&poll[options][]=a&poll[expires_in]=1000.5",
      "application/x-www-form-urlencoded",
    );
    expect(edge.status).toBe(200);
    for (const bad of ["1001.2", "299.9", "soon", "Infinity"]) {
      const res = await post(
        "/status",
        `status=hi&poll[options][]=a&poll[expires_in]=${bad}`,
        "application/x-www-form-urlencoded",
      );
      expect(res.status, bad).toBe(422);
    }
  });
});

describe("pagination", () => {
  it("reads ids and caps the limit at 40", async () => {
    const res = await app.request("/page?max_id=100&since_id=5&limit=400");
    expect(await res.json()).toEqual({ maxId: "100", sinceId: "5", limit: 40 });
  });

  it("refuses ids that are not ids and limits that are not positive integers (400)", async () => {
    expect((await app.request("/page?max_id=abc")).status).toBe(400);
    expect((await app.request("/page?limit=0")).status).toBe(400);
    expect((await app.request("/page?limit=0.5")).status).toBe(400);
  });

  it("reads a fractional limit and offset truncated, as Mastodon's to_i does", async () => {
    expect(await (await app.request("/page?limit=2.9&offset=3.5")).json()).toEqual({ limit: 2, offset: 3 });
  });

  it("links the next page back from the last id and the previous forward from the first", async () => {
    const res = await app.request("http://social.example.com/page?limit=3&max_id=99&local=true");
    expect(res.headers.get("link")).toBe(
      '<http://social.example.com/page?limit=3&local=true&max_id=10>; rel="next", <http://social.example.com/page?limit=3&local=true&min_id=30>; rel="prev"',
    );
  });
});
