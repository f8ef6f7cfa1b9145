import { execFileSync } from "node:child_process";

/** Whether bwrap can make namespaces on this machine; sandbox tests are skipped, with this reason, where not. */
export function bubblewrapWorks(): boolean {
  try {
    execFileSync("bwrap", ["--unshare-all", "--ro-bind", "/", "/", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Appended to the name of every test that needs bubblewrap, so a skip shows its reason. */
export const BWRAP_REASON = bubblewrapWorks()
  ? ""
  : " (skipped: bwrap cannot make namespaces here; install bubblewrap)";
