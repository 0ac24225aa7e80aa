/**
 * The two things on disk the command steps rely on at run time, relative to the project
 * directory (the command provider's working directory, where it runs every script: pulumi-command
 * v1.2.1 commandOutputs.go, `cmd.Dir = os.Getwd()` when `dir` is unset):
 * - `steps/*.sh`, the scripts, committed and generated from talos/scripts/;
 * - `.homeops/<stack>/settings.env`, the run-time settings, written on every evaluation.
 */
import * as fs from "fs";
import * as path from "path";
import type { Plan } from "../plan";
import { settingsFileText, settingsPath } from "../plan/settings";
import { SCRIPTS, ScriptName, scriptFileText, scriptPath } from "../talos/scripts";

/** Script files that are missing or differ from talos/scripts/. */
export function staleStepFiles(projectDir: string): string[] {
  return (Object.keys(SCRIPTS) as ScriptName[])
    .filter((name) => {
      const file = path.join(projectDir, scriptPath(name));
      return !fs.existsSync(file) || fs.readFileSync(file, "utf8") !== scriptFileText(name);
    })
    .map(scriptPath);
}

/** Writes every script file (`npm run gen:steps`). */
export function writeStepFiles(projectDir: string): string[] {
  const written: string[] = [];
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    const file = path.join(projectDir, scriptPath(name));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, scriptFileText(name), { mode: 0o755 });
    written.push(scriptPath(name));
  }
  return written;
}

/** Refuses to run with scripts that are not the ones this code would run. */
export function assertStepFilesCurrent(projectDir: string): void {
  const stale = staleStepFiles(projectDir);
  if (stale.length > 0) {
    throw new Error(
      `the step scripts ${stale.join(", ")} are missing or differ from talos/scripts/: run \`npm run gen:steps\` and commit them`,
    );
  }
}

/** Writes the run-time settings file (atomically: a script may be reading it). */
export function writeRuntimeSettings(projectDir: string, plan: Plan): string {
  const file = path.join(projectDir, settingsPath(plan.stack));
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, settingsFileText(plan.settings), { mode: 0o600 });
  fs.renameSync(tmp, file);
  return file;
}
