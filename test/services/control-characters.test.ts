import { afterEach, describe, expect, it, vi } from "vitest";
import { testCtx } from "../helpers/app";
import { strings } from "../helpers/hostile";
import { rows } from "../helpers/inbox";
import { PNG_1x1 } from "../lib/media/files";
import { createMedia, updateMedia } from "../../worker/services/media";
import { editNote } from "../../worker/services/post-edit";
import { publishNote } from "../../worker/services/post-publish";
import { updateProfile } from "../../worker/services/profile";

/** NUL, a C0 control, ESC (terminal sequences), DEL and a C1 control. */
const C = "\u0000\u0001\u001b\u007f\u009b";
const STORED_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

afterEach(() => vi.restoreAllMocks());

function withControls(values: unknown): string[] {
  return strings(values)
    .filter(([, s]) => STORED_CONTROL.test(s))
    .map(([path, s]) => `${path}: ${JSON.stringify(s)}`);
}

const png = () => new File([PNG_1x1], "a.png", { type: "image/png" });

describe("control characters in the owner's input are not stored", () => {
  it("strips them from a post's text, spoiler, poll options and its media's alt text, tab and newline kept", async () => {
    const ctx = testCtx();
    const media = await createMedia(ctx, { file: png(), description: `a bird${C}` });
    const status = await publishNote(ctx, {
      text: `Hello${C}\tworld\r\n\r\nsecond #bi${C}rds`,
      spoilerText: `careful${C}`,
      visibility: "public",
      mediaIds: [media.id],
    });
    expect(withControls(await rows("SELECT * FROM statuses"))).toEqual([]);
    expect(withControls(await rows("SELECT * FROM media_attachments"))).toEqual([]);
    expect(withControls(await rows("SELECT * FROM status_tags"))).toEqual([]);
    expect(status).toMatchObject({ source: "Hello\tworld\n\nsecond #birds", spoilerText: "careful" });
    expect(status.attachments[0]?.name).toBe("a bird");

    await editNote(ctx, status.id, {
      text: `edited${C}`,
      spoilerText: `still${C}`,
      mediaAttributes: [{ id: media.id, description: `new${C} alt` }],
    });
    const poll = await publishNote(ctx, {
      text: "vote",
      visibility: "public",
      poll: { options: [`yes${C}`, `no${C}`], expiresIn: 3600 },
    });
    expect(poll.poll?.options.map((o) => o.name)).toEqual(["yes", "no"]);
    expect(withControls(await rows("SELECT * FROM statuses"))).toEqual([]);
    expect(withControls(await rows("SELECT * FROM status_edits"))).toEqual([]);
    expect(withControls(await rows("SELECT * FROM media_attachments"))).toEqual([]);
  });

  it("strips them from an upload's description when it is changed", async () => {
    const ctx = testCtx();
    const media = await createMedia(ctx, { file: png() });
    const updated = await updateMedia(ctx, media.id, { description: `alt${C}\ntext` });
    expect(updated.description).toBe("alt\ntext");
  });

  it("strips them from the display name, bio and profile fields", async () => {
    const ctx = testCtx();
    const account = await updateProfile(ctx, {
      displayName: `Al${C}ice`,
      note: `bio${C} line`,
      fields: [{ name: `Si${C}te`, value: `https://alice.example/${C}` }],
    });
    expect(account).toMatchObject({ displayName: "Alice", fields: [{ name: "Site" }] });
    expect(withControls(await rows("SELECT * FROM accounts WHERE local = 1"))).toEqual([]);
  });
});
