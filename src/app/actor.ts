import { ENGINE_ACTOR } from "../domain/actor";

// Who asks for a use case. Entry points name them (the CLI from TIDEGATE_ACTOR, Git or the OS user;
// the HTTP API from its token); nothing in the core looks an identity up itself.

export interface Actor {
  /** What the audit log and approvals record: an email, a user name, a token's name. */
  id: string;
  kind: "person" | "engine" | "token";
  /** For a token: the person behind it (an email), whom the gates judge its approvals as. */
  owner?: string;
}

export function person(id: string): Actor {
  return { id, kind: "person" };
}

export function token(name: string, owner: string): Actor {
  return { id: name, kind: "token", owner };
}

/** tidegate itself on this host: scheduled runs, auto-syncs. */
export const ENGINE: Actor = { id: ENGINE_ACTOR, kind: "engine" };
