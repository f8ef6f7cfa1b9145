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
