import * as fs from "node:fs";
import * as path from "node:path";
import { type Browser, chromium } from "playwright-core";
import { CHROMIUM_FIX, findChromium } from "../../src/devenv/browser/chromium";

// The browser the dashboard's tests drive: a real Chromium (Debian's, or TIDEGATE_CHROMIUM), headless.
// playwright-core downloads no browser, so a missing one fails here, naming the fix.

/** Launches Chromium headless; `--no-sandbox` only as root, where Chromium refuses its sandbox. */
export async function launchBrowser(): Promise<Browser> {
  const found = findChromium();
  if (found.missing)
    throw new Error(`cannot launch the dashboard's browser: ${found.missing}; fix: ${CHROMIUM_FIX}`);
  const root = process.getuid?.() === 0;
  return chromium.launch({
    executablePath: found.path,
    headless: true,
    ...(root ? { args: ["--no-sandbox"] } : {}),
  });
}

/** Where browser tests keep their screenshots (test-results/ is ignored by Git); created if needed. */
export function screenshotDir(): string {
  const dir = path.resolve(__dirname, "..", "..", "test-results", "screenshots");
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
