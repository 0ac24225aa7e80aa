/** What the stack's last successful update declared, read from its own outputs. */
import * as pulumi from "@pulumi/pulumi";

/**
 * The `phasesDeclared` output of this stack's last successful update, through a StackReference to
 * the stack itself (empty on a new stack). Read before any phase is declared, so `stopAfter` can
 * never make the program stop declaring what an earlier update built.
 */
export async function phasesDeclaredBefore(): Promise<string[]> {
  const self = new pulumi.StackReference("previous-deployment", {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  });
  const value: unknown = await self.getOutputValue("phasesDeclared");
  return Array.isArray(value) ? value.filter((p): p is string => typeof p === "string") : [];
}
