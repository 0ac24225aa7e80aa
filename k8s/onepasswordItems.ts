/**
 * Picking secret values out of 1Password items as the provider returns them (pure, so tests can
 * feed real-shaped items). Errors name the item and what was looked for, never a value.
 */

/** The subset of the provider's getItem result this program reads. */
export interface OnePasswordItem {
  readonly title?: string;
  readonly category?: string;
  readonly password?: string;
  readonly credential?: string;
  readonly noteValue?: string;
  readonly privateKey?: string;
  readonly publicKey?: string;
  readonly username?: string;
  readonly files?: readonly { readonly name: string; readonly content: string }[];
  readonly sections?: readonly {
    readonly label?: string;
    readonly fields?: readonly { readonly label: string; readonly value: string }[];
    readonly files?: readonly { readonly name: string; readonly content: string }[];
  }[];
}

function sectionField(item: OnePasswordItem, label: string): string | undefined {
  for (const section of item.sections ?? []) {
    const f = (section.fields ?? []).find((x) => x.label.toLowerCase() === label.toLowerCase());
    if (f && f.value !== "") return f.value;
  }
  return undefined;
}

function attachedFile(item: OnePasswordItem, name?: string): string | undefined {
  const files = [...(item.files ?? []), ...(item.sections ?? []).flatMap((s) => s.files ?? [])];
  const f = name ? (files.find((x) => x.name === name) ?? files[0]) : files[0];
  return f && f.content !== "" ? f.content : undefined;
}

/** A named field of an item: a custom field with that label, else the item's built-in field. */
export function itemField(item: OnePasswordItem, label: string, itemName: string): string {
  const builtIn: Record<string, string | undefined> = {
    password: item.password,
    credential: item.credential,
    username: item.username,
    notesPlain: item.noteValue,
    private_key: item.privateKey,
    public_key: item.publicKey,
  };
  const value =
    sectionField(item, label) ?? builtIn[label] ?? (label === "token" ? (item.credential ?? item.password) : undefined);
  if (value === undefined || value === "") {
    throw new Error(`1Password item '${itemName}' has no field '${label}'`);
  }
  return value;
}

/**
 * The Connect credentials text, in whatever layout it was stored: the attached
 * `1password-credentials.json` document (current layout), or one field holding JSON/base64
 * (older layouts). Decoding/normalising is `decodeConnectCredentials`'s job.
 */
export function connectCredentialsText(item: OnePasswordItem, itemName: string): string {
  const value =
    attachedFile(item, "1password-credentials.json") ??
    sectionField(item, "1password-credentials.json") ??
    sectionField(item, "credentials") ??
    item.credential ??
    item.password ??
    item.noteValue;
  if (value === undefined || value === "") {
    throw new Error(
      `1Password item '${itemName}' holds no Connect credentials (looked for an attached 1password-credentials.json, a 'credentials' field, the credential/password/notes fields)`,
    );
  }
  return value;
}

/** Git credentials for Flux: ssh (identity, identity.pub, known_hosts) or token (username, password). */
export function gitCredentialsFromItem(
  kind: "ssh" | "token",
  item: OnePasswordItem,
  itemName: string,
): Record<string, string> {
  if (kind === "ssh") {
    return {
      identity: item.privateKey || itemField(item, "identity", itemName),
      "identity.pub": item.publicKey || itemField(item, "identity.pub", itemName),
      known_hosts: itemField(item, "known_hosts", itemName),
    };
  }
  return {
    username: sectionField(item, "username") ?? (item.username || "git"),
    password: itemField(item, "token", itemName),
  };
}
