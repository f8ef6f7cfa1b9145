import { describe, expect, it } from "vitest";

import { formatConfigIssues } from "../../../src/config/errors";
import { parseEnvironmentFile } from "../../../src/config/parse";
import {
  checkEnvironmentSet,
  environmentIdentity,
  resolveEnvironment,
  resolveSettings,
} from "../../../src/config/resolve";

// environments/<env>.yaml with `stacks:`: several Pulumi stacks deployed together, in order.

const TEST = "environments/test.yaml";

function yaml(...lines: string[]): string {
  return `${lines.join("\n")}\n`;
}

const HEAD = ["name: test", "order: 1", "stacks:"];

/** One entry of stacks:, as YAML lines; `more`: its further keys, e.g. "dependsOn: [cloud]". */
function entry(name: string, project: string, ...more: string[]): string[] {
  return [`  - name: ${name}`, `    project: ${project}`, ...more.map((line) => `    ${line}`)];
}
// Written app first: resolution puts each stack after those it depends on.
const THREE = [
  ...HEAD,
  ...entry("app", "stacks/app", "dependsOn: [cluster]"),
  ...entry("cloud", "./stacks/aws/", "stack: acme/cloud/test"),
  ...entry("cluster", "stacks/kubernetes", "dependsOn: [cloud]"),
];

describe("stacks: in an environment file", () => {
  const defaults = resolveSettings({ repository: { url: "." } }, "/repo").defaults;

  it("resolves to the stacks in dependency order, each stack defaulting to the environment's name", () => {
    const parsed = parseEnvironmentFile(TEST, yaml(...THREE));
    expect(parsed.issues).toEqual([]);
    const resolved = resolveEnvironment(TEST, parsed.value!, defaults);
    expect(resolved.stacks).toEqual([
      { name: "cloud", project: "stacks/aws", stack: "acme/cloud/test", dependsOn: [] },
      { name: "cluster", project: "stacks/kubernetes", stack: "test", dependsOn: ["cloud"] },
      { name: "app", project: "stacks/app", stack: "test", dependsOn: ["cluster"] },
    ]);
    // Code that knows one stack reads the first.
    expect([resolved.project, resolved.stack]).toEqual(["stacks/aws", "acme/cloud/test"]);
  });

  it("takes a stack's own drift.ignore rules, checked as the environment's", () => {
    const rule = [
      "ignore:",
      "  - resource: { type: 'kubernetes:apps/v1:Deployment' }",
      "    property: spec.replicas",
      "    reason: the autoscaler owns it",
    ];
    const parsed = parseEnvironmentFile(
      TEST,
      yaml(...HEAD, ...entry("cluster", "stacks/kubernetes", ...rule)),
    );
    expect(parsed.issues).toEqual([]);
    expect(resolveEnvironment(TEST, parsed.value!, defaults).stacks[0]?.ignore).toEqual([
      {
        resource: { type: "kubernetes:apps/v1:Deployment" },
        property: "spec.replicas",
        reason: "the autoscaler owns it",
      },
    ]);
    const bad = parseEnvironmentFile(
      TEST,
      yaml(...HEAD, ...entry("cluster", "stacks/kubernetes", "ignore:", "  - property: spec.replicas")),
    );
    expect(formatConfigIssues(bad.issues)).toContain("stacks[0].ignore[0]");
  });

  it("refuses stacks beside the one-stack form's project and stack", () => {
    const parsed = parseEnvironmentFile(TEST, yaml("project: stacks/aws", "stack: test", ...THREE));
    expect(parsed.value).toBeUndefined();
    expect(parsed.issues).toMatchObject([
      {
        path: "project",
        message: '"stacks/aws" is given with stacks',
        expected: "project on each entry of stacks, or the one-stack form without stacks",
        line: 1,
      },
      { path: "stack", message: '"test" is given with stacks', line: 2 },
    ]);
  });

  it("names an unknown dependsOn with the stacks there are, file, field and line", () => {
    const parsed = parseEnvironmentFile(
      TEST,
      yaml(
        ...HEAD,
        ...entry("cloud", "stacks/aws"),
        ...entry("app", "stacks/app", "dependsOn: [cloud, network]"),
      ),
    );
    expect(parsed.issues).toEqual([
      {
        file: TEST,
        path: "stacks[1].dependsOn[1]",
        value: "network",
        message: '"network" is not a stack of this environment',
        expected: 'the name of a stack listed in stacks: "cloud", "app"',
        line: 8,
        column: 24,
      },
    ]);
  });

  it("names a cycle, a stack depending on itself included", () => {
    const cycle = parseEnvironmentFile(
      TEST,
      yaml(
        ...HEAD,
        ...entry("cloud", "stacks/aws", "dependsOn: [app]"),
        ...entry("cluster", "stacks/kubernetes", "dependsOn: [cloud]"),
        ...entry("app", "stacks/app", "dependsOn: [cluster]"),
      ),
    );
    expect(formatConfigIssues(cycle.issues)).toBe(
      "environments/test.yaml:6:5: stacks[0].dependsOn: makes a cycle: cloud → app → cluster → cloud; " +
        "expected dependencies without a cycle, so each stack can be applied after those it depends on",
    );
    const self = parseEnvironmentFile(TEST, yaml(...HEAD, ...entry("app", "stacks/app", "dependsOn: [app]")));
    expect(self.issues).toMatchObject([{ path: "stacks[0].dependsOn", message: "makes a cycle: app → app" }]);
  });

  it("refuses a name listed twice and two entries on one Pulumi stack", () => {
    const parsed = parseEnvironmentFile(
      TEST,
      yaml(
        ...HEAD,
        ...entry("cloud", "stacks/aws"),
        ...entry("cloud", "stacks/app"),
        ...entry("web", "stacks/aws/", "stack: test"),
      ),
    );
    expect(parsed.issues).toMatchObject([
      {
        path: "stacks[1].name",
        message: '"cloud" is listed twice (first at [0])',
        expected: "each stack name once",
      },
      {
        path: "stacks[2].project",
        message: "is the project and stack of stacks[0] too",
        expected: "each entry its own Pulumi stack: another project folder or stack",
      },
    ]);
  });

  it("wants a name and a project on each entry, and at least one entry", () => {
    const parsed = parseEnvironmentFile(TEST, yaml(...HEAD, "  - name: Cloud", "    dependsOn: cloud"));
    expect(parsed.issues.map((issue) => [issue.path, issue.message])).toEqual([
      ["stacks[0].name", '"Cloud" is not a kebab-case name'],
      ["stacks[0].project", expect.stringMatching(/missing|required/)],
      ["stacks[0].dependsOn", expect.any(String)],
    ]);
    expect(parseEnvironmentFile(TEST, yaml("name: test", "order: 1", "stacks: []")).issues).toMatchObject([
      { path: "stacks" },
    ]);
  });
});

