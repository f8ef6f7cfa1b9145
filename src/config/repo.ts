import * as fs from "node:fs";
import * as path from "node:path";

/** The tidegate checkout this code runs from (holds scripts/, stacks/ and environments/). */
export function repoRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "scripts", "toolchain.sh"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`cannot find the tidegate checkout above ${from}`);
  }
}
