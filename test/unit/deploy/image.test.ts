import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

// The image build itself needs root and minutes (deploy/build-image.sh, run by hand): these check
// what can drift apart without it.
const root = path.join(__dirname, "../../..");
const read = (file: string) => readFileSync(path.join(root, file), "utf8");
const containerfile = read("deploy/Containerfile");
const script = read("deploy/build-image.sh");

describe("deploy/build-image.sh", () => {
  it("is valid bash", () => {
    expect(() => execFileSync("bash", ["-n", path.join(root, "deploy/build-image.sh")])).not.toThrow();
  });

  it("passes only APP values the Containerfile has a stage for, and the last stage is the chosen one", () => {
    const stages = [...containerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);
    const arms = [...script.matchAll(/^ {2}(\w+)\)$/gm)].map((m) => m[1]);
    expect(arms).toEqual(["fetch", "host"]);
    for (const arm of arms) expect(stages).toContain(arm);
    expect(containerfile).toMatch(/^ARG APP=fetch$/m);
    expect(containerfile.trimEnd().split("\n").at(-1)).toBe("FROM ${APP}");
  });
});

describe("deploy/Containerfile.dockerignore", () => {
  // APP=fetch packs tidegate from the filtered context: an excluded packaged folder would go
  // missing from the image without an error.
  it("keeps every folder the npm package ships", () => {
    const ignored = read("deploy/Containerfile.dockerignore")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#") && !line.startsWith("!"));
    const files = (JSON.parse(read("package.json")) as { files: string[] }).files.filter(
      (entry) => !entry.startsWith("!") && entry !== "dist/",
    );
    for (const entry of files) {
      const shipped = entry.replace(/\/$/, "");
      const hit = ignored.find((rule) => shipped === rule || shipped.startsWith(`${rule}/`));
      expect(hit, `${entry} (package.json files) is excluded by '${hit}'`).toBeUndefined();
    }
  });
});
