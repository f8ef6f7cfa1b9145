import { observeCommand } from "./observe";

// `tidegate sync <env>`: see observe.ts.
export const command = observeCommand("sync");
