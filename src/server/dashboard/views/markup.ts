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

/** A table with a header row of `columns` and the given body rows. */
export function table(className: string, columns: readonly string[], rows: readonly Html[]): Html {
  return html`<table class="${className}">
    <thead>
      <tr>
        ${columns.map((c) => html`<th scope="col">${c}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}
