import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app";
import { notFound } from "../lib/errors";
import { requireToken } from "../oauth/middleware";
import { loadFilters, serializeFilter, serializeFilterStatus, serializeKeyword } from "../services/filters";
import {
  addFilterStatus,
  addKeyword,
  createFilter,
  createV1Filter,
  deleteFilter,
  deleteFilterStatus,
  deleteKeyword,
  FILTER_ACTIONS,
  findFilter,
  findFilterStatus,
  findKeyword,
  findV1Filter,
  listV1Filters,
  MAX_FILTER_TITLE,
  MAX_KEYWORD,
  serializeV1Filter,
  updateFilter,
  updateKeyword,
  updateV1Filter,
  type FilterInput,
} from "../services/filter-editing";
import { p, parseWith, readInput } from "./input";

/**
 * Filters v2 (a filter has keywords and statuses, and warns, hides or blurs) and the v1 API, where
 * each keyword is a filter of its own. https://docs.joinmastodon.org/methods/filters/
 */
export const filtersApi = new Hono<AppEnv>();

const read = requireToken("read:filters", { user: true });
const write = requireToken("write:filters", { user: true });

function pathId(id: string): string {
  if (!/^\d{1,20}$/.test(id)) throw notFound();
  return id;
}

const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);

/** Seconds until the filter expires; empty for never, as Mastodon's web app sends it. */
const ExpiresIn = z.preprocess(
  (v) => {
    const x = first(v);
    return x === "" || x === "null" ? null : x;
  },
  z.union([z.null(), p.int(1, 10 * 365 * 24 * 3600)]),
);

const ContextList = p.list(z.string().max(50), 10);
const Action = z.preprocess(first, z.enum(FILTER_ACTIONS));

const KeywordAttributes = z.object({
  id: p.id().optional(),
  keyword: p.str(MAX_KEYWORD).optional(),
  whole_word: p.bool().optional(),
  _destroy: p.bool().optional(),
});

const FilterParams = z.object({
  title: p.str(MAX_FILTER_TITLE).optional(),
  context: ContextList.optional(),
  filter_action: Action.optional(),
  expires_in: ExpiresIn.optional(),
  keywords_attributes: p.list(KeywordAttributes, 50).optional(),
});

function filterInput(q: z.output<typeof FilterParams>): FilterInput {
  return {
    title: q.title,
    context: q.context,
    action: q.filter_action,
    expiresIn: q.expires_in,
    keywords: q.keywords_attributes?.map((k) => ({
      id: k.id,
      keyword: k.keyword,
      wholeWord: k.whole_word,
      destroy: k._destroy,
    })),
  };
}

// ——— v2: keywords and statuses by their own ids (registered before /:id) ———

const KeywordParams = z.object({ keyword: p.str(MAX_KEYWORD).optional(), whole_word: p.bool().optional() });

filtersApi.get("/api/v2/filters/keywords/:id", read, async (c) =>
  c.json(serializeKeyword(await findKeyword(c.var.ctx, pathId(c.req.param("id"))))),
);

filtersApi.put("/api/v2/filters/keywords/:id", write, async (c) => {
  const id = pathId(c.req.param("id"));
  const q = parseWith(KeywordParams, await readInput(c));
  return c.json(
    serializeKeyword(await updateKeyword(c.var.ctx, id, { keyword: q.keyword, wholeWord: q.whole_word })),
  );
});

filtersApi.delete("/api/v2/filters/keywords/:id", write, async (c) => {
  await deleteKeyword(c.var.ctx, pathId(c.req.param("id")));
  return c.json({});
});

filtersApi.get("/api/v2/filters/statuses/:id", read, async (c) =>
  c.json(serializeFilterStatus(await findFilterStatus(c.var.ctx, pathId(c.req.param("id"))))),
);

filtersApi.delete("/api/v2/filters/statuses/:id", write, async (c) => {
  await deleteFilterStatus(c.var.ctx, pathId(c.req.param("id")));
  return c.json({});
});

