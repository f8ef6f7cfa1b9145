import * as fs from "node:fs";
import * as path from "node:path";

import * as prettier from "prettier";
import { describe, expect, it } from "vitest";

import { jsonSchemaFiles, renderJson } from "../../../src/config/json-schema";

const repoRoot = path.resolve(__dirname, "../../..");

describe("JSON Schemas for editors", () => {
  it.each(jsonSchemaFiles().map((file) => [file.path, file] as const))(
    "%s is up to date (regenerate with npx tsx scripts/json-schema.ts)",
    (_path, { path: file, schema }) => {
      const checkedIn = fs.readFileSync(path.join(repoRoot, file), "utf8");
      expect(checkedIn).toBe(renderJson(schema));
    },
  );

  it.each(jsonSchemaFiles().map((file) => [file.path, file] as const))(
    "%s is laid out as prettier lays it out",
    async (_path, { path: file, schema }) => {
      const filepath = path.join(repoRoot, file);
      const options = { ...(await prettier.resolveConfig(filepath)), filepath };
      expect(await prettier.check(renderJson(schema), options)).toBe(true);
    },
  );

  it("refuses unknown keys and an inline passphrase, and lists the required keys", () => {
    const [tidegate, environment] = jsonSchemaFiles().map((file) => file.schema);
    expect(tidegate).toMatchObject({
      title: "tidegate.yaml",
      additionalProperties: false,
      oneOf: [{ required: ["repository"] }, { required: ["repositories"] }],
      properties: { secrets: { additionalProperties: false, properties: { passphrase: { not: {} } } } },
    });
    expect(environment).toMatchObject({
      additionalProperties: false,
      required: ["name", "order"],
      properties: { sync: { properties: { policy: { enum: ["auto", "gated"] } } } },
    });
  });

  it("lays out JSON like prettier: arrays of scalars on one line when they fit", async () => {
    expect(renderJson({ a: ["x", "y"], b: {}, c: [], d: [{ e: 1 }] })).toBe(
      [
        "{",
        '  "a": ["x", "y"],',
        '  "b": {},',
        '  "c": [],',
        '  "d": [',
        "    {",
        '      "e": 1',
        "    }",
        "  ]",
        "}",
        "",
      ].join("\n"),
    );
    const long = Array.from({ length: 30 }, (_, i) => `value-${i}`);
    const text = renderJson({ long, nested: { eight: long.slice(0, 8), nine: long.slice(0, 9) } });
    expect(text).toContain('\n    "value-0",\n');
    expect(await prettier.check(text, { parser: "json", printWidth: 110 })).toBe(true);
  });
});
