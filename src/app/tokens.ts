import type { Scope } from "../domain/token";
import type { Actor } from "./actor";

// Who an API token is (the tokens slice owns this file and its TokenService; the server codes against
// this interface).

export interface Principal {
  name: string;
  /** The person or team the token acts for (no-self-approval compares it with commit authors). */
  owner: string;
  scopes: Scope[];
  actor: Actor;
}