// ——— v2 filters ———

filtersApi.get("/api/v2/filters", read, async (c) => {
  const all = await loadFilters(c.var.ctx);
  return c.json(all.map(serializeFilter));
});

filtersApi.post("/api/v2/filters", write, async (c) => {
  const q = parseWith(FilterParams, await readInput(c));
  return c.json(serializeFilter(await createFilter(c.var.ctx, filterInput(q))));
});

filtersApi.get("/api/v2/filters/:id", read, async (c) =>
  c.json(serializeFilter(await findFilter(c.var.ctx, pathId(c.req.param("id"))))),
);

filtersApi.put("/api/v2/filters/:id", write, async (c) => {
  const id = pathId(c.req.param("id"));
  const q = parseWith(FilterParams, await readInput(c));
  return c.json(serializeFilter(await updateFilter(c.var.ctx, id, filterInput(q))));
});

filtersApi.delete("/api/v2/filters/:id", write, async (c) => {
  await deleteFilter(c.var.ctx, pathId(c.req.param("id")));
  return c.json({});
});

filtersApi.get("/api/v2/filters/:id/keywords", read, async (c) => {
  const f = await findFilter(c.var.ctx, pathId(c.req.param("id")));
  return c.json(f.keywords.map(serializeKeyword));
});

filtersApi.post("/api/v2/filters/:id/keywords", write, async (c) => {
  const id = pathId(c.req.param("id"));
  const q = parseWith(KeywordParams, await readInput(c));
  const row = await addKeyword(c.var.ctx, id, { keyword: q.keyword ?? "", wholeWord: q.whole_word });
  return c.json(serializeKeyword(row));
});

filtersApi.get("/api/v2/filters/:id/statuses", read, async (c) => {
  const f = await findFilter(c.var.ctx, pathId(c.req.param("id")));
  return c.json(f.statuses.map(serializeFilterStatus));
});

filtersApi.post("/api/v2/filters/:id/statuses", write, async (c) => {
  const id = pathId(c.req.param("id"));
  const q = parseWith(z.object({ status_id: p.id() }), await readInput(c));
  return c.json(serializeFilterStatus(await addFilterStatus(c.var.ctx, id, q.status_id)));
});

// ——— v1 ———

const V1Params = z.object({
  phrase: p.str(MAX_KEYWORD).optional(),
  context: ContextList.optional(),
  irreversible: p.bool().optional(),
  whole_word: p.bool().optional(),
  expires_in: ExpiresIn.optional(),
});

function v1Input(q: z.output<typeof V1Params>) {
  return {
    phrase: q.phrase,
    context: q.context,
    irreversible: q.irreversible,
    wholeWord: q.whole_word,
    expiresIn: q.expires_in,
  };
}

filtersApi.get("/api/v1/filters", read, async (c) => c.json(await listV1Filters(c.var.ctx)));

filtersApi.post("/api/v1/filters", write, async (c) => {
  const q = parseWith(V1Params, await readInput(c));
  return c.json(await createV1Filter(c.var.ctx, v1Input(q)));
});

filtersApi.get("/api/v1/filters/:id", read, async (c) => {
  const { filter, keyword } = await findV1Filter(c.var.ctx, pathId(c.req.param("id")));
  return c.json(serializeV1Filter(filter.filter, keyword));
});

filtersApi.put("/api/v1/filters/:id", write, async (c) => {
  const id = pathId(c.req.param("id"));
  const q = parseWith(V1Params, await readInput(c));
  return c.json(await updateV1Filter(c.var.ctx, id, v1Input(q)));
});

/** As on Mastodon, deletes the keyword only; its v2 filter stays. */
filtersApi.delete("/api/v1/filters/:id", write, async (c) => {
  await deleteKeyword(c.var.ctx, pathId(c.req.param("id")));
  return c.json({});
});
