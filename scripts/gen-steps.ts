/** npm run gen:steps: writes steps/*.sh from talos/scripts.ts. */
import * as path from "path";
import { writeStepFiles } from "../components/runtimeFiles";

const written = writeStepFiles(path.resolve(__dirname, ".."));
process.stdout.write(`wrote ${written.join(" ")}\n`);
