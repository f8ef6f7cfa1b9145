import js from "@eslint/js";
import boundaries from "eslint-plugin-boundaries";
import tseslint from "typescript-eslint";

// Layers, lowest first. A layer may import its own kind and the ones listed for it; anything else
// (a lower layer reaching up, the core reaching into development-only code) fails `npm test`.
const layers = [
  ["domain", "src/domain/**", []],
  ["gates", "src/gates/**", ["domain"]],
  ["render", "src/render/**", ["domain"]],
  ["config", "src/config/**", ["domain", "gates"]],
  ["log", "src/log/**", ["domain", "config"]],
  ["adapters", "src/adapters/**", ["domain", "gates", "render", "config", "log"]],
  ["reconcile", "src/reconcile/**", ["domain", "gates", "config", "log", "adapters"]],
  ["app", "src/app/**", ["domain", "gates", "render", "config", "log", "adapters", "reconcile"]],
  ["daemon", "src/daemon/**", ["domain", "config", "log", "adapters", "app"]],
  // The HTTP API and the dashboard: an entry point beside the CLI, on the same use cases.
  ["server", "src/server/**", ["domain", "render", "config", "log", "adapters", "app"]],
  // Development-only: the emulator, the local control plane, toolchain builds, demo seeding.
  ["devenv", "src/devenv/**", ["domain", "config", "log", "adapters"]],
  // The entry points (and src/main.ts, src/compose.ts above every layer) may import all of them.
  [
    "cli",
    "src/cli/**",
    [
      "domain",
      "gates",
      "render",
      "config",
      "log",
      "adapters",
      "reconcile",
      "app",
      "daemon",
      "server",
      "devenv",
    ],
  ],
];

export default tseslint.config(
  { ignores: ["dist/**", "dist.new/**", "node_modules/**", "**/node_modules/**", ".venv/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "off",
    },
  },
  {
    // The store and every port are asynchronous: a promise nobody awaits is a write that may be lost.
    files: ["src/**/*.ts", "test/**/*.ts", "bench/**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/await-thenable": "error",
    },
  },
  {
    files: ["src/**/*.ts"],
    plugins: { boundaries },
    settings: {
      "import/resolver": { typescript: { project: "tsconfig.json" } },
      "boundaries/elements": layers.map(([type, pattern]) => ({ type, pattern, partialMatch: false })),
    },
    rules: {
      "boundaries/dependencies": [
        "error",
        {
          default: "disallow",
          policies: layers.map(([type, , allowed]) => ({
            from: { element: { type } },
            allow: { to: { element: { types: { anyOf: [type, ...allowed] } } } },
          })),
        },
      ],
    },
  },
);
