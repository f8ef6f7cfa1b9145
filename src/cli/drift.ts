import { observeCommand } from "./observe";

// `tidegate drift <env>`: see observe.ts.
export const command = observeCommand("drift");
