/**
 * No secret material in a command's non-secret inputs: those land in the state file, the
 * preview diff and the engine's logs in plain text. Secrets reach scripts on `stdin` or as
 * Pulumi secrets, which the rule never reads. Findings name the input and the kind of material,
 * never the value.
 */
import { ENV, TYPES } from "../names";
import { isSecret, plainObject, plainStrings, Props } from "../values";
import { secretMaterialIn } from "../../config/secretMaterial";

export { secretMaterialIn };

export function validateCommandSecrets(type: string, props: Props): string[] {
  if (type !== TYPES.command) return [];
  const problems = plainStrings(props).flatMap(({ path, text }) => {
    const kind = secretMaterialIn(text);
    return kind ? [`${path} carries ${kind} in plain text: pass it on stdin or as a Pulumi secret`] : [];
  });
  const token = plainObject(props.environment)[ENV.onePasswordToken];
  // Unknown during a preview but not marked secret is still a plain value once known.
  if (token !== undefined && token !== null && token !== "" && !isSecret(token)) {
    problems.push(`environment.${ENV.onePasswordToken} is not a Pulumi secret: wrap it with pulumi.secret`);
  }
  return problems;
}
