import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { request } from "../helpers/app";
import { base64url, sha256Hex } from "../../worker/oauth/secrets";
import { hiddenFields } from "../helpers/oauth";
import { upkeep } from "../../worker/queues/upkeep";

const REDIRECT = "com.example.app://oauth-callback";
const PASSWORD = env.OWNER_PASSWORD as string;

async function registerApp(body: Record<string, unknown> = {}) {
  const res = await request("/api/v1/apps", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name: "Test App",
      redirect_uris: REDIRECT,
      scopes: "read write follow",
      ...body,
    }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    client_id: string;
    client_secret: string;
    id: string;
    redirect_uris: string[];
  };
}

async function openAuthorizeRaw(query: Record<string, string>) {
  const res = await request(`/oauth/authorize?${new URLSearchParams({ response_type: "code", ...query })}`);
  expect(res.status).toBe(200);
  return { res };
}

/** Loads the authorization page as a browser would and returns its CSRF cookie and form fields. */
async function openAuthorize(query: Record<string, string>) {
  const res = await request(`/oauth/authorize?${new URLSearchParams(query)}`);
  expect(res.status).toBe(200);
  const cookie = /perch_csrf=([^;]+)/.exec(res.headers.get("set-cookie") ?? "")![1]!;
  const html = await res.text();
  const fields = hiddenFields(html);
  return { cookie, fields, html };
}

async function submit(cookie: string, fields: Record<string, string>) {
  return request("/oauth/authorize", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: `perch_csrf=${cookie}` },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });
}

async function pkce() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  return { verifier, challenge };
}

async function authorizeCode(app: { client_id: string }, extra: Record<string, string> = {}) {
  const { cookie, fields } = await openAuthorize({
    response_type: "code",
    client_id: app.client_id,
    redirect_uri: REDIRECT,
    scope: "read write",
    state: "xyz",
    ...extra,
  });
  const res = await submit(cookie, { ...fields, password: PASSWORD, decision: "approve" });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("location")!);
  expect(location.protocol).toBe("com.example.app:");
  expect(location.searchParams.get("state")).toBe("xyz");
  return location.searchParams.get("code")!;
}

describe("registering an app", () => {
  it("accepts JSON, form and query parameters, custom schemes and oob", async () => {
    const json = await registerApp();
    expect(json.redirect_uris).toEqual([REDIRECT]);
    expect(json.client_secret).toBeTruthy();
    const form = await request("/api/v1/apps", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "client_name=Ivory&redirect_uris=com.tapbots.Ivory.19300%3A%2Frequest_token&scopes=read+write+follow+push",
    });
    expect(((await form.json()) as { scopes: string[] }).scopes).toEqual(["read", "write", "follow", "push"]);
    const query = await request(
      `/api/v1/apps?client_name=Elk&redirect_uris=${encodeURIComponent("urn:ietf:wg:oauth:2.0:oob")}`,
      { method: "POST" },
    );
    expect(query.status).toBe(200);
    const list = await request("/api/v1/apps", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        client_name: "Two",
        redirect_uris: ["icecubesapp://", "https://app.example/cb"],
      }),
    });
    expect(((await list.json()) as { redirect_uris: string[] }).redirect_uris).toEqual([
      "icecubesapp://",
      "https://app.example/cb",
    ]);
  });

  it.each([
    [{ client_name: "" }, /name/],
    [{ redirect_uris: "" }, /Redirect URI/],
    [{ redirect_uris: "javascript:alert(1)" }, /Redirect URI/],
    [{ redirect_uris: "https://app.example/cb#frag" }, /Redirect URI/],
    [{ scopes: "read admin:everything" }, /Scopes/],
  ])("refuses %j with 422", async (body, message) => {
    const res = await request("/api/v1/apps", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "X", redirect_uris: REDIRECT, ...body }),
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
  });
});

