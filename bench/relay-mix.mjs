// The relayed traffic of bench/relay.mjs: a deterministic mix of what relays really send, made with
// the fakes of test/e2e/fake-relay.mjs (authors on several origin hosts, LD-signed by Fedify).
// Every activity carries the bucket it should end in, so the run can show what it expected.
import { ldSign } from "../test/e2e/fake-relay.mjs";

/** A small seeded PRNG (mulberry32): the same mix on every run. */
export function random(seed = 7) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle(list, rand) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

const WORDS = (
  "the a relay post fediverse morning coffee train photo cat garden weather code release small " +
  "server today thanks reading book music walk rain sun city river friends work weekend news"
).split(" ");
const TAGS = ["photography", "caturday", "gardening", "music", "books", "opensource", "perchbench"];

/**
 * Shares of the activities sent. The rest (about 8.5%) goes to the third relay, subscribed with a
 * language filter and a small daily cap: half its posts are in the wrong language, and of the others
 * half are over the cap.
 */
export const SHARES = {
  /** Mastodon-style: the authors' LD-signed Creates, new posts. */
  create: 0.48,
  /** LitePub: Announces of new posts on the origins (fetched there by id). */
  announce: 0.25,
  /** LitePub Announces of posts the Mastodon-style relay already brought. */
  duplicateAnnounce: 0.05,
  /** Mastodon-style Creates of posts the LitePub relay already brought. */
  duplicateCreate: 0.03,
  /** LD-signed Deletes of posts relayed earlier (sent in a second phase). */
  delete: 0.04,
  /** A Create changed after it was LD-signed, of a post its origin has: stored as the origin has it. */
  altered: 0.01,
  /** A forged Create (broken LD signature) of a post its origin does not have. */
  forged: 0.005,
  /** A Create of a post its origin does not have, LD-signed with another author's key. */
  wrongKey: 0.005,
  /** An Announce of an id its origin does not have. */
  missing: 0.005,
  /** A Create whose post is attributed to someone other than its actor. */
  invalid: 0.005,
};

/**
 * Builds `n` relayed activities for relays `mastodon`, `litepub` and `filtered` from `origins`:
 * `{ warmup, first, second, expected, filteredLanguage, filteredCap }`. Each list holds
 * `{ relay, activity, expect }`: `warmup` one post per author, to send before measuring (not in `n`),
 * `first` the rest in random order, `second` the Deletes, to send once the first phase is counted;
 * `deleted` lists the ids the Deletes name; `unpublish()` makes them answer 404 before that phase.
 */
