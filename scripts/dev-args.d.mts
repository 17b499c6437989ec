/** Types of scripts/dev-args.mjs, for the tests that import it. */
export function givenVars(args: string[], devVars?: string): Map<string, string>;
export function devPlan(
  args: string[],
  devVars?: string,
): {
  port: string;
  persist: string | undefined;
  defaults: string[];
  webDomain: string;
  seedUrl: string;
  localUrl: string;
};
