import { z } from "zod";
import { ResolveField } from "../schemas";

// The dashboard's form bodies and its flash, checked at the boundary like the API's JSON. A form's
// checkbox arrives as "1" or not at all; an empty text field means "not given".

const checkbox = z
  .enum(["1"], { error: "expected 1 or nothing" })
  .optional()
  .transform((value) => value === "1");
const optionalText = (max: number) =>
  z
    .string()
    .max(max)
    .optional()
    .transform((value) => (value === "" ? undefined : value));

export const LoginForm = z.object({
  token: z.string({ error: "enter a token" }).trim().min(1, "enter a token").max(512),
  next: z.string().max(2048).optional(),
});

export const ApproveForm = z.object({
  digest: z.string({ error: "the plan's digest is missing" }).min(12, "not a plan digest"),
  protected: checkbox,
  comment: optionalText(1000),
  resolve: ResolveField.optional(),
});

/** Restore or accept the drift: previewed first, then approved or run. */
export const ResolveForm = z.object({ resolve: ResolveField });

export const PromoteForm = z.object({
  from: z
    .string({ error: "name the environment to promote from" })
    .min(1, "name the environment to promote from"),
  dryRun: checkbox,
});

export const EmptyForm = z.object({});

export const Flash = z.object({ kind: z.enum(["ok", "error"]), text: z.string().max(4000) });
export type Flash = z.infer<typeof Flash>;

/** `field: what is wrong` of the first issue: what an error flash or a 400 page says. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const field = issue?.path.join(".") || "(form)";
  return `${field}: ${issue?.message ?? "invalid"}`;
}
