// drift.ignore rules reach the program as Pulumi `ignoreChanges`: a stack transformation the Node.js
// program host registers before the program runs. With it, an update (and `up --refresh`, the
// remediation) keeps the state's value of an ignored property instead of the program's, so drift a
// rule expects is never reverted. The program's files are not touched: Node preloads the hook
// (NODE_OPTIONS --import of a data: URL) and the rules come in TIDEGATE_IGNORE_CHANGES.
import type { IgnoreChangesSpec } from "../../domain/ignore";

export const IGNORE_CHANGES_VARIABLE = "TIDEGATE_IGNORE_CHANGES";

// Runs in every Node.js process of the stack (program, dynamic providers); acts only where the Pulumi
// runtime starts a stack: it wraps runInPulumiStack to register the transformation first.
const HOOK = `
import Module from "node:module";
const rules = JSON.parse(process.env.${IGNORE_CHANGES_VARIABLE} || "[]").map((r) => ({
  type: new RegExp(r.type), name: new RegExp(r.name), paths: r.paths,
}));
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const exports = load.apply(this, arguments);
  if (rules.length > 0 && exports && typeof exports.runInPulumiStack === "function" &&
      typeof exports.registerStackTransformation === "function" && !exports.__tidegateIgnore) {
    exports.__tidegateIgnore = true;
    const run = exports.runInPulumiStack;
    exports.runInPulumiStack = (init) => run(async () => {
      exports.registerStackTransformation((args) => {
        const paths = rules.filter((r) => r.type.test(args.type) && r.name.test(args.name)).flatMap((r) => r.paths);
        if (paths.length === 0) return undefined;
        const ignoreChanges = [...(args.opts.ignoreChanges || []), ...paths];
        return { props: args.props, opts: { ...args.opts, ignoreChanges } };
      });
      return init();
    });
  }
  return exports;
};
`;

/** The variables that make the stack's Node.js program ignore these changes; none without rules. */
export function ignoreChangesEnv(
  specs: readonly IgnoreChangesSpec[] | undefined,
  nodeOptions: string | undefined,
): Record<string, string> {
  if (!specs || specs.length === 0) return {};
  const hook = `--import=data:text/javascript,${encodeURIComponent(HOOK)}`;
  return {
    [IGNORE_CHANGES_VARIABLE]: JSON.stringify(specs),
    NODE_OPTIONS: nodeOptions ? `${nodeOptions} ${hook}` : hook,
  };
}
