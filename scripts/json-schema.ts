import * as fs from "node:fs";
import * as path from "node:path";

import { jsonSchemaFiles, renderJson } from "../src/config/json-schema";

// Writes the JSON Schemas for editors from the zod schemas: `npx tsx scripts/json-schema.ts`.
// test/unit/config/json-schema.test.ts fails when the checked-in files are out of date.

const root = path.resolve(__dirname, "..");
for (const { path: file, schema } of jsonSchemaFiles()) {
  const target = path.join(root, file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, renderJson(schema));
  console.log(`wrote ${file}`);
}
