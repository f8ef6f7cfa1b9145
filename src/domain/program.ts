/**
 * The repository paths that make up a project's program: its folder without its stack config
 * files (`Pulumi.<stack>.yaml`), plus the policy pack folders the gates name. Two environments'
 * branches hold the same program exactly when this selection is equal. Used for the promotion
 * gate's tree digest and for the commits a promotion must not overwrite.
 *
 * A policy pack judges the program on every preview, so a pack change is a program change for
 * promotion: without its folder in the digest, a pack weakened on a higher branch alone would pass
 * as "the program that succeeded below".
 */
export function programSelection(project: string, policyPacks: readonly string[] = []): PathSelection {
  const root = project === "." || project === "";
  const packs = [...new Set(policyPacks)].filter((pack) => pack !== project).sort();
  return {
    ...(root ? {} : { include: [project, ...packs] }),
    exclude: [root ? "Pulumi.*.yaml" : `${project}/Pulumi.*.yaml`],
  };
}

/**
 * The program of an environment of several stacks: every stack's project folder without its stack
 * config files, plus the policy packs. One selection for the whole set, so the promotion gate
 * passes only for the combination of programs that succeeded together below. With one project it
 * is programSelection's, so the trees recorded before environments had several stacks still match.
 */
export function stacksProgramSelection(
  projects: readonly string[],
  policyPacks: readonly string[] = [],
): PathSelection {
  const folders = [...new Set(projects.map((project) => (project === "" ? "." : project)))].sort();
  if (folders.length === 1) return programSelection(folders[0]!, policyPacks);
  const root = folders.includes(".");
  const packs = [...new Set(policyPacks)].filter((pack) => !folders.includes(pack)).sort();
  return {
    ...(root ? {} : { include: [...folders, ...packs] }),
    exclude: folders.map((folder) => (folder === "." ? "Pulumi.*.yaml" : `${folder}/Pulumi.*.yaml`)),
  };
}

/** The paths of an environment's program: every stack's project folder and the policy packs. */
export function environmentProgram(env: {
  project: string;
  stacks?: readonly { project: string }[];
  programPolicyPacks?: readonly string[];
}): PathSelection {
  const projects =
    env.stacks && env.stacks.length > 0 ? env.stacks.map((stack) => stack.project) : [env.project];
  return stacksProgramSelection(projects, env.programPolicyPacks);
}

/**
 * The policy pack folders for every environment's program selection: those named by the gates of
 * any environment. One set for all environments, so a tree recorded as a success in one environment
 * compares equal with the same program in the next even when their gates name different packs.
 */
export function programPolicyPacks(
  environments: readonly { gates: { policyPacks: readonly string[] } }[],
): string[] {
  return [...new Set(environments.flatMap((env) => env.gates.policyPacks))].sort();
}

/**
 * Repository paths and path patterns. A pattern is a repository-relative path where `*` matches
 * within one path segment, `?` one character of it, and `**` any number of whole segments
 * (`**` + `/Pulumi.*.yaml` finds a stack config at any depth). A pattern selects the paths it
 * matches and everything under them, so `stacks/aws` selects the whole folder.
 */
export interface PathSelection {
  /** Keep only these paths (a folder keeps everything under it). Default: every path. */
  include?: string[];
  /**
   * Then drop these, e.g. every `Pulumi.<stack>.yaml`; a commit changing only dropped paths is not
   * listed by `commitsBetween`.
   */
  exclude?: string[];
}
