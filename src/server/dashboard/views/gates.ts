import type { GateVerdict } from "../../../domain/gates";
import type { RunReport } from "../../../domain/model";
import { ago } from "./ages";
import { html, type Html } from "./markup";

// The gates' verdicts with their reasons, the approvals that count, and the warning for a commit
// that changes its own environment's gates.

// Symbols every system font has (an hourglass often is not): the word beside it carries the meaning.
const VERDICT_SYMBOLS: Record<GateVerdict["verdict"], string> = { pass: "✔", wait: "○", block: "✖" };

/** One item per gate (`data-testid="gate"`); nothing when no gate is set. */
export function gateList(gates: readonly GateVerdict[]): Html | string {
  if (gates.length === 0) return "";
  return html`<ul class="gates">
    ${gates.map(
      (g) =>
        html`<li
          class="gate verdict-${g.verdict}"
          data-testid="gate"
          data-gate="${g.gate}"
          data-verdict="${g.verdict}"
        >
          <span class="verdict" title="${g.verdict}">${VERDICT_SYMBOLS[g.verdict]} ${g.verdict}</span>
          <strong>${g.gate}</strong>: ${g.reason}
        </li>`,
    )}
  </ul>`;
}

export function gatesSection(
  report: Pick<RunReport, "gates" | "approvals" | "gatesChange">,
  now: Date,
): Html {
  const gates = report.gates ?? [];
  const approvals = report.approvals ?? [];
  return html`<section class="gates-section" data-testid="gates" aria-labelledby="gates-title">
    <h2 id="gates-title">Gates</h2>
    ${gates.length === 0 ? html`<p class="empty">No gate is set.</p>` : gateList(gates)}
    ${gatesChange(report.gatesChange)}
    <h3>Approvals</h3>
    ${
      approvals.length === 0
        ? html`<p class="empty" data-testid="approvals">No approval counts for this plan.</p>`
        : html`<ul class="approvals" data-testid="approvals">
            ${approvals.map(
              (a) =>
                html`<li data-testid="approval">
                  <strong>${a.approver}</strong> (${a.scope})
                  <time datetime="${a.at}" title="${a.at}">${ago(a.at, now)}</time>
                </li>`,
            )}
          </ul>`
    }
  </section>`;
}

function gatesChange(change: RunReport["gatesChange"]): Html | string {
  if (!change) return "";
  return html`<div class="warning" data-testid="gates-change">
    <p>
      This commit changes the environment's gates. They apply only after it is deployed; until then the gates
      of the deployed commit decide, this sync included.
    </p>
    <ul>
      ${change.changes.map((c) => html`<li>${c}</li>`)}
    </ul>
  </div>`;
}
