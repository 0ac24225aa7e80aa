import * as path from "path";

/** The repository root (tests run from anywhere). */
export const REPO_ROOT = path.resolve(__dirname, "../..");
