import { describe, expect, it } from "vitest";
import { renderPlan } from "../../../src/render/plan";
import { DIGEST, gatedReport } from "./fixture";

describe("renderPlan", () => {
  it("shows the environment, the commit, the changes, the gates and the full digest", () => {
    const text = renderPlan(gatedReport({ policy: [], checks: [] }));
    expect(text).toBe(
      [
        "Plan for prod (stack prod, branch prod)",
        "  commit    4f1c2a9e0b7d by Dana Ops: Raise the queue's visibility timeout",
        "  deployed  9a8b7c6d5e4f",
        "  status    Blocked: window: closed until Mon 09:00 Europe/Berlin; checks: functional failed (exit 1)",
        "",
        "Pending changes (Git → deployed): 1 resource",
        "  ~ events (aws:sqs/queue:Queue) visibilityTimeoutSeconds: 30 → 60",
        '  ~ events (aws:sqs/queue:Queue) tags.team: "platform" → "queues"',
        "",
        "Drift (live ≠ deployed): 1 resource",
        '  ~ assets (aws:s3/bucket:Bucket) tags.team: "platform" → "intruders"',
        '  ~ assets (aws:s3/bucket:Bucket) tags.note: (not set) → "added by hand"',
        "  ~ assets (aws:s3/bucket:Bucket) policy: [secret] → [secret]",
        "A sync of this plan leaves this drift as it is (drift policy report).",
        "",
        "Gates (plan 3f9a0c1d2e4b):",
        "  ✔ promotion (pass): succeeded in stage 3h ago",
        "  ⏳ approval (wait): 1 of 2 approvals (needs one more of ops@example.com)",
        "  ✖ window (block): closed until Mon 09:00 Europe/Berlin",
        "  ✖ checks (block): functional failed (exit 1)",
        "Approvals counted:",
        "  alice@example.com at 2025-03-04T09:10:00Z (sync)",
        "",
        `plan digest: ${DIGEST}`,
        "",
      ].join("\n"),
    );
  });

  it("says when the sync restores drift, and says nothing about drift when there is none", () => {
    const plan = { commit: "4f1c2a9e0b7d3c5a6e8f9a0b1c2d3e4f5a6b7c8d", digest: DIGEST, remediate: true };
    expect(renderPlan(gatedReport({ plan }))).toContain(
      "A sync of this plan restores this drift (drift policy remediate).",
    );
    const clean = renderPlan(gatedReport({ plan, drift: { kind: "drift", resources: [] } }));
    expect(clean).toContain("Drift (live ≠ deployed): none");
    expect(clean).not.toContain("A sync of this plan");
  });

  it("adds the gates change warning, the checks and the policy findings", () => {
    const text = renderPlan(gatedReport({ gatesChange: { changes: ["approval: removed"] } }));
    expect(text).toContain(
      [
        "⚠ This commit changes prod's gates. They apply only after it is deployed;",
        "  until then the gates of the deployed commit decide, this sync included.",
        "  - approval: removed",
      ].join("\n"),
    );
    expect(text).toContain(
      "Checks:\n  ✔ unit: passed, exit 0 in 1.2 s\n  ✖ functional: failed, exit 1 in 3.0 s\nPolicy:\n",
    );
    expect(text).toContain(
      "  ✖ mandatory on assets: aws-guard/s3-no-public-read: Bucket assets allows public reads.",
    );
    expect(text.endsWith(`\nplan digest: ${DIGEST}\n`)).toBe(true);
  });

  it("shows only the sha of a plan whose commit is not the report's head, and says when there is no plan", () => {
    const other = renderPlan(
      gatedReport({ plan: { commit: "0123456789abcdef0123", digest: DIGEST, remediate: false } }),
    );
    expect(other).toContain("  commit    0123456789ab\n");

    const none = renderPlan(
      gatedReport({
        status: "Synced",
        reason: undefined,
        plan: undefined,
        gates: undefined,
        approvals: undefined,
        checks: undefined,
        policy: undefined,
        deployed: {},
      }),
    );
    expect(none).toContain("  deployed  nothing yet\n  status    Synced\n");
    expect(none).not.toContain("Gates");
    expect(none).toContain(
      "plan digest: none (nothing to apply, or the check stopped before a plan was made)",
    );
  });

  it("keeps terminal control characters out", () => {
    const text = renderPlan(
      gatedReport({ gates: [{ gate: "approval", verdict: "wait", reason: "needs \u001b[31mbob" }] }),
    );
    expect(text).not.toContain("\u001b");
    expect(text).toContain("  ⏳ approval (wait): needs  [31mbob");
  });
});