describe("protect rules naming stacks", () => {
  const defaults = resolveSettings({ repository: { url: "." } }, "/repo").defaults;

  it("take stacks of the environment, and resolve with them", () => {
    const parsed = parseEnvironmentFile(TEST, yaml(...THREE, "gates:", "  protect:", "    stacks: [cloud]"));
    expect(parsed.issues).toEqual([]);
    expect(resolveEnvironment(TEST, parsed.value!, defaults).gates.protect).toEqual({
      operations: ["delete", "replace"],
      resources: [],
      action: "refuse",
      stacks: ["cloud"],
    });
  });

  it("name a stack the environment does not list, and refuse stacks in the one-stack form", () => {
    const unknown = parseEnvironmentFile(
      TEST,
      yaml(...THREE, "gates:", "  protect:", "    stacks: [cloud, db]"),
    );
    expect(unknown.issues).toMatchObject([
      {
        path: "gates.protect.stacks[1]",
        value: "db",
        message: '"db" is not a stack of this environment',
        expected: 'the name of a stack listed in stacks: "app", "cloud", "cluster"',
      },
    ]);
    const one = parseEnvironmentFile(
      TEST,
      yaml("name: test", "order: 1", "gates:", "  protect:", "    stacks: [app]"),
    );
    expect(one.issues).toMatchObject([
      { path: "gates.protect.stacks", message: "names stacks of an environment that lists none" },
    ]);
  });
});

describe("stacks across environments", () => {
  const identity = (file: string, data: unknown) => environmentIdentity(file, data);

  it("refuses two environments deploying one Pulumi stack, with stacks: on either side", () => {
    const test = identity("environments/test.yaml", {
      name: "test",
      order: 1,
      stacks: [
        { name: "cloud", project: "stacks/aws", stack: "shared" },
        { name: "app", project: "stacks/app" },
      ],
    });
    const stage = identity("environments/stage.yaml", {
      name: "stage",
      order: 2,
      project: "./stacks/aws",
      stack: "shared",
    });
    const prod = identity("environments/prod.yaml", {
      name: "prod",
      order: 3,
      stacks: [{ name: "app", project: "stacks/app", stack: "test" }],
    });
    expect(checkEnvironmentSet([test, stage, prod], "environments")).toEqual([
      {
        file: "environments/stage.yaml",
        path: "stack",
        value: "shared",
        message: 'the stack "shared" of project "stacks/aws" is also deployed by environments/test.yaml',
        expected: "a Pulumi stack no other environment deploys",
      },
      {
        file: "environments/prod.yaml",
        path: "stacks",
        value: "test",
        message: 'the stack "test" of project "stacks/app" is also deployed by environments/test.yaml',
        expected: "a Pulumi stack no other environment deploys",
      },
    ]);
  });

  it("lets each environment's stacks default to its own name", () => {
    const files = ["test", "prod"].map((name, index) =>
      identity(`environments/${name}.yaml`, {
        name,
        order: index + 1,
        stacks: [
          { name: "cloud", project: "stacks/aws" },
          { name: "app", project: "stacks/app", dependsOn: ["cloud"] },
        ],
      }),
    );
    expect(checkEnvironmentSet(files, "environments")).toEqual([]);
  });
});
