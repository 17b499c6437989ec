import { describe, expect, it } from "vitest";
import { checkRemoteUrl } from "../../worker/lib/url-safety";

const strict = { allowLoopback: false };
const loopback = { allowLoopback: true };

describe("which remote URLs Perch may contact", () => {
  it.each([
    "https://mastodon.social/users/x",
    "https://social.example.com:443/inbox",
    "https://xn--bcher-kva.example/a",
  ])("allows %s", (url) => {
    expect(checkRemoteUrl(url, strict).ok).toBe(true);
  });

  it.each([
    ["not a url", "invalid_url"],
    ["http://mastodon.social/users/x", "scheme_not_allowed"],
    ["ftp://mastodon.social/x", "scheme_not_allowed"],
    ["javascript:alert(1)", "scheme_not_allowed"],
    ["https://user:pass@mastodon.social/", "credentials"],
    ["https://93.184.216.34/inbox", "ip_literal"],
    ["https://[2606:4700::1111]/inbox", "ip_literal"],
    ["https://10.0.0.1/inbox", "private_address"],
    ["https://172.16.5.4/inbox", "private_address"],
    ["https://192.168.1.1/inbox", "private_address"],
    ["https://169.254.169.254/latest/meta-data", "private_address"],
    ["https://100.64.0.1/", "private_address"],
    ["https://0.0.0.0/", "private_address"],
    ["https://2130706433/", "private_address"],
    ["https://0x7f000001/", "private_address"],
    ["https://017700000001/", "private_address"],
    ["https://[::1]/", "private_address"],
    ["https://[::ffff:127.0.0.1]/", "private_address"],
    ["https://[fd00::1]/", "private_address"],
    ["https://[fe80::1]/", "private_address"],
    ["https://localhost/", "private_address"],
    ["https://intranet/", "private_address"],
    ["https://printer.local/", "private_address"],
    ["https://mastodon.social:8443/", "port_not_allowed"],
  ])("refuses %s (%s)", (url, reason) => {
    expect(checkRemoteUrl(url, strict)).toEqual({ ok: false, reason });
  });

  it("in loopback mode allows http to loopback hosts on any port", () => {
    for (const url of ["http://127.0.0.1:8911/users/a", "http://localhost:8787/", "http://[::1]:9000/"]) {
      expect(checkRemoteUrl(url, loopback).ok).toBe(true);
    }
  });

  it("in loopback mode still refuses private ranges and plain http to public hosts", () => {
    expect(checkRemoteUrl("http://10.0.0.1/", loopback)).toEqual({ ok: false, reason: "scheme_not_allowed" });
    expect(checkRemoteUrl("https://192.168.1.1/", loopback)).toEqual({
      ok: false,
      reason: "private_address",
    });
    expect(checkRemoteUrl("http://mastodon.social/", loopback)).toEqual({
      ok: false,
      reason: "scheme_not_allowed",
    });
  });
});
