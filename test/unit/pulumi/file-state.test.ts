import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fileStatePath, readFileHistory, readFileState } from "../../../src/adapters/pulumi/file-state";

describe("reading a file backend's checkpoint", () => {
  let root: string;
  let url: string;
  const write = (content: string) => {
    const file = fileStatePath(url, "proj", "dev")!;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  };
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "file-state-"));
    url = pathToFileURL(root).href;
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("gives what `pulumi stack export` gives: the version and the latest deployment", () => {
    const latest = { manifest: { time: "t" }, secrets_providers: { type: "passphrase" }, resources: [] };
    write(JSON.stringify({ version: 3, checkpoint: { stack: "organization/proj/dev", latest } }));
    expect(readFileState(url, "proj", "dev")).toEqual({ version: 3, deployment: latest });
    expect(fileStatePath(url, "proj", "dev")).toBe(path.join(root, ".pulumi", "stacks", "proj", "dev.json"));
  });

  it("keeps apart stacks of one name in two projects of one backend (an environment's cloud and app)", () => {
    const put = (project: string, output: string) => {
      const file = fileStatePath(url, project, "test")!;
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const latest = { resources: [{ type: "pulumi:pulumi:Stack", outputs: { output } }] };
      fs.writeFileSync(file, JSON.stringify({ version: 3, checkpoint: { latest } }));
    };
    put("cloud", "from cloud");
    put("app", "from app");
    const output = (project: string) =>
      (readFileState(url, project, "test")?.deployment as { resources: Array<{ outputs: unknown }> })
        .resources[0]!.outputs;
    expect(output("cloud")).toEqual({ output: "from cloud" });
    expect(output("app")).toEqual({ output: "from app" });
  });

  it("leaves every doubtful case to the CLI, which names the problem", () => {
    expect(readFileState(url, "proj", "dev")).toBeUndefined(); // no file
    write('{"version": 3, "checkpoint": {"stack": "organization/proj/dev"}}'); // never updated
    expect(readFileState(url, "proj", "dev")).toBeUndefined();
    write('{"version": 3, "checkpoint": {"latest": {"resou'); // truncated
    expect(readFileState(url, "proj", "dev")).toBeUndefined();
    expect(readFileState("s3://bucket", "proj", "dev")).toBeUndefined();
    expect(fileStatePath(url, "proj", "org/proj/dev")).toBeUndefined();
  });

  it("lists the history newest first, as `pulumi stack history` does, up to the limit", () => {
    const dir = path.join(root, ".pulumi", "history", "proj", "dev");
    fs.mkdirSync(dir, { recursive: true });
    const update = (version: number, result: string, message: string) => ({
      kind: "update",
      startTime: 1796000000 + version,
      message,
      environment: { "git.head": `h${version}` },
      version,
      result,
      endTime: 1796000010 + version,
    });
    // Names carry Unix nanoseconds: 9 sorts after 10 as text, not as a number.
    fs.writeFileSync(
      path.join(dir, "dev-1796000009000000000.history.json"),
      JSON.stringify(update(1, "succeeded", "a")),
    );
    fs.writeFileSync(
      path.join(dir, "dev-1796000010000000000.history.json"),
      JSON.stringify(update(2, "failed", "b")),
    );
    fs.writeFileSync(path.join(dir, "dev-1796000010000000000.checkpoint.json"), "{}");
    fs.writeFileSync(
      path.join(dir, "other-1796000011000000000.history.json"),
      JSON.stringify(update(9, "x", "c")),
    );

    const history = readFileHistory(url, "proj", "dev", 20);
    expect(history?.map((u) => [u.version, u.result, u.message])).toEqual([
      [2, "failed", "b"],
      [1, "succeeded", "a"],
    ]);
    expect(history?.[1]?.endTime.toISOString()).toBe(new Date(1796000011 * 1000).toISOString());
    expect(history?.[1]?.environment["git.head"]).toBe("h1");
    expect(readFileHistory(url, "proj", "dev", 1)).toHaveLength(1);

    fs.writeFileSync(path.join(dir, "dev-1796000012000000000.history.json"), "{ half");
    expect(readFileHistory(url, "proj", "dev", 20)).toBeUndefined();
    expect(readFileHistory(url, "proj", "none", 20)).toBeUndefined();
  });
});
