import type { PathSelection } from "./git/paths";

/**
 * The repository paths that make up a project's program: its folder without its stack config
 * files (`Pulumi.<stack>.yaml`), so two environments' branches hold the same program exactly when
 * this selection is equal. Used for the promotion gate's tree digest and for the commits a
 * promotion must not overwrite.
 */
export function programSelection(project: string): PathSelection {
  const root = project === "." || project === "";
  return {
    ...(root ? {} : { include: [project] }),
    exclude: [root ? "Pulumi.*.yaml" : `${project}/Pulumi.*.yaml`],
  };
}
