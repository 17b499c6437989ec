import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { expect } from "vitest";
import schema from "../fixtures/mastodon-openapi/schema.json";

/**
 * Validates an API response body against Mastodon's OpenAPI schema (test/fixtures/mastodon-openapi),
 * e.g. `expectEntity("Instance", body)`. The schema does not forbid extra fields and its `required`
 * lists follow Mastodon's documentation.
 */
let ajv: Ajv2020 | undefined;

function validator() {
  if (ajv) return ajv;
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addFormat("iso-639-1", /^[a-z]{2}$/);
  ajv.addSchema(schema as object, "mastodon");
  return ajv;
}

export function expectEntity(name: string, body: unknown): void {
  const validate = validator().getSchema(`mastodon#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema named ${name}`);
  const ok = validate(body);
  expect(ok ? [] : validate.errors?.map((e) => `${e.instancePath} ${e.message}`)).toEqual([]);
}
