import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../../../src/render/markdown";
import { DIGEST, gatedReport, sampleReport } from "./fixture";

/** The text of one `## ` section, up to the next one. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`## ${title}`);
  if (start < 0) throw new Error(`no section ${title} in:\n${markdown}`);
  const next = markdown.indexOf("\n## ", start + 1);
  const end = markdown.indexOf("\n---\n", start);
  const stops = [next, end].filter((i) => i > 0);
  return markdown.slice(start, stops.length > 0 ? Math.min(...stops) : undefined);
}

const PENDING = "Pending changes (Git → deployed)";
const DRIFT = "Drift (live ≠ deployed)";

describe("renderMarkdown", () => {
  const markdown = renderMarkdown(sampleReport());

  it("starts with the environment, its status and the reason", () => {
    expect(markdown.split("\n")[0]).toBe(
      "# test: OutOfSync+Drifted — 1 resource to update, 1 drifted outside Git",
    );
  });

  it("shows the commit by short sha, author, date and subject only", () => {
    expect(markdown).toContain(
      "- Commit 4f1c2a9e0b7d by Dana Ops, 2025-03-04T10:20:30+01:00: Raise the queue's visibility timeout",
    );
    expect(markdown).not.toContain("Consumers need longer");
    expect(markdown).toContain("- Deployed: 9a8b7c6");
  });

  it("puts drift rows under Drift, with a live column, and not under Pending", () => {
    const drift = section(markdown, DRIFT);
    const pending = section(markdown, PENDING);
    const row = '| tags.team | "platform" | "intruders" |';
    expect(drift).toContain(row);
    expect(pending).not.toContain(row);
    expect(drift).toContain("| property | deployed | live |");
    expect(drift).toContain("### assets (aws:s3/bucket:Bucket): drifted");
    expect(drift).toContain('| tags.note | (not set) | "added by hand" |');
  });

  it("puts pending rows under Pending, with a desired column", () => {
    const pending = section(markdown, PENDING);
    expect(pending).toContain("| property | deployed | desired |");
    expect(pending).toContain("### events (aws:sqs/queue:Queue): update");
    expect(pending).toContain("| visibilityTimeoutSeconds | 30 | 60 |");
    expect(pending).toContain('| tags.team | "platform" | "queues" |');
    expect(pending).toContain("1 resource: 1 update.");
    expect(section(markdown, DRIFT)).not.toContain("visibilityTimeoutSeconds");
  });

  it("shows secrets masked as the model has them, never a value", () => {
    expect(section(markdown, DRIFT)).toContain("| policy | [secret] | [secret] |");
  });

  it("renders objects as compact JSON and marks properties that force a replacement", () => {
    const text = renderMarkdown(
      sampleReport({
        pending: {
          kind: "pending",
          resources: [
            {
              urn: "urn:pulumi:test::platform::aws:s3/bucket:Bucket::assets",
              type: "aws:s3/bucket:Bucket",
              name: "assets",
              action: "replace",
              properties: [
                { path: "bucket", kind: "update", old: "a", new: "b", replaces: true },
                { path: "cors", kind: "add", new: { origins: ["*"], maxAge: 60 }, replaces: false },
                { path: "arn", kind: "update", old: "arn:1", new: "(known after apply)", replaces: false },
              ],
            },
          ],
        },
      }),
    );
    const pending = section(text, PENDING);
    expect(pending).toContain('| bucket (forces replacement) | "a" | "b" |');
    expect(pending).toContain('| cors | (not set) | {"origins":["\\*"],"maxAge":60} |');
    expect(pending).toContain('| arn | "arn:1" | (known after apply) |');
  });

  it("says which drift an update may leave, in the property's row and in the plan's line", () => {
    const report = gatedReport({
      drift: {
        kind: "drift",
        resources: [
          {
            urn: "urn:pulumi:test::platform::kubernetes:apps/v1:Deployment::web",
            type: "kubernetes:apps/v1:Deployment",
            name: "web",
            action: "drifted",
            properties: [
              {
                path: "metadata.labels.hotfix",
                kind: "add",
                new: "x",
                replaces: false,
                notRestorable: "set by kubectl",
              },
            ],
          },
        ],
      },
    });
    const text = renderMarkdown({ ...report, plan: { ...report.plan!, remediate: true } });
    expect(section(text, DRIFT)).toContain('| metadata.labels.hotfix (set by kubectl) | (not set) | "x" |');
    expect(text).toContain(
      "; a sync also restores the drift except 1 property an update may leave (see notRestorable).",
    );
  });

  it("escapes pipes, newlines and markup inside table cells", () => {
    const text = renderMarkdown(
      sampleReport({
        drift: {
          kind: "drift",
          resources: [
            {
              urn: "urn:pulumi:test::platform::aws:s3/bucket:Bucket::assets",
              type: "aws:s3/bucket:Bucket",
              name: "assets",
              action: "drifted",
              properties: [
                { path: "weird\nkey", kind: "update", old: "a|b", new: "<img src=x>", replaces: false },
                { path: "tags.link", kind: "add", new: "[click](https://evil.example)", replaces: false },
                { path: "tags.snake", kind: "add", new: "my_bucket_name", replaces: false },
              ],
            },
          ],
        },
      }),
    );
    const drift = section(text, DRIFT);
    expect(drift).toContain('| weird<br>key | "a\\|b" | "\\<img src=x\\>" |');
    expect(drift).toContain('| tags.link | (not set) | "[click\\](https://evil.example)" |');
    expect(drift).toContain('| tags.snake | (not set) | "my_bucket_name" |');
    // Every table row still has exactly four unescaped pipes (three cells).
    for (const line of drift.split("\n").filter((l) => l.startsWith("|"))) {
      expect(line.match(/(?<!\\)\|/g)).toHaveLength(4);
    }
  });

  it("escapes the reason so a one-line header stays one line", () => {
    const text = renderMarkdown(sampleReport({ reason: "gate *approval* said no\nsee the log" }));
    expect(text.split("\n")[0]).toBe(
      "# test: OutOfSync+Drifted — gate \\*approval\\* said no<br>see the log",
    );
  });

  it("says so when a section is empty, and when it was not checked", () => {
    const empty = renderMarkdown(
      sampleReport({
        status: "Synced",
        reason: undefined,
        pending: { kind: "pending", resources: [] },
        drift: { kind: "drift", resources: [] },
      }),
    );
    expect(empty.split("\n")[0]).toBe("# test: Synced");
    expect(section(empty, PENDING)).toContain("Nothing pending.");
    expect(section(empty, DRIFT)).toContain("No drift.");
    expect(empty).not.toContain("| property |");

    const stopped = renderMarkdown(sampleReport({ status: "Failed", pending: undefined, drift: undefined }));
    expect(section(stopped, PENDING)).toContain("Not checked.");
    expect(section(stopped, DRIFT)).toContain("Not checked.");
  });

  it("describes resources that have no property detail", () => {
    const text = renderMarkdown(
      sampleReport({
        drift: {
          kind: "drift",
          resources: [
            {
              urn: "urn:pulumi:test::platform::aws:sqs/queue:Queue::dead",
              type: "aws:sqs/queue:Queue",
              name: "dead",
              action: "missing",
              properties: [],
            },
          ],
        },
      }),
    );
    expect(section(text, DRIFT)).toContain(
      "### dead (aws:sqs/queue:Queue): missing\n\nGone from the live world; the deployed state still records it.",
    );
  });

  it("shows the sync outcome only when there was one", () => {
    expect(markdown).not.toContain("## Sync");
    const synced = renderMarkdown(
      sampleReport({ sync: { applied: true, summary: { update: 1, same: 4, delete: 0 } } }),
    );
    expect(section(synced, "Sync")).toContain("Applied: 1 update, 4 same.");
  });

  it("ends with the run, timings and tool versions", () => {
    const footer = markdown.slice(markdown.indexOf("\n---\n"));
    expect(footer).toContain("- Run run-0001, 2025-03-04T09:30:00.000Z → 2025-03-04T09:30:12.500Z (12.5 s)");
    expect(footer).toContain("- Timings: poll 12 ms, preview 9.0 s, refresh 3.4 s");
    expect(footer).toContain("- Versions: tidegate 0.1.0, Pulumi 3.274.1, Node 22.23.3");
    expect(markdown.endsWith("Node 22.23.3\n")).toBe(true);
  });

  it("shows no gate, check or policy section when there is nothing to show", () => {
    for (const title of ["## Gates", "## Gates change", "## Checks", "## Policy"]) {
      expect(markdown).not.toContain(title);
    }
    const ungated = renderMarkdown(
      sampleReport({
        plan: { commit: "4f1c2a9e0b7d", digest: DIGEST, remediate: false },
        gates: [],
        checks: [],
        policy: [],
      }),
    );
    expect(ungated).not.toContain("## Gates");
    expect(ungated).not.toContain("## Checks");
    expect(ungated).not.toContain("## Policy");
  });
});

describe("renderMarkdown of a gated report", () => {
  const markdown = renderMarkdown(gatedReport());

  it("puts the gates right after the commit, before the changes", () => {
    expect(markdown.indexOf("## Gates")).toBeGreaterThan(markdown.indexOf("- Deployed:"));
    expect(markdown.indexOf("## Gates")).toBeLessThan(markdown.indexOf(`## ${PENDING}`));
  });

  it("shows each gate's verdict and reason, the plan digest (short) and commit, and the approvals counted", () => {
    expect(section(markdown, "Gates")).toBe(
      [
        "## Gates",
        "",
        "Plan `3f9a0c1d2e4b` at commit 4f1c2a9e0b7d; a sync leaves the drift as it is.",
        "",
        "- ✔ **promotion** (pass): succeeded in stage 3h ago",
        "- ⏳ **approval** (wait): 1 of 2 approvals (needs one more of ops@example.com)",
        "- ✖ **window** (block): closed until Mon 09:00 Europe/Berlin",
        "- ✖ **checks** (block): functional failed (exit 1)",
        "",
        "Approvals counted:",
        "",
        "- alice@example.com at 2025-03-04T09:10:00Z (sync)",
        "",
      ].join("\n"),
    );
  });

  it("says whether a sync restores drift, only when there is drift, and names protected approvals", () => {
    const plan = { commit: "4f1c2a9e0b7d3c5a6e8f9a0b1c2d3e4f5a6b7c8d", digest: DIGEST, remediate: true };
    const remediating = renderMarkdown(
      gatedReport({
        plan,
        approvals: [{ approver: "bob", scope: "protected", at: "2025-03-04T09:20:00Z" }],
      }),
    );
    expect(section(remediating, "Gates")).toContain("; a sync also restores the drift.");
    expect(section(remediating, "Gates")).toContain(
      "- bob at 2025-03-04T09:20:00Z (protected: the plan and its protected operations)",
    );
    const noDrift = renderMarkdown(gatedReport({ plan, drift: { kind: "drift", resources: [] } }));
    expect(section(noDrift, "Gates")).toContain("Plan `3f9a0c1d2e4b` at commit 4f1c2a9e0b7d.");
  });

  it("escapes gate reasons, which can quote config and names", () => {
    const text = renderMarkdown(
      gatedReport({ gates: [{ gate: "protected", verdict: "block", reason: "delete of <b>*prod*</b>" }] }),
    );
    expect(section(text, "Gates")).toContain(
      "- ✖ **protected** (block): delete of \\<b\\>\\*prod\\*\\</b\\>",
    );
  });

  it("warns when the commit changes the environment's own gates, and lists the changes", () => {
    expect(markdown).not.toContain("## Gates change");
    const text = renderMarkdown(
      gatedReport({ gatesChange: { changes: ["approval: removed", "windows: 1 → 0"] } }),
    );
    const change = section(text, "Gates change");
    expect(change).toContain(
      "> ⚠ **This commit changes prod's gates.** The new gates apply only after it is deployed; until then the gates of the deployed commit decide, this sync included.",
    );
    expect(change).toContain("- approval: removed\n- windows: 1 → 0");
    expect(text.indexOf("## Gates change")).toBeLessThan(text.indexOf(`## ${PENDING}`));
  });

  it("shows each check with its outcome and duration, the output folded, open when it failed", () => {
    const checks = section(markdown, "Checks");
    expect(checks).toContain("### ✔ unit: passed, exit 0 in 1.2 s\n\nCommand: `npm test`");
    expect(checks).toContain(
      "<details>\n<summary>Output (1 line)</summary>\n\n```text\nok 12 tests\n```\n\n</details>",
    );
    expect(checks).toContain("### ✖ functional: failed, exit 1 in 3.0 s");
    expect(checks).toContain("<details open>\n<summary>Output (4 lines)</summary>");
    expect(checks).not.toContain("Ran at commit");
  });

  it("fences output with more backticks than it holds, so it cannot end the block or the details", () => {
    const checks = section(markdown, "Checks");
    expect(checks).toContain(
      "````text\nexpected `200`, got ```500```\n```\n</details>\nFAIL\n````\n\n</details>",
    );
  });

  it("reads timed out and killed, says when there is no output, and keeps commands with backticks whole", () => {
    const base = gatedReport().checks![0]!;
    const text = renderMarkdown(
      gatedReport({
        checks: [
          { ...base, name: "slow", exitCode: null, timedOut: true, durationMs: 300_000, output: "" },
          {
            ...base,
            name: "killed",
            command: "echo `date`",
            exitCode: null,
            durationMs: 2000,
            output: "\n  \n",
          },
          { ...base, name: "script", command: "npm ci\nnpm test\n", commit: "0123456789abcdef" },
        ],
      }),
    );
    const checks = section(text, "Checks");
    expect(checks).toContain("### ✖ slow: timed out after 5 min 0 s");
    expect(checks).toContain("### ✖ killed: killed after 2.0 s\n\nCommand: `` echo `date` ``\n\nNo output.");
    expect(checks).toContain("```sh\nnpm ci\nnpm test\n```\n\nRan at commit 0123456789ab.");
  });

  it("lists policy findings per resource, mandatory vs advisory, stack-wide ones last", () => {
    expect(section(markdown, "Policy")).toBe(
      [
        "## Policy",
        "",
        "3 violations: 1 mandatory (blocks the sync), 2 advisory.",
        "",
        "### assets (aws:s3/bucket:Bucket)",
        "",
        "- ✖ **mandatory** aws-guard/s3-no-public-read: Bucket assets allows public reads.",
        "",
        "### events (aws:sqs/queue:Queue)",
        "",
        "- ⚠ advisory aws-guard/sqs-encryption: Queue events is not encrypted at rest.",
        "",
        "### Stack-wide",
        "",
        "- ⚠ advisory aws-guard/stack-tags: The stack has no owner tag.",
        "",
      ].join("\n"),
    );
    expect(markdown.indexOf("## Policy")).toBeGreaterThan(markdown.indexOf(`## ${DRIFT}`));
  });

  it("says so when a sync window closed during the update", () => {
    const text = renderMarkdown(
      gatedReport({
        sync: {
          applied: true,
          summary: { update: 1 },
          windowClosedDuringUpdate:
            "the sync window closed while the update ran (allow 0 9 * * 1-5 for 8h); the update was let finish",
        },
      }),
    );
    expect(section(text, "Sync")).toBe(
      [
        "## Sync",
        "",
        "Applied: 1 update.",
        "",
        "> ⚠ The sync window closed while the update ran (allow 0 9 \\* \\* 1-5 for 8h); the update was let finish.",
        "",
      ].join("\n"),
    );
  });
});
