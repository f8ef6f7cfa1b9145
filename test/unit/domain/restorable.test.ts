import { describe, expect, it } from "vitest";
import type { ChangeSet, PropertyChange } from "../../../src/domain/changes";
import { hasRestorableDrift, keptDrift } from "../../../src/domain/restorable";

// Which drift a remediation has something to do about: a Kubernetes field kubectl set is taken over
// and removed (see adapters/targets/kubernetes-owners), one another manager set is left.

const label = (fieldManager?: string): PropertyChange => ({
  path: "metadata.labels.hotfix",
  kind: "add",
  new: "x",
  replaces: false,
  notRestorable: "set by a field manager, not declared by the program",
  ...(fieldManager ? { fieldManager } : {}),
});

const drift = (property: PropertyChange): ChangeSet => ({
  kind: "drift",
  resources: [
    {
      urn: "urn:pulumi:test::k8s::kubernetes:apps/v1:Deployment::web",
      type: "kubernetes:apps/v1:Deployment",
      name: "web",
      action: "drifted",
      properties: [property],
    },
  ],
});

describe("hasRestorableDrift", () => {
  it("counts a field kubectl set: a remediation takes it over and removes it", () => {
    for (const manager of ["kubectl", "kubectl-edit", "kubectl-label", "before-first-apply"]) {
      expect(hasRestorableDrift(drift(label(manager))), manager).toBe(true);
    }
  });

  it("leaves a field another manager (or an unknown one) set, and keeps it among the drift read back", () => {
    for (const property of [label("ops-script"), label("kubectl2"), label()]) {
      expect(hasRestorableDrift(drift(property)), property.fieldManager ?? "unknown").toBe(false);
      expect(keptDrift(drift(property))).toHaveLength(1);
    }
  });
});
