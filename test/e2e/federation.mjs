#!/usr/bin/env node
// Two Perch instances federating on loopback: two `wrangler dev` processes with their own D1/Queues
// state, in loopback federation mode. A follows B by handle, B accepts, B posts and the post reaches A;
// A likes it and B records the like; B edits and deletes it and A follows suit; A unfollows and B's
// followers collection updates; A follows B again. Then an independent peer (test/e2e/peer.mjs, on
// Fedify's signatures): A follows, unfollows and follows it again through its reused Accept id, likes
// its post, and gets that like forwarded back. Last, a move: a third instance C follows A, B lists A
// as an alias, A moves to B, and C's Perch processes the Move and ends up following B instead of A.
// Prints "N passed, N failed" and exits non-zero on any failure.
import { rmSync } from "node:fs";
import { ownerSession } from "./admin.mjs";
import {
  dumpLogs,
  eventually,
  freePort,
  ownerCall as call,
  PASSWORD,
  startInstance,
  stepper,
  waitUp,
} from "./lib.mjs";
import { startPeer } from "./peer.mjs";

const STATE = ".e2e";

const { step, counts } = stepper();

rmSync(STATE, { recursive: true, force: true });
const [pa, pb, pc, ia, ib, ic, pp] = await Promise.all(Array.from({ length: 7 }, freePort));
const A = startInstance(STATE, "a", "alice", pa, ia);
const B = startInstance(STATE, "b", "bob", pb, ib);
const C = startInstance(STATE, "c", "cora", pc, ic);
const P = await startPeer(pp);
const stop = () => {
  for (const i of [A, B, C]) i.child.kill("SIGTERM");
  P.stop();
};
process.on("exit", stop);

