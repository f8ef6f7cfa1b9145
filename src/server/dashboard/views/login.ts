import { layout, type PageContext, csrfField } from "./layout";
import { html, type Html } from "./markup";

// Signing in with a token, and the page for an error the dashboard cannot show in place.

export function loginPage(ctx: PageContext & { error?: string; next?: string }): Html {
  const body = html`<h1>Sign in</h1>
    ${ctx.error === undefined ? "" : html`<p class="flash flash-error" data-testid="login-error" role="alert">${ctx.error}</p>`}
    <form method="post" action="/login" class="login" data-testid="login">
      ${csrfField(ctx)}
      ${ctx.next === undefined ? "" : html`<input type="hidden" name="next" value="${ctx.next}" />`}
      <label for="token">API token</label>
      <input name="token" id="token" type="password" autocomplete="off" required />
      <button type="submit">Sign in</button>
    </form>
    <p class="hint">
      Create a token with <code>tidegate token create --name &lt;you&gt; --scope read</code>.
    </p>`;
  return layout({ title: "Sign in", kind: "login", body }, ctx);
}

export function errorPage(
  problem: { status: number; title: string; detail: string; recovery?: string },
  ctx: PageContext,
): Html {
  const body = html`<h1>${problem.status} ${problem.title}</h1>
    <p data-testid="error-detail">${problem.detail}</p>
    ${problem.recovery === undefined ? "" : html`<p class="recovery">${problem.recovery}</p>`}
    <p><a href="/">Back to the pipeline</a></p>`;
  return layout({ title: problem.title, kind: "error", body }, ctx);
}
