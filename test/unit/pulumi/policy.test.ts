import type { EngineEvent } from "@pulumi/pulumi/automation";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { programDir } from "../../../src/adapters/pulumi/dependencies";
import {
  ensurePolicyPackDependencies,
  failedOnlyOnPolicy,
  policyViolation,
  policyViolations,
  summaryOf,
} from "../../../src/adapters/pulumi/policy";

const BUCKET_URN = "urn:pulumi:dev::platform-sdk::pulumi-nodejs:dynamic/aws-sdk:Bucket::artifacts";
const QUEUE_URN = "urn:pulumi:dev::platform-sdk::pulumi-nodejs:dynamic/aws-sdk:Queue::events";

// Captured from `pulumi preview --policy-pack policies/aws-sdk-baseline` of stacks/aws-sdk with an
// empty `team` and extraTags {"managed-by": "terraform"} (engine 3.274.1, @pulumi/policy 1.21.0).
const mandatoryEvent = {
  resourceUrn: BUCKET_URN,
  message:
    "Every S3 bucket carries a non-empty `team` tag, so its cost and incidents reach an owner.\nbucket 'artifacts' has no 'team' tag (or it is empty)\n",
  color: "never",
  policyName: "bucket-team-tag",
  policyPackName: "aws-sdk-baseline",
  policyPackVersion: "0.1.0",
  policyPackVersionTag: "0.1.0",
  enforcementLevel: "mandatory",
};
const advisoryEvent = {
  resourceUrn: QUEUE_URN,
  message:
    'Buckets and queues carry `managed-by: pulumi`, so nobody edits them by hand.\n\'events\' has managed-by="terraform", expected "pulumi"\n',
  color: "never",
  policyName: "managed-by-pulumi-tag",
  policyPackName: "aws-sdk-baseline",
  policyPackVersion: "0.1.0",
  policyPackVersionTag: "0.1.0",
  enforcementLevel: "advisory",
};

let sequence = 0;
const event = (body: Partial<EngineEvent>): EngineEvent =>
  ({ sequence: sequence++, timestamp: 1795744451, ...body }) as EngineEvent;
const policy = (e: object) => event({ policyEvent: e as EngineEvent["policyEvent"] });
const diagnostic = (message: string, severity: "error" | "debug", urn?: string) =>
  event({
    diagnosticEvent: {
      prefix: `${severity}: `,
      message,
      color: "never",
      severity,
      ...(urn ? { urn } : {}),
    } as EngineEvent["diagnosticEvent"],
  });
const summary = event({
  summaryEvent: {
    maybeCorrupt: false,
    durationSeconds: 34,
    resourceChanges: { create: 3 },
    policyPacks: { "aws-sdk-baseline|local|/work/policies/aws-sdk-baseline": "0.1.0" },
  } as unknown as EngineEvent["summaryEvent"],
});
const previewFailed = diagnostic("preview failed\n", "error");

describe("policyViolation", () => {
  it("reads a mandatory violation: pack, policy, resource and the policy's description with its finding", () => {
    expect(policyViolation(mandatoryEvent)).toEqual({
      pack: "aws-sdk-baseline",
      policy: "bucket-team-tag",
      level: "mandatory",
      urn: BUCKET_URN,
      message:
        "Every S3 bucket carries a non-empty `team` tag, so its cost and incidents reach an owner.\nbucket 'artifacts' has no 'team' tag (or it is empty)",
    });
  });

  it("reads advisory (and any other non-mandatory level) as advisory", () => {
    expect(policyViolation(advisoryEvent).level).toBe("advisory");
    expect(policyViolation({ ...advisoryEvent, enforcementLevel: "warning" }).level).toBe("advisory");
  });

  it("treats an excepted mandatory violation as advisory: the engine does not fail on it", () => {
    const excepted = { ...mandatoryEvent, exceptions: [{ id: "EXC-1", reason: "legacy bucket" }] };
    expect(policyViolation(excepted).level).toBe("advisory");
  });

  it("leaves the urn out for a stack policy and strips color directives", () => {
    const v = policyViolation({
      ...mandatoryEvent,
      resourceUrn: undefined,
      message: "<{%reset%}>too many buckets\n",
    });
    expect(v).not.toHaveProperty("urn");
    expect(v.message).toBe("too many buckets");
  });

  it("names the missing field of a malformed event", () => {
    expect(() => policyViolation({ message: "x", policyName: "p", enforcementLevel: "mandatory" })).toThrow(
      /policyPackName/,
    );
  });
});

describe("policyViolations", () => {
  it("collects the policy events in the engine's order and ignores everything else", () => {
    const events = [
      diagnostic("Registering resource\n", "debug"),
      policy(advisoryEvent),
      policy(mandatoryEvent),
      summary,
    ];
    expect(policyViolations(events).map((v) => [v.policy, v.level])).toEqual([
      ["managed-by-pulumi-tag", "advisory"],
      ["bucket-team-tag", "mandatory"],
    ]);
  });
});

describe("failedOnlyOnPolicy", () => {
  it("is true for a preview that ran to its summary and failed on a mandatory violation", () => {
    expect(failedOnlyOnPolicy([policy(advisoryEvent), policy(mandatoryEvent), previewFailed, summary])).toBe(
      true,
    );
  });

  it("is false without a mandatory violation, without a summary, or with an error about a resource", () => {
    expect(failedOnlyOnPolicy([policy(advisoryEvent), previewFailed, summary])).toBe(false);
    expect(failedOnlyOnPolicy([policy(mandatoryEvent), previewFailed])).toBe(false);
    const resourceError = diagnostic("creating bucket failed: AccessDenied\n", "error", BUCKET_URN);
    expect(failedOnlyOnPolicy([policy(mandatoryEvent), resourceError, previewFailed, summary])).toBe(false);
  });
});

describe("summaryOf", () => {
  it("is the summary event's resource changes, empty without one", () => {
    expect(summaryOf([summary])).toEqual({ create: 3 });
    expect(summaryOf([])).toEqual({});
  });
});

describe("ensurePolicyPackDependencies", () => {
  const dirs: string[] = [];
  const pack = (files: Record<string, string>): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-pack-"));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a relative folder, a folder without PulumiPolicy.yaml and a pack that is not Node.js", async () => {
    await expect(ensurePolicyPackDependencies({ packDir: "policies/x", cacheDir: "/tmp/c" })).rejects.toThrow(
      /absolute path, got 'policies\/x'/,
    );
    const empty = pack({ "package.json": "{}" });
    await expect(ensurePolicyPackDependencies({ packDir: empty, cacheDir: "/tmp/c" })).rejects.toThrow(
      /PulumiPolicy\.yaml does not exist/,
    );
    const python = pack({ "PulumiPolicy.yaml": "runtime:\n  name: python\n" });
    await expect(ensurePolicyPackDependencies({ packDir: python, cacheDir: "/tmp/c" })).rejects.toThrow(
      /runtime is 'python', expected 'nodejs'/,
    );
  });

  it("finds a pack's program folder from PulumiPolicy.yaml, as for a Pulumi project", () => {
    const dir = pack({ "PulumiPolicy.yaml": "runtime: nodejs\n" });
    expect(programDir(dir)).toBe(dir);
    fs.mkdirSync(path.join(dir, "src"));
    fs.writeFileSync(path.join(dir, "PulumiPolicy.yaml"), "runtime: nodejs\nmain: src\n");
    expect(programDir(dir)).toBe(path.join(dir, "src"));
  });
});
