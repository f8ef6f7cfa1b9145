import { PolicyPack, type ReportViolation, type ResourceValidationArgs } from "@pulumi/policy";

// stacks/aws-sdk manages its bucket and queue as Pulumi dynamic resources; the SDK names their types
// after the module and class given to dynamic.Resource, so policies match on these exact types.
const BUCKET = "pulumi-nodejs:dynamic/aws-sdk:Bucket";
const QUEUE = "pulumi-nodejs:dynamic/aws-sdk:Queue";

function tagsOf(args: ResourceValidationArgs): Record<string, unknown> {
  const tags: unknown = args.props.tags;
  return tags !== null && typeof tags === "object" ? (tags as Record<string, unknown>) : {};
}

function isBlank(value: unknown): boolean {
  return typeof value !== "string" || value.trim() === "";
}

new PolicyPack("aws-sdk-baseline", {
  policies: [
    {
      name: "bucket-team-tag",
      description:
        "Every S3 bucket carries a non-empty `team` tag, so its cost and incidents reach an owner.",
      enforcementLevel: "mandatory",
      validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.type !== BUCKET) return;
        if (isBlank(tagsOf(args).team)) {
          reportViolation(`bucket '${args.name}' has no 'team' tag (or it is empty)`);
        }
      },
    },
    {
      name: "managed-by-pulumi-tag",
      description: "Buckets and queues carry `managed-by: pulumi`, so nobody edits them by hand.",
      enforcementLevel: "advisory",
      validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.type !== BUCKET && args.type !== QUEUE) return;
        const managedBy = tagsOf(args)["managed-by"];
        if (managedBy !== "pulumi") {
          reportViolation(
            `'${args.name}' has managed-by=${JSON.stringify(managedBy ?? null)}, expected "pulumi"`,
          );
        }
      },
    },
  ],
});
