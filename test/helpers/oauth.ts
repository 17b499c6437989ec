import { env } from "cloudflare:test";
import { request } from "./app";

/**
 * A user token obtained the way a client gets one: register an app, open the authorization page,
 * sign in with the owner password, approve, exchange the code.
 */
export async function userToken(scope = "read write follow push"): Promise<string> {
  const redirect = "com.example.test://callback";
  const app = (await (
    await request("/api/v1/apps", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "Test", redirect_uris: redirect, scopes: scope }),
    })
  ).json()) as { client_id: string; client_secret: string };
  const page = await request(
    `/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: app.client_id, redirect_uri: redirect, scope })}`,
  );
  const cookie = /perch_csrf=([^;]+)/.exec(page.headers.get("set-cookie") ?? "")?.[1] ?? "";
  const html = await page.text();
  const fields = hiddenFields(html);
  const approved = await request("/oauth/authorize", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: `perch_csrf=${cookie}` },
    body: new URLSearchParams({
      ...fields,
      password: env.OWNER_PASSWORD as string,
      decision: "approve",
    }).toString(),
  });
  const code = new URL(approved.headers.get("location") ?? "x:").searchParams.get("code");
  if (!code) throw new Error(`authorization failed: ${approved.status} ${await approved.text()}`);
  const token = (await (
    await request("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        grant_type: "authorization_code",
        client_id: app.client_id,
        client_secret: app.client_secret,
        code,
        redirect_uri: redirect,
      }),
    })
  ).json()) as { access_token: string };
  return token.access_token;
}

/** The hidden fields of the authorization page's form. */
export function hiddenFields(html: string): Record<string, string> {
  return Object.fromEntries(
    [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\s*\/?>/g)].map((m) => [
      m[1]!,
      m[2]!,
    ]),
  );
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
