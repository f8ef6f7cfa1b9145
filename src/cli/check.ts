import { observeCommand } from "./observe";

// `tidegate check <env>`: see observe.ts.
export const command = observeCommand("check");
