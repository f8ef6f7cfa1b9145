import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { providerDirsOn } from "../../../src/adapters/sandbox";

// Which folders of the engine's PATH a sandbox keeps in sight: those holding provider plugins.

describe("providerDirsOn", () => {
  const dirs: string[] = [];
  const folder = (...files: string[]) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-providers-"));
    for (const file of files) fs.writeFileSync(path.join(dir, file), "");
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("keeps folders with a pulumi-resource-* file, once each, in PATH order", () => {
    const kubernetes = folder("pulumi-resource-kubernetes", "kube-apiserver");
    const tools = folder("git", "make");
    const random = folder("pulumi-resource-random");
    const value = [kubernetes, tools, "relative/bin", random, kubernetes, "/no/such/dir"].join(
      path.delimiter,
    );
    expect(providerDirsOn(value)).toEqual([kubernetes, random]);
  });

  it("is empty without a PATH", () => {
    expect(providerDirsOn(undefined)).toEqual([]);
  });
});
