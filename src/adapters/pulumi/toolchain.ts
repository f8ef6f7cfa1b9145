import * as path from "node:path";

export interface PulumiToolchain {
  /** Folder with `pulumi`, `pulumi-language-nodejs` and the launchers; goes first on PATH. */
  binDir: string;
  /** What `PulumiCommand.get({ root })` expects: the folder above `bin`. */
  root: string;
}

/** PATH for the engine: the toolchain first, then the Node running tidegate (the language host starts `node`). */
export function enginePath(toolchain: PulumiToolchain, basePath = process.env.PATH ?? ""): string {
  return [toolchain.binDir, path.dirname(process.execPath), basePath].filter(Boolean).join(path.delimiter);
}
