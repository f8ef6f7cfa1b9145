import * as fs from "node:fs";
import * as path from "node:path";
import * as prettier from "prettier";
import { reportJsonSchema } from "../src/domain/report-schema";

// Publishes the check report's JSON Schema (generated from the zod schema) to
// schema/report.schema.json, formatted as the repository formats JSON. `--check` only compares,
// and exits 1 when the checked-in file is out of date.

const target = path.join(__dirname, "..", "schema", "report.schema.json");

async function main(): Promise<number> {
  const options = await prettier.resolveConfig(target);
  const text = await prettier.format(JSON.stringify(reportJsonSchema()), { ...options, filepath: target });
  if (process.argv.includes("--check")) {
    const current = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : "";
    if (current === text) return 0;
    console.error(`${path.relative(process.cwd(), target)} is out of date: run npm run report:schema`);
    return 1;
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, text);
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
