import type { WebhookProviderName } from "../../config/resolve";
import type { HeaderOf } from "./verify";

// What a verified delivery says: whether it is a push, which repository and which branches. The
// commit ids in it are never read: the daemon reads the branch head itself.

export interface Delivery {
  /** The provider's event name ("push", "Push Hook", "repo:push", "ping", ...). */
  event: string;
  /** The repository it names ("" when none). */
  repository: string;
  /** The branches a push names; empty for any other event. */
  branches: string[];
}

type Json = Record<string, unknown>;

const BRANCH_REF = "refs/heads/";

/** undefined when the body is not the JSON object a provider sends. */
export function readDelivery(
  provider: WebhookProviderName,
  header: HeaderOf,
  body: Uint8Array,
): Delivery | undefined {
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch {
    return undefined;
  }
  if (!isObject(payload)) return undefined;
  switch (provider) {
    case "github":
      return refPush(
        header("x-github-event"),
        "push",
        payload,
        text(field(payload, "repository"), "full_name"),
      );
    case "gitea":
    case "forgejo": {
      const event = header("x-gitea-event") ?? header("x-forgejo-event");
      return refPush(event, "push", payload, text(field(payload, "repository"), "full_name"));
    }
    case "gitlab":
      return refPush(
        header("x-gitlab-event"),
        "Push Hook",
        payload,
        text(field(payload, "project"), "path_with_namespace"),
      );
    case "bitbucket":
      return bitbucket(header("x-event-key") ?? "", payload);
    case "generic":
      return generic(payload);
  }
}

function refPush(event: string | undefined, pushEvent: string, payload: Json, repository: string): Delivery {
  const name = event ?? "";
  const branch = name === pushEvent ? branchOfRef(text(payload, "ref")) : undefined;
  return { event: name, repository, branches: branch ? [branch] : [] };
}

/** Cloud: repo:push with push.changes[].new; Data Center: repo:refs_changed with changes[].ref. */
function bitbucket(event: string, payload: Json): Delivery {
  const repo = field(payload, "repository");
  const project = text(field(repo, "project"), "key");
  const repository =
    text(repo, "full_name") || (project ? `${project}/${text(repo, "slug")}` : text(repo, "slug"));
  const branches = new Set<string>();
  if (event === "repo:push") {
    for (const change of list(field(field(payload, "push"), "changes"))) {
      const after = field(change, "new");
      if (text(after, "type") === "branch" && text(after, "name")) branches.add(text(after, "name"));
    }
  } else if (event === "repo:refs_changed") {
    for (const change of list(field(payload, "changes"))) {
      const branch = branchOfRef(text(field(change, "ref"), "id"));
      if (branch && text(change, "type") !== "DELETE") branches.add(branch);
    }
  }
  return { event, repository, branches: [...branches] };
}

/** { "ref": "refs/heads/<branch>" } or { "branch": "<branch>" }, and an optional "repository". */
function generic(payload: Json): Delivery {
  const branch = branchOfRef(text(payload, "ref")) ?? (text(payload, "branch") || undefined);
  return {
    event: branch ? "push" : "other",
    repository: text(payload, "repository"),
    branches: branch ? [branch] : [],
  };
}

function branchOfRef(ref: string): string | undefined {
  return ref.startsWith(BRANCH_REF) && ref.length > BRANCH_REF.length
    ? ref.slice(BRANCH_REF.length)
    : undefined;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function field(value: unknown, key: string): unknown {
  return isObject(value) ? value[key] : undefined;
}

function text(value: unknown, key: string): string {
  const found = field(value, key);
  return typeof found === "string" ? found : "";
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