describe("authorization code flow", () => {
  it("page → password → code → token (PKCE S256) → an API call with the token", async () => {
    const app = await registerApp();
    const { verifier, challenge } = await pkce();
    const code = await authorizeCode(app, { code_challenge: challenge, code_challenge_method: "S256" });
    const res = await request("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        grant_type: "authorization_code",
        client_id: app.client_id,
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      }),
    });
    expect(res.status).toBe(200);
    const token = (await res.json()) as { access_token: string; token_type: string; scope: string };
    expect(token).toMatchObject({ token_type: "Bearer", scope: "read write" });
    const verify = await request("/api/v1/apps/verify_credentials", {
      headers: { authorization: `Bearer ${token.access_token}` },
    });
    expect(await verify.json()).toMatchObject({ name: "Test App" });
  });

  it("the page names the app and the scopes, and sets a CSRF cookie", async () => {
    const app = await registerApp();
    const { html, fields } = await openAuthorize({
      response_type: "code",
      client_id: app.client_id,
      redirect_uri: REDIRECT,
      scope: "read",
    });
    expect(html).toContain("Test App");
    expect(html).toContain("<li>read</li>");
    expect(fields.csrf).toBeTruthy();
  });

  it("a code works once, with the client secret when there is no PKCE", async () => {
    const app = await registerApp();
    const code = await authorizeCode(app);
    const exchange = () =>
      request("/oauth/token", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          client_id: app.client_id,
          client_secret: app.client_secret,
          code,
          redirect_uri: REDIRECT,
        }).toString(),
      });
    expect((await exchange()).status).toBe(200);
    const replay = await exchange();
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("refuses a replayed code and revokes the token it first gave, but not for another app", async () => {
    const app = await registerApp();
    const other = await registerApp();
    const code = await authorizeCode(app);
    const exchange = (client: { client_id: string; client_secret: string }) =>
      request("/oauth/token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          grant_type: "authorization_code",
          client_id: client.client_id,
          client_secret: client.client_secret,
          code,
          redirect_uri: REDIRECT,
        }),
      });
    const first = await exchange(app);
    expect(first.status).toBe(200);
    const { access_token } = (await first.json()) as { access_token: string };
    const me = () =>
      request("/api/v1/accounts/verify_credentials", {
        headers: { authorization: `Bearer ${access_token}` },
      });
    expect((await me()).status).toBe(200);
    // Another app cannot use the code, nor revoke what it gave.
    expect(await (await exchange(other)).json()).toMatchObject({ error: "invalid_grant" });
    expect((await me()).status).toBe(200);
    const replay = await exchange(app);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: "invalid_grant" });
    expect((await me()).status).toBe(401);
  });

  it("leaves no working token when a code is exchanged twice at once", async () => {
    const app = await registerApp();
    const code = await authorizeCode(app);
    const exchange = () =>
      request("/oauth/token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          grant_type: "authorization_code",
          client_id: app.client_id,
          client_secret: app.client_secret,
          code,
          redirect_uri: REDIRECT,
        }),
      });
    const answers = await Promise.all([exchange(), exchange()]);
    expect(answers.map((r) => r.status)).toContain(400);
    for (const answer of answers.filter((r) => r.status === 200)) {
      const { access_token } = (await answer.json()) as { access_token: string };
      const me = await request("/api/v1/accounts/verify_credentials", {
        headers: { authorization: `Bearer ${access_token}` },
      });
      expect(me.status).toBe(401);
    }
  });

  it("the cron upkeep keeps a used code for a day, so that a replay is still caught", async () => {
    const app = await registerApp();
    const code = await authorizeCode(app);
    const exchange = () =>
      request("/oauth/token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          grant_type: "authorization_code",
          client_id: app.client_id,
          client_secret: app.client_secret,
          code,
          redirect_uri: REDIRECT,
        }),
      });
    const { access_token } = (await (await exchange()).json()) as { access_token: string };
    await authorizeCode(app); // a second code, never exchanged
    await env.DB.prepare(
      "UPDATE oauth_codes SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minutes')",
    ).run();
    await upkeep(env);
    // The unused expired code is gone; the used one is kept and still revokes its token.
    const kept = await env.DB.prepare("SELECT code_hash AS hash FROM oauth_codes").all();
    expect(kept.results).toEqual([{ hash: await sha256Hex(code) }]);
    expect(await (await exchange()).json()).toMatchObject({ error: "invalid_grant" });
    const me = await request("/api/v1/accounts/verify_credentials", {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(me.status).toBe(401);
    await env.DB.prepare(
      "UPDATE oauth_codes SET used_at = strftime('%Y-%m-%dT%H:%M:%fZ', used_at, '-23 hours')",
    ).run();
    await upkeep(env);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM oauth_codes").first())?.n).toBe(1);
    await env.DB.prepare(
      "UPDATE oauth_codes SET used_at = strftime('%Y-%m-%dT%H:%M:%fZ', used_at, '-2 hours')",
    ).run();
    await upkeep(env);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM oauth_codes").first())?.n).toBe(0);
  });

  it("accepts the token request as multipart form data, as masto.js sends it", async () => {
    const app = await registerApp();
    const code = await authorizeCode(app);
    const form = new FormData();
    form.set("grant_type", "authorization_code");
    form.set("client_id", app.client_id);
    form.set("client_secret", app.client_secret);
    form.set("code", code);
    form.set("redirect_uri", REDIRECT);
    const res = await request("/oauth/token", { method: "POST", body: form });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ token_type: "Bearer", scope: "read write" });
  });

  it("refuses a code without the secret or the PKCE verifier", async () => {
    const app = await registerApp();
    const code = await authorizeCode(app);
    const res = await request("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "authorization_code", client_id: app.client_id, code }),
    });
    expect(res.status).toBe(401);
  });

  it("refuses a wrong PKCE verifier", async () => {
    const app = await registerApp();
    const { challenge } = await pkce();
    const code = await authorizeCode(app, { code_challenge: challenge, code_challenge_method: "S256" });
    const res = await request("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        grant_type: "authorization_code",
        client_id: app.client_id,
        code,
        code_verifier: "x".repeat(43),
      }),
    });
    expect(await res.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("deny redirects back with access_denied", async () => {
    const app = await registerApp();
    const { cookie, fields } = await openAuthorize({
      response_type: "code",
      client_id: app.client_id,
      redirect_uri: REDIRECT,
      state: "s1",
    });
    const res = await submit(cookie, { ...fields, decision: "deny" });
    const location = new URL(res.headers.get("location")!);
    expect(location.searchParams.get("error")).toBe("access_denied");
    expect(location.searchParams.get("state")).toBe("s1");
  });

  it("a wrong password shows the page again with 401 and issues no code", async () => {
    const app = await registerApp();
    const { cookie, fields } = await openAuthorize({
      response_type: "code",
      client_id: app.client_id,
      redirect_uri: REDIRECT,
    });
    const res = await submit(cookie, { ...fields, password: "wrong", decision: "approve" });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain("not right");
  });

  it("after 5 wrong passwords, even the right one waits (429)", async () => {
    const app = await registerApp();
    const { cookie, fields } = await openAuthorize({
      response_type: "code",
      client_id: app.client_id,
      redirect_uri: REDIRECT,
    });
    for (let i = 0; i < 5; i++)
      expect((await submit(cookie, { ...fields, password: `wrong${i}`, decision: "approve" })).status).toBe(
        401,
      );
    expect((await submit(cookie, { ...fields, password: PASSWORD, decision: "approve" })).status).toBe(429);
  });

  it("refuses a POST without the CSRF cookie (403)", async () => {
    const app = await registerApp();
    const { fields } = await openAuthorize({
      response_type: "code",
      client_id: app.client_id,
      redirect_uri: REDIRECT,
    });
    expect((await submit("forged", { ...fields, password: PASSWORD, decision: "approve" })).status).toBe(403);
  });

  it("never redirects to a URI the app did not register", async () => {
    const app = await registerApp();
    const res = await request(
      `/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: app.client_id, redirect_uri: "https://evil.example/steal" })}`,
    );
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
  });

  it("refuses scopes beyond what the app registered", async () => {
    const app = await registerApp({ scopes: "read" });
    const res = await request(
      `/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: app.client_id, redirect_uri: REDIRECT, scope: "read write" })}`,
    );
    expect(res.status).toBe(400);
  });

  it("lets the approval redirect go to the registered redirect URI under the page's CSP", async () => {
    // Chromium applies form-action to the redirect after the POST: without the redirect target
    // there, approving in Phanpy's popup went nowhere.
    const web = await registerApp({ redirect_uris: "https://phanpy.example/" });
    const { res: webPage } = await openAuthorizeRaw({
      client_id: web.client_id,
      redirect_uri: "https://phanpy.example/",
    });
    expect(webPage.headers.get("content-security-policy")).toContain(
      "form-action 'self' https://phanpy.example;",
    );
    const native = await registerApp({ redirect_uris: "com.tapbots.Ivory.19300:/request_token" });
    const { res: nativePage } = await openAuthorizeRaw({
      client_id: native.client_id,
      redirect_uri: "com.tapbots.Ivory.19300:/request_token",
    });
    expect(nativePage.headers.get("content-security-policy")).toContain(
      "form-action 'self' com.tapbots.ivory.19300:;",
    );
  });

  it("shows the code on a page for the out-of-band redirect URI", async () => {
    const app = await registerApp({ redirect_uris: "urn:ietf:wg:oauth:2.0:oob" });
    const { cookie, fields } = await openAuthorize({
      response_type: "code",
      client_id: app.client_id,
      redirect_uri: "urn:ietf:wg:oauth:2.0:oob",
    });
    const res = await submit(cookie, { ...fields, password: PASSWORD, decision: "approve" });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<code id="code"[^>]*>[A-Za-z0-9_-]{20,}<\/code>/);
  });
});

