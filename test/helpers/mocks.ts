/**
 * Pulumi runtime mocks that record everything the program registers, including what
 * `setMocks`' callbacks cannot see: parent, dependencies, protect, retainOnDelete,
 * ignoreChanges, additionalSecretOutputs and which input paths were sent as secrets. They are
 * read from the registration request itself, so the assertions are about what the engine gets.
 */
import * as pulumi from "@pulumi/pulumi";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { deserializeProperties } = require("@pulumi/pulumi/runtime/rpc");

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly parent: string;
  readonly custom: boolean;
  readonly provider: string;
  readonly inputs: Record<string, any>;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly dependencies: string[];
  readonly ignoreChanges: string[];
  readonly additionalSecretOutputs: string[];
  /** Input property paths whose value was sent as a Pulumi secret. */
  readonly secretPaths: string[];
  /** Aliases as sent (alias specs or URNs). */
  readonly aliases: unknown[];
  /** The `import` option's ID ("" when not set). */
  readonly importId: string;
  /** Names of the resource hooks bound per hook type (e.g. `beforeCreate`). */
  readonly hooks: Record<string, string[]>;
}

/** Resource hooks registered with the (mock) engine, by name. */
export const registeredHooks = new Map<string, { onDryRun: boolean; ignoreErrors: boolean }>();

export interface RecordedCall {
  readonly token: string;
  readonly args: Record<string, unknown>;
}

/** Fake 1Password items by title, returned by the getItem invoke. */
export type ItemTable = Record<string, Record<string, unknown>>;

export interface MockWorld {
  /** stdout of a command by resource name (e.g. `talos-talos-secrets`); default: `<name> ok`. */
  commandStdout: (name: string) => string;
  items: ItemTable;
  /** What `talosctl version --client --short` prints (the preflight). */
  talosctlVersion?: string;
  /** The version `version --client` reports per talosctl executable (TALOSCTL), over talosctlVersion. */
  talosctlVersions?: Record<string, string>;
  /** The stack's outputs of its last update (read through a StackReference to itself). */
  previousOutputs?: Record<string, unknown>;
}

export const recorded: { resources: RecordedResource[]; calls: RecordedCall[] } = { resources: [], calls: [] };

function secretPathsOf(value: unknown, path: string, out: string[]): void {
  if (value === null || typeof value !== "object") return;
  const obj = value as Record<string, unknown>;
  if (obj[SIG_KEY] === SECRET_SIG) {
    out.push(path);
    return;
  }
  for (const [k, v] of Object.entries(obj)) secretPathsOf(v, path ? `${path}.${k}` : k, out);
}

function hooksOf(binding: any): Record<string, string[]> {
  if (!binding) return {};
  const out: Record<string, string[]> = {};
  for (const [type, list] of Object.entries({
    beforeCreate: binding.getBeforeCreateList(),
    afterCreate: binding.getAfterCreateList(),
    beforeUpdate: binding.getBeforeUpdateList(),
    afterUpdate: binding.getAfterUpdateList(),
    beforeDelete: binding.getBeforeDeleteList(),
    afterDelete: binding.getAfterDeleteList(),
  }) as [string, string[]][]) {
    if (list.length) out[type] = list;
  }
  return out;
}

let patched = false;
function patchMonitor(): void {
  if (patched) return;
  patched = true;
  // The mock monitor has no RegisterResourceHook: record the hook (its callback stays in the
  // SDK's callback server, which the engine would call; mocks never do).
  MockMonitor.prototype.registerResourceHook = function (req: any, callback: any) {
    registeredHooks.set(req.getName(), { onDryRun: req.getOnDryRun(), ignoreErrors: req.getIgnoreErrors() });
    callback(null, {});
  };
  const original = MockMonitor.prototype.registerResource;

  MockMonitor.prototype.registerResource = function (req: any, callback: any) {
    const secretPaths: string[] = [];
    secretPathsOf(req.getObject()?.toJavaScript(), "", secretPaths);
    const inputs = deserializeProperties(req.getObject());
    const meta = {
      parent: req.getParent(),
      protect: req.getProtect() ?? false,
      retainOnDelete: req.getRetainondelete() ?? false,
      dependencies: req.getDependenciesList(),
      ignoreChanges: req.getIgnorechangesList(),
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      secretPaths,
      aliases: [...req.getAliasesList().map((a: any) => a.toObject()), ...req.getAliasurnsList()],
      importId: req.getImportid(),
      hooks: hooksOf(req.getHooks()),
      custom: req.getCustom(),
      provider: req.getProvider(),
    };

    return original.call(this, req, (err: any, resp: any) => {
      if (!err) {
        const r = this.resources.get(resp.getUrn());
        recorded.resources.push({
          type: req.getType(),
          name: req.getName(),
          urn: resp.getUrn(),
          inputs,
          ...meta,
          state: r,
        } as RecordedResource);
      }
      callback(err, resp);
    });
  };
}

export const DEFAULT_WORLD: MockWorld = {
  commandStdout: (name) => `${name} ok`,
  items: {},
};

/**
 * Fresh mocks for one evaluation. Unmocked invokes fail loudly.
 */
export async function resetMocks(world: Partial<MockWorld> = {}, preview = false, stack = "home-ops"): Promise<void> {
  patchMonitor();
  recorded.resources = [];
  recorded.calls = [];
  const w = { ...DEFAULT_WORLD, ...world };
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "pulumi:pulumi:StackReference") {
          // The stack's own last outputs (components/previousDeployment.ts).
          return { id: String(args.inputs.name), state: { ...args.inputs, outputs: w.previousOutputs ?? {} } };
        }
        if (args.type === "command:local:Command" && !preview) {
          state.stdout = w.commandStdout(args.name);
          state.stderr = "";
        }
        return { id: preview ? undefined : `${args.name}-id`, state };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        recorded.calls.push({ token: args.token, args: args.inputs });
        if (args.token === "onepassword:index/getVault:getVault") {
          return { uuid: `uuid-of-${String(args.inputs.name)}`, name: args.inputs.name, description: "" };
        }
        if (args.token === "onepassword:index/getItem:getItem") {
          const item = w.items[String(args.inputs.title)];
          if (!item) throw new Error(`mock 1Password: no item '${String(args.inputs.title)}'`);
          return { title: args.inputs.title, vault: args.inputs.vault, ...item };
        }
        if (args.token === "command:local:run" && String(args.inputs.command).includes("version --client")) {
          const exe = String((args.inputs.environment as Record<string, string> | undefined)?.TALOSCTL ?? "");
          const version = w.talosctlVersions?.[exe] ?? w.talosctlVersion ?? "v1.10.5";
          return { stdout: `Client:\n\tTag:         ${version}`, stderr: "" };
        }
        throw new Error(`unmocked invoke ${args.token}`);
      },
    },
    "homeops",
    stack,
    preview,
    "organization",
  );
}

/** The value of an output (undefined when unknown, as in a preview). */
export function valueOf<T>(o: pulumi.Output<T> | pulumi.Input<T>): Promise<T | undefined> {
  return new Promise((resolve) => {
    const out = pulumi.output(o as any) as pulumi.Output<T>;

    (out as any).isKnown.then((known: boolean) => {
      if (!known) resolve(undefined);
      else out.apply((v) => resolve(v as T));
    });
  });
}

/** Waits until every registration RPC of the evaluation has completed. */
export async function settle(): Promise<void> {
  let previous = -1;
  while (previous !== recorded.resources.length) {
    previous = recorded.resources.length;
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  }
}
