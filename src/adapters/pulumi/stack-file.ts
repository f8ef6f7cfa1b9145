import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { formatConfigIssues } from "../../config/errors";
import { parseYamlFile } from "../../config/parse";
import { PulumiError } from "./errors";

// A stack's settings file (`Pulumi.<stack>.yaml`) is read here before Pulumi reads it: Pulumi's own
// message names neither the file nor (for a type error) the right line, and arrives wrapped in the
// command line that ran it.

/** The keys of a stack settings file whose shape Pulumi insists on; the rest is Pulumi's to judge. */
const StackSettings = z
  .object({
    secretsprovider: z.string().optional(),
    encryptedkey: z.string().optional(),
    encryptionsalt: z.string().optional(),
    config: z.record(z.string(), z.unknown()).nullable().optional(),
    environment: z.unknown().optional(),
  })
  .passthrough();

/**
 * Throws a PulumiError ("stack-file", kind invalid) naming the file, the line and what was expected
 * when the settings file is not well-formed YAML or not of the shape Pulumi reads. `shownAs` is the
 * file as the person knows it (its path in the repository); a missing file is fine (Pulumi makes one).
 */
export function assertStackFile(file: string, shownAs = path.basename(file)): void {
  if (!fs.existsSync(file)) return;
  const parsed = parseYamlFile(StackSettings, shownAs, fs.readFileSync(file, "utf8"));
  if (parsed.issues.length === 0) return;
  throw new PulumiError("stack-file", formatConfigIssues(parsed.issues), {
    recovery: `fix ${shownAs} at the line named, commit and push; nothing ran.`,
  });
}
