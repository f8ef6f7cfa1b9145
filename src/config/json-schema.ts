import { z } from "zod";

import { EnvironmentFile, TidegateFile } from "./schema";

// JSON Schemas for editors (yaml-language-server and the like), generated from the zod schemas so
// the two cannot disagree. Checks that JSON Schema cannot say (cron, branch rules, URL forms) stay
// in zod: the editor catches the shape, tidegate catches the rest.

export interface JsonSchemaFile {
  /** Relative to the repository root. */
  path: string;
  schema: Record<string, unknown>;
}

/** The checked-in schema files and what they must hold. */
export function jsonSchemaFiles(): JsonSchemaFile[] {
  return [
    {
      path: "schema/tidegate.schema.json",
      // zod's check that exactly one is given does not reach JSON Schema: say it here.
      schema: {
        ...toJsonSchema(TidegateFile),
        oneOf: [{ required: ["repository"] }, { required: ["repositories"] }],
      },
    },
    { path: "schema/environment.schema.json", schema: toJsonSchema(EnvironmentFile) },
  ];
}

function toJsonSchema(schema: z.ZodType): Record<string, unknown> {
  // Draft 7: the newest draft every common YAML editor plugin reads.
  return z.toJSONSchema(schema, { target: "draft-07", io: "input" }) as Record<string, unknown>;
}

/** Matches printWidth in .prettierrc.json; the schema test checks the output with prettier. */
const PRINT_WIDTH = 110;

/**
 * JSON laid out the way prettier lays it out, so the generated files pass the format check:
 * objects one key per line, arrays of scalars on one line when they fit.
 */
export function renderJson(value: unknown): string {
  return `${render(value, "", 0)}\n`;
}

function render(value: unknown, indent: string, prefixWidth: number): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const scalars = value.every((item) => item === null || typeof item !== "object");
    const inline = `[${value.map((item) => JSON.stringify(item)).join(", ")}]`;
    // + 1 for the comma that may follow.
    if (scalars && indent.length + prefixWidth + inline.length + 1 <= PRINT_WIDTH) return inline;
    const inner = `${indent}  `;
    return `[\n${value.map((item) => inner + render(item, inner, 0)).join(",\n")}\n${indent}]`;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) return "{}";
    const inner = `${indent}  `;
    const lines = entries.map(([key, item]) => {
      const prefix = `${JSON.stringify(key)}: `;
      return inner + prefix + render(item, inner, prefix.length);
    });
    return `{\n${lines.join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(value);
}
