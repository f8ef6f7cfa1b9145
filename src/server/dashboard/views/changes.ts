import type { ChangeSet, PropertyChange, ResourceChange } from "../../../domain/changes";
import { displayType, formatValue, WITHOUT_PROPERTIES } from "../../../render/format";
import { html, type Html } from "./markup";

// Pending changes and drift, per resource and per property, old → new. Values are shown as the
// report holds them: a masked secret stays "[secret]", an unknown reads "(known after apply)".

const SECTIONS = {
  pending: { title: "Pending changes (Git → deployed)", old: "deployed", new: "desired" },
  drift: { title: "Drift (live ≠ deployed)", old: "deployed", new: "live" },
} as const;

/** Resources open by default up to this many; beyond, each is one line until opened. */
const OPEN_UP_TO = 5;

export function changeSection(kind: ChangeSet["kind"], changes: ChangeSet | undefined): Html {
  const section = SECTIONS[kind];
  return html`<section class="changes" data-testid="${kind}" aria-labelledby="${kind}-title">
    <h2 id="${kind}-title">${section.title}</h2>
    ${changeBody(kind, changes)}
  </section>`;
}

function changeBody(kind: ChangeSet["kind"], changes: ChangeSet | undefined): Html {
  // Absent means the check stopped before this preview; that is not the same as "none".
  if (!changes) return html`<p class="empty">Not checked.</p>`;
  const resources: readonly ResourceChange[] = changes.resources;
  if (resources.length === 0) return html`<p class="empty">none</p>`;
  const open = resources.length <= OPEN_UP_TO;
  return html`<p>${resources.length} ${resources.length === 1 ? "resource" : "resources"}</p>
    ${resources.map((r) => resourceBlock(kind, r, open))}`;
}

function resourceBlock(kind: ChangeSet["kind"], resource: ResourceChange, open: boolean): Html {
  const columns = SECTIONS[kind];
  const count = resource.properties.length;
  return html`<details
    class="resource action-${resource.action}"
    data-testid="resource"
    data-urn="${resource.urn}"
    ${open ? html` open` : ""}
  >
    <summary>
      <span class="action">${resource.action}</span> <span class="type">${displayType(resource.type)}</span>
      <span class="name">${resource.name}</span
      >${count > 0 ? html` <span class="count">(${count} ${count === 1 ? "property" : "properties"})</span>` : ""}
    </summary>
    ${
      count === 0
        ? html`<p class="no-detail">${WITHOUT_PROPERTIES[resource.action]}</p>`
        : html`<table class="properties">
            <thead>
              <tr>
                <th scope="col">property</th>
                <th scope="col">${columns.old}</th>
                <th scope="col" class="arrow"><span class="sr-only">to</span></th>
                <th scope="col">${columns.new}</th>
              </tr>
            </thead>
            <tbody>
              ${resource.properties.map(propertyRow)}
            </tbody>
          </table>`
    }
    ${unchangedLine(resource.unchanged)}
  </details>`;
}

function propertyRow(change: PropertyChange): Html {
  return html`<tr data-testid="property" data-property="${change.path}" class="kind-${change.kind}">
    <th scope="row">
      <code>${change.path}</code
      >${change.replaces ? html` <span class="replaces">forces replacement</span>` : ""}
    </th>
    <td class="old">${value(change.old)}</td>
    <td class="arrow" aria-hidden="true">→</td>
    <td class="new">${value(change.new)}</td>
  </tr>`;
}

function value(v: unknown): Html {
  const text = formatValue(v, Number.POSITIVE_INFINITY);
  return v === undefined ? html`<span class="unset">${text}</span>` : html`<code>${text}</code>`;
}

function unchangedLine(unchanged: number | undefined): Html | string {
  if (unchanged === undefined) return "";
  return html`<p class="unchanged" data-testid="unchanged">
    ${unchanged} unchanged ${unchanged === 1 ? "property" : "properties"} hidden
  </p>`;
}
