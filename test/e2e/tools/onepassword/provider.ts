/**
 * A stand-in for the 1Password Pulumi provider (`pulumi-resource-onepassword` v1.1.3, the version
 * @1password/pulumi-onepassword 1.1.3 asks for), for the end-to-end tier.
 *
 * The real provider cannot be built here: the Go module proxy refuses
 * github.com/1Password/pulumi-onepassword/provider and the Terraform provider it bridges
 * (github.com/1Password/terraform-provider-onepassword, every version: 403), so this serves the two
 * functions the program calls, `getVault` and `getItem`, the way the bridged Terraform provider
 * answers them with its CLI client (no Connect: the stack authenticates with a service account or a
 * signed-in account before Connect exists). Behaviour followed, from
 * terraform-provider-onepassword (onepassword/cli/op.go, data_source_onepassword_vault.go,
 * data_source_onepassword_item.go):
 * - every `op` call runs `<opCliPath> ...` with OP_FORMAT=json (plus OP_SERVICE_ACCOUNT_TOKEN for a
 *   service account; `--account <account>` for a signed-in account) and first checks
 *   `op --version` >= 2.23.0;
 * - getVault by name lists the vaults (`op vault list`) and needs exactly one of that name
 *   ("no vault found with name" / "multiple vaults found with name"); by uuid `op vault get <uuid>`;
 * - getItem runs `op item get <title or uuid> --vault <vault uuid>`; fields of a section land in
 *   that section, fields with purpose USERNAME / PASSWORD / NOTES set username / password /
 *   noteValue, other fields without a section set the attribute named like their lowercased label
 *   (when the schema has one); category is lowercased; the id is `vaults/<vault>/items/<item>`.
 * A failed `op` call fails the invoke with op's own message, as the CLI client's parseCliError.
 * What it does not do: Connect, items as resources, file attachments (the program reads none).
 *
 * Served over the Pulumi provider gRPC protocol with the Node SDK's generated stubs; prints its
 * port, as every plugin does. Run by the launcher the e2e harness installs as plugin
 * `resource onepassword v1.1.3`.
 */
import * as grpc from "@grpc/grpc-js";
import { execFile } from "child_process";

