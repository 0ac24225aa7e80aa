// The home-ops policy pack: `pulumi preview --policy-pack policy` (see README, "Policy pack").
import * as path from "path";
import { PolicyPack } from "@pulumi/policy";
import { homeOpsPolicies } from "./policies";
import { resetSettingsFromConfig, scriptFileReader } from "./rules/reset";
import { keepSecretsMarked } from "./values";

keepSecretsMarked();

new PolicyPack("home-ops", {
  enforcementLevel: "mandatory",
  // The engine passes the stack's config to the pack as PULUMI_CONFIG; the commands' scripts
  // (steps/*.sh) are files of this repository, one level up.
  policies: homeOpsPolicies(
    resetSettingsFromConfig(process.env.PULUMI_CONFIG),
    scriptFileReader(path.join(__dirname, "..")),
  ),
});