describe("tokens and scopes", () => {
  async function appToken(scope = "read") {
    const app = await registerApp();
    const res = await request("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        grant_type: "client_credentials",
        client_id: app.client_id,
        client_secret: app.client_secret,
        scope,
      }),
    });
    return { app, token: ((await res.json()) as { access_token: string }).access_token };
  }

  it("client_credentials gives an app token that verify_credentials accepts", async () => {
    const { token } = await appToken();
    const res = await request("/api/v1/apps/verify_credentials", {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
  });

  it("no token or an unknown token is 401", async () => {
    expect((await request("/api/v1/apps/verify_credentials")).status).toBe(401);
    const res = await request("/api/v1/apps/verify_credentials", {
      headers: { authorization: "Bearer nope" },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "The access token is invalid" });
  });

  it("a wrong client secret is invalid_client", async () => {
    const app = await registerApp();
    const res = await request("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        grant_type: "client_credentials",
        client_id: app.client_id,
        client_secret: "wrong",
      }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "invalid_client" });
  });

  it("an unknown grant type is unsupported_grant_type", async () => {
    const app = await registerApp();
    const res = await request("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "password", client_id: app.client_id }),
    });
    expect(await res.json()).toMatchObject({ error: "unsupported_grant_type" });
  });

  it("a revoked token stops working", async () => {
    const { app, token } = await appToken();
    await request("/oauth/revoke", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_id: app.client_id, client_secret: app.client_secret, token }),
    });
    expect(
      (await request("/api/v1/apps/verify_credentials", { headers: { authorization: `Bearer ${token}` } }))
        .status,
    ).toBe(401);
  });

  it("publishes RFC 8414 metadata", async () => {
    const res = await request("/.well-known/oauth-authorization-server");
    expect(await res.json()).toMatchObject({
      authorization_endpoint: "https://social.example.com/oauth/authorize",
      token_endpoint: "https://social.example.com/oauth/token",
      code_challenge_methods_supported: ["S256", "plain"],
    });
  });
});
