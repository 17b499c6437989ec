import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../worker/app";
import { BASE, request } from "../helpers/app";

const PASSWORD = env.OWNER_PASSWORD as string;

function call(password?: string) {
  return request("/_perch/owner/dead_letters", {
    headers: password === undefined ? {} : { authorization: `Basic ${btoa(`owner:${password}`)}` },
  });
}

describe("the owner API's password check", () => {
  it("counts wrong passwords, then refuses even the right one with 429 and Retry-After", async () => {
    // A request without credentials is the browser's first try: challenged, not counted.
    for (let i = 0; i < 3; i++) expect((await call()).status).toBe(401);
    for (let i = 0; i < 5; i++) {
      const wrong = await call(`guess ${i}`);
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get("www-authenticate")).toBe('Basic realm="perch"');
    }
    const right = await call(PASSWORD);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(right.headers.get("retry-after"))).toBeLessThanOrEqual(30);
    expect(await right.json()).toEqual({ error: "Too many failed attempts; try again later" });
  });

  it("forgets earlier misses after a right password, checked or remembered, and a burst of right ones locks nothing", async () => {
    for (let i = 0; i < 4; i++) expect((await call(`guess ${i}`)).status).toBe(401);
    expect((await call(PASSWORD)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await call(`guess ${i}`)).status).toBe(401);
    // Remembered now, so checked without PBKDF2, and still a fresh start.
    expect((await call(PASSWORD)).status).toBe(200);
    const burst = await Promise.all(Array.from({ length: 20 }, () => call(PASSWORD)));
    expect(burst.map((r) => r.status)).toEqual(Array(20).fill(200));
    for (let i = 0; i < 5; i++) expect((await call(`guess ${i}`)).status).toBe(401);
    expect((await call(PASSWORD)).status).toBe(429);
  });

  it("reads the Basic credentials as UTF-8 (RFC 7617)", async () => {
    const secret = "pässwörd ✓";
    const utf8 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
    const execution = createExecutionContext();
    const res = await createApp().fetch(
      new Request(`${BASE}/_perch/owner/dead_letters`, {
        headers: { authorization: `Basic ${utf8(`owner:${secret}`)}` },
      }),
      { ...env, OWNER_PASSWORD: secret },
      execution,
    );
    await waitOnExecutionContext(execution);
    expect(res.status).toBe(200);
  });
});
