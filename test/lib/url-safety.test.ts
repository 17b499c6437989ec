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

describe("names and literals that reach private addresses", () => {
  it.each([
    // Trailing dots name the same host.
    "https://localhost./",
    "https://LOCALHOST../",
    "https://127.0.0.1./",
    "https://metadata.google.internal./computeMetadata/v1/",
    // IDNA and percent-escapes as the URL parser decodes them.
    "https://ｌｏｃａｌｈｏｓｔ/",
    "https://localhost。/",
    "https://loc%61lhost/",
    "https://127.0.0.%31/",
    // IP literals in the other forms the parser accepts.
    "https://127.1/",
    "https://0x7f.0.0.1/",
    "https://[::ffff:7f00:1]/",
    "https://[::127.0.0.1]/",
    "https://[0:0:0:0:0:0:0:1]/",
    "https://[64:ff9b::a00:1]/",
    "https://[fec0::1]/",
    "https://[ff02::1]/",
    "https://198.18.0.1/",
    "https://192.0.2.1/",
    // Internal suffixes.
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://instance-data.ec2.internal/",
    "https://kubernetes.default.svc/api",
    "https://kubernetes.default.svc.cluster.local/api",
    "https://redis.cache.svc.cluster.local./",
    "https://app.localhost/",
    "https://router.home.arpa/",
    "https://nas.local/",
    "https://host.localdomain/",
    "https://printer.lan/",
    "https://wiki.intranet/",
    "https://files.corp/",
    "https://box.home/",
    "https://db.private/",
    "https://hidden.onion/",
    // Wildcard-DNS services and names that spell a private address.
    "https://10.0.0.1.nip.io/",
    "https://app.127.0.0.1.nip.io/",
    "https://anything.nip.io/",
    "https://127-0-0-1.sslip.io/",
    "https://xip.io/",
    "https://mastodon.localtest.me/",
    "https://lvh.me/",
    "https://a.vcap.me/",
    "https://10.0.0.1.attacker.example/",
    "https://10-0-0-1.attacker.example/",
    "https://ip-192-168-1-10.attacker.example/",
    "https://169.254.169.254.attacker.example/latest/meta-data",
  ])("refuses %s as a private address", (url) => {
    const result = checkRemoteUrl(url, strict);
    expect(result.ok, url).toBe(false);
    expect(result).toMatchObject({ reason: expect.stringMatching(/^(private_address|ip_literal)$/) });
  });

  it("allows public names, with a trailing dot too, and names that only look alike", () => {
    for (const url of [
      "https://mastodon.social./users/x",
      "https://social.example.com/users/alice",
      "https://nip.io.example.com/",
      "https://notlocalhost.example/",
      "https://1-2-3-4.example.net/",
      "https://internal.example.com/",
    ]) {
      expect(checkRemoteUrl(url, strict).ok, url).toBe(true);
    }
  });

  it("in loopback mode still allows only loopback hosts, however they are written", () => {
    for (const url of ["http://localhost.:8787/", "http://127.0.0.1:8911/users/a", "http://[::1]:9000/"]) {
      expect(checkRemoteUrl(url, loopback).ok, url).toBe(true);
    }
    for (const url of [
      "https://10.0.0.1.nip.io/",
      "https://metadata.google.internal./",
      "https://[::ffff:a00:1]/",
      "https://app.localhost/",
    ]) {
      expect(checkRemoteUrl(url, loopback).ok, url).toBe(false);
    }
  });
});
