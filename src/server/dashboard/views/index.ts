// The dashboard's pages: pure functions of what the use cases return and the page context
// (viewer, CSRF token, flash, now), each returning escaped HTML. No I/O, no clock.
export type { PageContext } from "./layout";
export { pipelinePage } from "./pipeline";
export { environmentPage, runPage } from "./environment";
export { historyPage } from "./history";
export { driftResolutionPage } from "./drift-resolution";
export { auditPage } from "./audit";
export { loginPage, errorPage } from "./login";
export { ASSETS } from "./assets";
