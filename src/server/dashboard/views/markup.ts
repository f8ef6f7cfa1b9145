import { html as honoHtml } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

// hono's `html` escapes every interpolation. Its type allows a promise because a child may be one;
// these views only ever nest synchronous results, so every fragment is a string already.

export type Html = HtmlEscapedString;

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  return honoHtml(strings, ...values) as Html;
}

/** The path of an environment's page (and its sub-pages and form targets). */
export function envPath(environment: string, suffix = ""): string {
  return `/environments/${encodeURIComponent(environment)}${suffix}`;
}