console.log(`e2e: A = ${A.base}, B = ${B.base}, C = ${C.base}`);
let post;
try {
  await step("the three instances start", async () => {
    await Promise.all([waitUp(A), waitUp(B), waitUp(C)]);
  });
  await step("A follows B by handle and B accepts", async () => {
    const res = await call(A, "POST", "/_perch/owner/follow", { target: `@${B.handle}` });
    if (res.account !== B.actor) throw new Error(`resolved ${res.account}, expected ${B.actor}`);
    await eventually("B to list A as a follower", async () => {
      const rel = await call(B, "GET", "/_perch/owner/relationships");
      return rel.followers.some((f) => f.account === A.actor && f.accepted);
    });
    await eventually("A's follow to be accepted", async () => {
      const rel = await call(A, "GET", "/_perch/owner/relationships");
      return rel.following.some((f) => f.account === B.actor && f.accepted);
    });
  });
  await step("B posts and the post reaches A", async () => {
    post = await call(B, "POST", "/_perch/owner/statuses", { text: "Hello from B <3", visibility: "public" });
    await eventually("the post on A", async () => {
      const list = await call(A, "GET", "/_perch/owner/statuses");
      return list.find((s) => s.uri === post.uri && s.content.includes("Hello from B &lt;3"));
    });
  });
  await step("A likes it and B records the like", async () => {
    await call(A, "POST", "/_perch/owner/like", { uri: post.uri });
    await eventually("the like on B", async () => {
      const list = await call(B, "GET", "/_perch/owner/statuses");
      return list.find((s) => s.uri === post.uri && s.likes === 1);
    });
  });
  await step("B edits the post and A follows suit", async () => {
    await call(B, "PUT", `/_perch/owner/statuses/${post.id}`, { text: "Hello again, edited" });
    await eventually("the edit on A", async () => {
      const list = await call(A, "GET", "/_perch/owner/statuses");
      return list.find((s) => s.uri === post.uri && s.editedAt && s.content.includes("edited"));
    });
  });
  await step("B deletes the post and A follows suit", async () => {
    await call(B, "DELETE", `/_perch/owner/statuses/${post.id}`);
    const gone = await fetch(post.uri, { headers: { accept: "application/activity+json" } });
    if (gone.status !== 410) throw new Error(`deleted post answered ${gone.status}, expected 410`);
    await eventually("the delete on A", async () => {
      const list = await call(A, "GET", "/_perch/owner/statuses");
      return list.find((s) => s.uri === post.uri && s.deletedAt);
    });
  });
  await step("A unfollows B and B's followers collection updates", async () => {
    const followers = async () =>
      (
        await (
          await fetch(`${B.actor}/followers`, { headers: { accept: "application/activity+json" } })
        ).json()
      ).totalItems;
    if ((await followers()) !== 1)
      throw new Error("B's followers collection should count A before the unfollow");
    await call(A, "POST", "/_perch/owner/unfollow", { target: B.actor });
    await eventually("B's followers to drop to 0", async () => (await followers()) === 0);
  });
  await step("A follows B again and the follow ends accepted on both sides", async () => {
    await call(A, "POST", "/_perch/owner/follow", { target: B.actor });
    await eventually("B to list A as a follower again", async () => {
      const rel = await call(B, "GET", "/_perch/owner/relationships");
      return rel.followers.some((f) => f.account === A.actor && f.accepted);
    });
    await eventually("A's second follow to be accepted", async () => {
      const rel = await call(A, "GET", "/_perch/owner/relationships");
      return rel.following.some((f) => f.account === B.actor && f.accepted);
    });
  });
  await step(
    "A follows an independent peer, unfollows and follows again: its reused Accept id accepts both times",
    async () => {
      const accepted = async () => {
        const rel = await call(A, "GET", "/_perch/owner/relationships");
        return rel.following.some((f) => f.account === P.actor && f.accepted);
      };
      await call(A, "POST", "/_perch/owner/follow", { target: P.actor });
      await eventually("the first follow of the peer to be accepted", accepted);
      await call(A, "POST", "/_perch/owner/unfollow", { target: P.actor });
      await eventually("the peer to see the Undo", async () => !P.followers.has(A.actor));
      await call(A, "POST", "/_perch/owner/follow", { target: P.actor });
      await eventually("the second follow of the peer to be accepted", accepted);
      const accepts = new Set(
        P.received
          .filter((r) => r.activity.type === "Follow")
          .map((r) => `${P.actor}#accepts/${encodeURIComponent(r.activity.actor)}`),
      );
      if (accepts.size !== 1)
        throw new Error("the peer should have answered both follows with one Accept id");
    },
  );
  await step("A likes the peer's post, and the peer verifies A's signature with Fedify", async () => {
    await call(A, "POST", "/_perch/owner/like", { uri: P.note });
    const like = await eventually("the like at the peer", async () =>
      P.received.find((r) => r.activity.type === "Like" && r.activity.object === P.note),
    );
    if (!like.verified) throw new Error("Fedify did not verify A's signature on the Like");
    if (like.keyId !== `${A.actor}#main-key`) throw new Error(`signed with ${like.keyId}`);
  });
  await step(
    "the peer forwards A's like back to A (as servers forward interactions to followers): 202",
    async () => {
      const like = P.received.find((r) => r.activity.type === "Like" && r.activity.object === P.note);
      const status = await P.send(`${A.base}/inbox`, like.activity);
      if (status !== 202) throw new Error(`A answered ${status} to its own like forwarded back`);
    },
  );
  await step("C follows A by handle and A accepts", async () => {
    await call(C, "POST", "/_perch/owner/follow", { target: A.handle });
    await eventually("C's follow of A to be accepted", async () => {
      const rel = await call(C, "GET", "/_perch/owner/relationships");
      return rel.following.some((f) => f.account === A.actor && f.accepted);
    });
  });
  await step("B lists A as an alias on its moving page's JSON, and B's actor shows it", async () => {
    const admin = await ownerSession(B.base);
    const { aliases } = await admin("POST", "/admin/api/aliases", { alias: A.handle });
    if (!aliases.includes(A.actor)) throw new Error(`B's aliases are ${JSON.stringify(aliases)}`);
    const doc = await (await fetch(B.actor, { headers: { accept: "application/activity+json" } })).json();
    if (!doc.alsoKnownAs?.includes(A.actor)) throw new Error("B's actor does not list A in alsoKnownAs");
  });
  await step("A moves to B: A's actor carries movedTo and the Move goes to A's followers", async () => {
    const admin = await ownerSession(A.base);
    const moved = await admin("POST", "/admin/api/move", { target: B.handle, password: PASSWORD });
    if (moved.movedTo !== B.actor || moved.inboxes !== 1)
      throw new Error(`move answered ${JSON.stringify(moved)}`);
    const doc = await (await fetch(A.actor, { headers: { accept: "application/activity+json" } })).json();
    if (doc.movedTo !== B.actor) throw new Error(`A's actor has movedTo ${doc.movedTo}`);
  });
  await step("C processes the Move: it follows B, accepted, and no longer follows A", async () => {
    await eventually("C to follow B, accepted, and not A", async () => {
      const rel = await call(C, "GET", "/_perch/owner/relationships");
      const following = rel.following.map((f) => `${f.account} ${f.accepted}`);
      return following.includes(`${B.actor} true`) && !rel.following.some((f) => f.account === A.actor);
    });
    await eventually("B to list C as a follower", async () => {
      const rel = await call(B, "GET", "/_perch/owner/relationships");
      return rel.followers.some((f) => f.account === C.actor && f.accepted);
    });
    await eventually("A to drop C from its followers", async () => {
      const rel = await call(A, "GET", "/_perch/owner/relationships");
      return !rel.followers.some((f) => f.account === C.actor);
    });
  });
  await step("nothing ended in any dead-letter list", async () => {
    for (const i of [A, B, C]) {
      const dead = await call(i, "GET", "/_perch/owner/dead_letters");
      if (dead.length) throw new Error(`${i.name} has dead letters: ${JSON.stringify(dead)}`);
    }
  });
} catch {
  dumpLogs([A, B, C]);
} finally {
  stop();
}
console.log(`\ne2e federation: ${counts.passed} passed, ${counts.failed} failed`);
process.exit(counts.failed ? 1 : 0);