/* eslint-disable @typescript-eslint/no-require-imports */
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const pluginproto = require("@pulumi/pulumi/proto/plugin_pb");
const structproto = require("google-protobuf/google/protobuf/struct_pb");
const emptyproto = require("google-protobuf/google/protobuf/empty_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

export const VERSION = "1.1.3";
const MINIMUM_OP = [2, 23, 0];
/** Pulumi's marker of a secret value in a Struct (sdk/go/common/resource/sig). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

interface ProviderConfig {
  account: string;
  serviceAccountToken: string;
  opCliPath: string;
}

type Json = any;

function unwrapSecrets(v: Json): Json {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object") {
    if (v[SECRET_SIG] === SECRET_VALUE) return unwrapSecrets(v.value);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
  }
  return v;
}

/** The provider's configuration from Configure's args (or the legacy `onepassword:config:*` variables). */
export function providerConfig(args: Json, variables: Record<string, string>): ProviderConfig {
  const a = unwrapSecrets(args ?? {});
  const pick = (key: string) => String(a[key] ?? variables[`onepassword:config:${key}`] ?? "");
  return {
    account: pick("account"),
    serviceAccountToken: pick("serviceAccountToken"),
    opCliPath: pick("opCliPath") || "op",
  };
}

/** op's stderr as the CLI client reports it: the message without the "[ERROR] <timestamp>" prefix. */
export function cliError(stderr: string): Error {
  const line = stderr.trim().split("\n").pop() ?? "";
  return new Error(line.replace(/^\[ERROR\]\s+\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\s+/, "") || "op failed");
}

function op(cfg: ProviderConfig, args: string[]): Promise<string> {
  const argv = cfg.account ? [...args, "--account", cfg.account] : args;
  const env: NodeJS.ProcessEnv = { ...process.env, OP_FORMAT: "json", OP_INTEGRATION_NAME: "pulumi-provider-standin" };
  if (cfg.serviceAccountToken) env.OP_SERVICE_ACCOUNT_TOKEN = cfg.serviceAccountToken;
  return new Promise((resolve, reject) =>
    execFile(cfg.opCliPath, argv, { env, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      err ? reject(cliError(String(stderr) || err.message)) : resolve(String(stdout)),
    ),
  );
}

async function checkVersion(cfg: ProviderConfig): Promise<void> {
  const text = (await op({ ...cfg, account: "" }, ["--version"])).trim();
  const parts = text.split(".").map(Number);
  const less = MINIMUM_OP.some((m, i) => parts.slice(0, i).every((p, j) => p === MINIMUM_OP[j]) && (parts[i] ?? 0) < m);
  if (less) {
    throw new Error(`current 1Password CLI version is "${text}". Please upgrade to at least "${MINIMUM_OP.join(".")}"`);
  }
}

export async function getVault(cfg: ProviderConfig, args: Json): Promise<Json> {
  await checkVersion(cfg);
  let vault: Json;
  if (args.uuid) {
    vault = JSON.parse(await op(cfg, ["vault", "get", String(args.uuid)]));
  } else if (args.name) {
    const all = JSON.parse(await op(cfg, ["vault", "list"])) as Json[];
    const named = all.filter((v) => v.name === args.name);
    if (named.length === 0) throw new Error(`no vault found with name '${args.name}'`);
    if (named.length > 1) throw new Error(`multiple vaults found with name '${args.name}'`);
    vault = named[0];
  } else {
    throw new Error("name or uuid must be set");
  }
  return { id: `vaults/${vault.id}`, uuid: vault.id, name: vault.name, description: vault.description ?? "" };
}

/** Attributes of the item data source a section-less field may set by its lowercased label. */
const LABEL_ATTRIBUTES: Record<string, string> = {
  url: "url",
  hostname: "hostname",
  database: "database",
  port: "port",
  type: "type",
  credential: "credential",
  username: "username",
  password: "password",
};

export function itemOutputs(item: Json): Json {
  const out: Json = {
    id: `vaults/${item.vault?.id}/items/${item.id}`,
    vault: item.vault?.id ?? "",
    uuid: item.id,
    title: item.title ?? "",
    category: String(item.category ?? "").toLowerCase(),
    tags: item.tags ?? [],
    url: "",
    hostname: "",
    database: "",
    port: "",
    type: "",
    username: "",
    password: "",
    noteValue: "",
    credential: "",
    privateKey: "",
    publicKey: "",
    files: [],
  };
  const fields = (item.fields ?? []) as Json[];
  out.sections = ((item.sections ?? []) as Json[]).map((s) => ({
    id: s.id,
    label: s.label ?? "",
    fields: fields
      .filter((f) => f.section && f.section.id === s.id)
      .map((f) => ({ id: f.id, label: f.label, purpose: f.purpose ?? "", type: f.type, value: f.value ?? "" })),
    files: [],
  }));
  for (const f of fields) {
    if (f.purpose === "USERNAME") out.username = f.value ?? "";
    else if (f.purpose === "PASSWORD") out.password = f.value ?? "";
    else if (f.purpose === "NOTES") out.noteValue = f.value ?? "";
    else if (!f.section) {
      const attribute = LABEL_ATTRIBUTES[String(f.label).toLowerCase()];
      if (attribute) out[attribute] = f.value ?? "";
    }
  }
  return out;
}

export async function getItem(cfg: ProviderConfig, args: Json): Promise<Json> {
  await checkVersion(cfg);
  const which = args.title || args.uuid;
  if (!which) throw new Error("uuid or title must be set");
  return itemOutputs(JSON.parse(await op(cfg, ["item", "get", String(which), "--vault", String(args.vault ?? "")])));
}

function serve(): void {
  let cfg: ProviderConfig = { account: "", serviceAccountToken: "", opCliPath: "op" };
  type Call = { request: Json };
  type Callback = (err: Json, resp?: Json) => void;
  const impl = {
    getPluginInfo(_call: Call, cb: Callback) {
      const info = new pluginproto.PluginInfo();
      info.setVersion(VERSION);
      cb(null, info);
    },
    getSchema(_call: Call, cb: Callback) {
      const resp = new provproto.GetSchemaResponse();
      resp.setSchema(JSON.stringify({ name: "onepassword", version: VERSION }));
      cb(null, resp);
    },
    checkConfig(call: Call, cb: Callback) {
      const resp = new provproto.CheckResponse();
      resp.setInputs(call.request.getNews());
      cb(null, resp);
    },
    diffConfig(_call: Call, cb: Callback) {
      cb(null, new provproto.DiffResponse());
    },
    configure(call: Call, cb: Callback) {
      const variables: Record<string, string> = {};
      call.request.getVariablesMap().forEach((v: string, k: string) => (variables[k] = v));
      cfg = providerConfig(call.request.getArgs()?.toJavaScript(), variables);
      const resp = new provproto.ConfigureResponse();
      resp.setAcceptsecrets(true);
      resp.setSupportspreview(true);
      cb(null, resp);
    },
    invoke(call: Call, cb: Callback) {
      const tok = call.request.getTok() as string;
      const args = unwrapSecrets(call.request.getArgs()?.toJavaScript() ?? {});
      const fn =
        tok === "onepassword:index/getVault:getVault"
          ? getVault
          : tok === "onepassword:index/getItem:getItem"
            ? getItem
            : undefined;
      if (!fn) return cb({ code: grpc.status.UNIMPLEMENTED, details: `unknown function ${tok}` });
      fn(cfg, args).then(
        (outputs) => {
          const resp = new provproto.InvokeResponse();
          resp.setReturn(structproto.Struct.fromJavaScript(outputs));
          cb(null, resp);
        },
        (err: Error) => cb({ code: grpc.status.UNKNOWN, details: err.message }),
      );
    },
    cancel(_call: Call, cb: Callback) {
      cb(null, new emptyproto.Empty());
    },
  };
  const server = new grpc.Server({ "grpc.max_receive_message_length": 1 << 30 });
  server.addService(provrpc.ResourceProviderService, impl);
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
      process.stderr.write(`pulumi-resource-onepassword: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`${port}\n`);
  });
}

if (require.main === module) serve();
