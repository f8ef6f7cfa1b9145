import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensurePolicyPackDependencies } from "../../src/adapters/pulumi/policy";
import { repoRoot } from "../../src/config/repo";
import { openTestStack, type TestStack } from "../helpers/stacks";

// Shared with the other integration tests: installs are keyed by lockfile, so a warm run installs nothing.
const DEPENDENCY_CACHE = path.join(os.tmpdir(), "tidegate-it-deps");

// The example pack policies/aws-sdk-baseline on real previews of stacks/aws-sdk: the engine starts
// the pack through our language host (RunPlugin) and reports its findings as policy events.
describe("policy packs on the preview", () => {
  let t: TestStack | undefined;
  let scratch: string;
  let packDir: string;

  beforeAll(async () => {
    // A copy of the pack, so the node_modules link never lands in the repository.
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-it-pack-"));
    packDir = path.join(scratch, "aws-sdk-baseline");
    fs.cpSync(path.join(repoRoot(__dirname), "policies", "aws-sdk-baseline"), packDir, {
      recursive: true,
      filter: (source) => path.basename(source) !== "node_modules",
    });
    await ensurePolicyPackDependencies({ packDir, cacheDir: DEPENDENCY_CACHE });
    t = await openTestStack("stacks/aws-sdk", {
      team: "",
      extraTags: JSON.stringify({ "managed-by": "terraform" }),
    });
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it("a bucket without a team tag is one mandatory violation naming it; the preview is still complete", async () => {
    const preview = await t!.stack.preview({ policyPacks: [packDir] });

    const mandatory = preview.policy.filter((v) => v.level === "mandatory");
    expect(mandatory).toEqual([
      {
        pack: "aws-sdk-baseline",
        policy: "bucket-team-tag",
        level: "mandatory",
        urn: expect.stringMatching(/::pulumi-nodejs:dynamic\/aws-sdk:Bucket::artifacts$/),
        message: expect.stringContaining("bucket 'artifacts' has no 'team' tag"),
      },
    ]);
    const advisory = preview.policy.filter((v) => v.level === "advisory");
    expect(advisory.map((v) => [v.policy, v.urn?.split("::").pop()]).sort()).toEqual([
      ["managed-by-pulumi-tag", "artifacts"],
      ["managed-by-pulumi-tag", "events"],
    ]);
    // Pulumi fails a preview on a mandatory violation; tidegate still gets its changes.
    expect(preview.changes.resources.map((r) => `${r.name}:${r.action}`).sort()).toEqual([
      "artifacts:create",
      "events:create",
    ]);
    expect(preview.summary.create).toBe(3);
  });

  it("with the tags in place, the pack finds nothing", async () => {
    await t!.stack.setConfig("team", "platform");
    await t!.stack.setConfig("extraTags", JSON.stringify({}));

    const preview = await t!.stack.preview({ policyPacks: [packDir] });
    expect(preview.policy).toEqual([]);
    expect(preview.summary.create).toBe(3);
  });
});
