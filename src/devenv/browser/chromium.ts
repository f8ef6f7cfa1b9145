import * as fs from "node:fs";

// The browser the dashboard's tests drive (through playwright-core, which downloads none): Debian's
// chromium, or the one TIDEGATE_CHROMIUM names. Only tests need it; tidegate itself never starts one.

/** Where Debian's chromium package puts its launcher. */
export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

export const CHROMIUM_FIX =
  "bash scripts/setup.sh (installs Debian's chromium), or set TIDEGATE_CHROMIUM to a Chromium or Chrome executable";

/**
 * The Chromium to use: TIDEGATE_CHROMIUM when set (even if it is not there: a named one is never
 * silently replaced), else /usr/bin/chromium; `missing` says why there is none.
 */
export function findChromium(
  env: NodeJS.ProcessEnv = process.env,
): { path: string; missing?: undefined } | { path: string; missing: string } {
  const named = env.TIDEGATE_CHROMIUM?.trim();
  const file = named || DEFAULT_CHROMIUM;
  const source = named ? `TIDEGATE_CHROMIUM=${named}` : file;
  try {
    fs.accessSync(file, fs.constants.X_OK);
    if (!fs.statSync(file).isFile()) return { path: file, missing: `${source} is not a file` };
    return { path: file };
  } catch {
    return { path: file, missing: `no executable Chromium at ${source}` };
  }
}