export async function buildMix(n, { origins, mastodon, litepub, filtered }, rand = random()) {
  const count = Object.fromEntries(Object.entries(SHARES).map(([k, share]) => [k, Math.round(n * share)]));
  const filteredCount = n - Object.values(count).reduce((a, b) => a + b, 0);
  const authors = origins.flatMap((o) => o.authors.map((a) => ({ origin: o, author: a })));
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const published = [];

  /** A new post by a random author: ~300 characters, some with tags, images or as replies. */
  function post(language = rand() < 0.8 ? "en" : pick(["fr", "es", "ja", "pt"])) {
    const { origin, author } = pick(authors);
    const words = Array.from({ length: 10 + Math.floor(rand() * 50) }, () => pick(WORDS)).join(" ");
    const note = origin.note(author, {
      text: words,
      language,
      tags: rand() < 0.3 ? [pick(TAGS)] : [],
      attachments: rand() < 0.2 ? 1 + Math.floor(rand() * 3) : 0,
      replyTo: rand() < 0.1 && published.length ? pick(published).id : null,
    });
    published.push(note);
    return { origin, note };
  }

  // One post per author, sent before the measured run: Perch's first contact with each author (the
  // account and its key, fetched once) is measured apart from the steady state.
  const warmup = [];
  for (const { origin, author } of authors) {
    const note = origin.note(author, { text: `Hello from ${author.username}` });
    warmup.push({ relay: mastodon, activity: await origin.create(note), expect: "stored" });
  }

  const first = [];
  const created = [];
  for (let i = 0; i < count.create; i++) {
    const p = post();
    created.push(p);
    first.push({ relay: mastodon, activity: await p.origin.create(p.note), expect: "stored" });
  }
  const announced = [];
  for (let i = 0; i < count.announce; i++) {
    const p = post();
    announced.push(p);
    first.push({ relay: litepub, activity: litepub.announce(p.note.id), expect: "stored" });
  }
  // Deletes take posts that came through one relay only, from the front of the list.
  const toDelete = created.slice(0, count.delete);
  const duplicable = created.slice(count.delete);
  for (let i = 0; i < count.duplicateAnnounce; i++) {
    const p = duplicable[i % duplicable.length];
    first.push({ relay: litepub, activity: litepub.announce(p.note.id), expect: "duplicate" });
  }
  for (let i = 0; i < count.duplicateCreate; i++) {
    const p = announced[i % announced.length];
    first.push({ relay: mastodon, activity: await p.origin.create(p.note), expect: "duplicate" });
  }
  for (let i = 0; i < count.altered; i++) {
    const p = post();
    const activity = await p.origin.create(p.note);
    activity.object.content = `${activity.object.content}<p>(changed after signing)</p>`;
    first.push({ relay: mastodon, activity, expect: "stored" });
  }
  // Posts that were never published: nothing at their origin can vouch for them.
  const fabricated = () => {
    const p = post();
    p.origin.unpublish(p.note.id);
    return p;
  };
  for (let i = 0; i < count.forged; i++) {
    const p = fabricated();
    const activity = await p.origin.create(p.note);
    activity.object.content = `${activity.object.content}<p>(forged)</p>`;
    first.push({ relay: mastodon, activity, expect: "unauthenticated" });
  }
  for (let i = 0; i < count.wrongKey; i++) {
    const p = fabricated();
    const impostor = pick(authors.filter((a) => a.author.id !== p.note.attributedTo));
    // Signed by someone else: the signature is valid, but not the actor's.
    const { signature: _signature, ...unsigned } = await p.origin.create(p.note);
    first.push({
      relay: mastodon,
      activity: await ldSign(unsigned, impostor.author),
      expect: "unauthenticated",
    });
  }
  for (let i = 0; i < count.missing; i++) {
    const origin = pick(origins);
    const id = `${origin.authors[0].id}/statuses/missing-${i}`;
    first.push({ relay: litepub, activity: litepub.announce(id), expect: "unauthenticated" });
  }
  for (let i = 0; i < count.invalid; i++) {
    const p = post();
    const other = pick(authors.filter((a) => a.author.id !== p.note.attributedTo && a.origin === p.origin));
    const activity = await p.origin.create(p.note);
    const { signature: _signature, ...unsigned } = activity;
    unsigned.actor = other.author.id;
    first.push({ relay: mastodon, activity: await ldSign(unsigned, other.author), expect: "invalid" });
  }
  const filteredLanguage = "de";
  const inLanguage = Math.ceil(filteredCount / 2);
  const filteredCap = Math.floor(inLanguage / 2);
  for (let i = 0; i < filteredCount; i++) {
    const wanted = i < inLanguage;
    const p = post(wanted ? filteredLanguage : "en");
    first.push({
      relay: filtered,
      activity: await p.origin.create(p.note),
      expect: !wanted ? "filtered" : i < filteredCap ? "stored" : "capped",
    });
  }
  shuffle(first, rand);

  const second = [];
  for (const p of toDelete)
    second.push({ relay: mastodon, activity: await p.origin.remove(p.note), expect: "stored (a deletion)" });

  const expected = {};
  for (const a of [...first, ...second]) expected[a.expect] = (expected[a.expect] ?? 0) + 1;
  return {
    warmup,
    first,
    second,
    expected,
    filteredLanguage,
    filteredCap,
    attachments: published.reduce((k, p) => k + p.attachment.length, 0),
    deleted: toDelete.map((p) => p.note.id),
    unpublish: () => toDelete.forEach((p) => p.origin.unpublish(p.note.id)),
  };
}
