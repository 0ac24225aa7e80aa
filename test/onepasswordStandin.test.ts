/**
 * The e2e tier's stand-in 1Password provider (test/e2e/tools/onepassword/provider.ts) against the
 * fake op: the calls the bridged Terraform provider's CLI client makes, and its data sources' shape.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { getItem, getVault, itemOutputs, providerConfig } from "./e2e/tools/onepassword/provider";
import { connectCredentialsText, itemField } from "../k8s/onepasswordItems";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const fakes = require("./fakes/lib/state.js");

describe("e2e stand-in of the 1Password Pulumi provider (CLI client over the fake op)", () => {
  let dir: string;
  const saved = { ...process.env };
  const cfg = { account: "", serviceAccountToken: "ops_canary", opCliPath: "op" };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "op-standin-"));
    fakes.initFakeWorld(dir, {
      opItems: [
        {
          title: "Connect Token",
          category: "API_CREDENTIAL",
          fields: [
            { label: "token", type: "CONCEALED", value: "tok-123", section: { id: "s1", label: "" } },
            { label: "credential", type: "CONCEALED", value: "cred-9" },
          ],
        },
        {
          title: "Login",
          category: "LOGIN",
          fields: [
            { label: "username", type: "STRING", value: "me", purpose: "USERNAME" },
            { label: "password", type: "CONCEALED", value: "pw", purpose: "PASSWORD" },
            { label: "notesPlain", type: "STRING", value: "n", purpose: "NOTES" },
          ],
        },
      ],
    });
    Object.assign(process.env, fakes.fakeEnv(dir));
    delete process.env.OP_SERVICE_ACCOUNT_TOKEN;
  });
  afterEach(() => {
    process.env = { ...saved };
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("finds a vault by name through op vault list, and refuses an unknown one", async () => {
    const v = await getVault(cfg, { name: "Automation" });
    assert.match(v.uuid, /^[a-z0-9]{26}$/);
    assert.equal(v.id, `vaults/${v.uuid}`);
    assert.equal(v.name, "Automation");
    await assert.rejects(getVault(cfg, { name: "Nope" }), /no vault found with name 'Nope'/);
    const calls = fakes.readCalls(dir).map((c: any) => c.argv.join(" "));
    assert.ok(calls.includes("--version"), calls.join("; "));
    assert.ok(calls.includes("vault list"), calls.join("; "));
  });

  it("reads an item by title and vault uuid into the data source's shape, which the program reads", async () => {
    const v = await getVault(cfg, { name: "Automation" });
    const item = await getItem(cfg, { vault: v.uuid, title: "Connect Token" });
    assert.equal(item.category, "api_credential");
    assert.equal(item.credential, "cred-9");
    assert.deepEqual(item.sections[0].fields[0], {
      id: "field0",
      label: "token",
      purpose: "",
      type: "CONCEALED",
      value: "tok-123",
    });
    assert.equal(itemField(item, "token", "Connect Token"), "tok-123");
    const login = await getItem(cfg, { vault: v.uuid, title: "Login" });
    assert.deepEqual([login.username, login.password, login.noteValue], ["me", "pw", "n"]);
    await assert.rejects(getItem(cfg, { vault: v.uuid, title: "Missing" }), /"Missing" isn't an item/);
  });

  it("fails without authentication (no token, no account), as op does", async () => {
    await assert.rejects(
      getVault({ ...cfg, serviceAccountToken: "" }, { name: "Automation" }),
      /not currently signed in/,
    );
  });

  it("takes account, token and op path from Configure's args, secrets unwrapped", () => {
    const secret = (value: string) => ({
      "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
      value,
    });
    assert.deepEqual(providerConfig({ account: "", serviceAccountToken: secret("t"), opCliPath: "/x/op" }, {}), {
      account: "",
      serviceAccountToken: "t",
      opCliPath: "/x/op",
    });
    assert.equal(providerConfig({}, { "onepassword:config:account": "me.1password.com" }).account, "me.1password.com");
  });

  it("section-less custom fields set nothing (only the schema's attributes by label)", () => {
    const out = itemOutputs({ id: "i", vault: { id: "v" }, fields: [{ label: "talsecret", value: "x" }] });
    assert.equal(JSON.stringify(out).includes('"x"'), false);
    assert.throws(() => connectCredentialsText(out, "i"));
  });
});
