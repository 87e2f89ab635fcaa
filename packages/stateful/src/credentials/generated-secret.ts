/**
 * Credentials the operator generates for a member set (a superuser
 * password, a replication password), kept in a Secret the set owns.
 *
 * Steps of `ensureGeneratedSecret`:
 * 1. Read the Secret. One that exists is the truth, whoever wrote it: a
 *    user may bring their own password, or rotate it by editing the Secret.
 * 2. If it is missing, create it with freshly generated values. A create
 *    that loses a race with another writer (AlreadyExists) reads what won.
 * 3. Check that every key the system needs is there and not empty; a
 *    Secret edited into a wrong shape is an error that names the Secret and
 *    the key, never a reason to generate over it (the running members
 *    still hold the old credential).
 *
 * Values are returned to the caller and never logged; error messages name
 * keys, never values.
 */
import { randomBytes } from "node:crypto";
import {
  type ControllerContext,
  isAlreadyExists,
  isNotFound,
  type KubeObject,
  type ObjectMeta,
} from "@ballast/runtime";

const SecretType = { apiVersion: "v1", kind: "Secret" } as const;

interface SecretObject extends KubeObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  type?: string;
}

/**
 * A password of `bytes` random bytes, base64url: no character a shell,
 * a URL or a config file would treat specially.
 */
export function generatePassword(bytes = 24): string {
  return randomBytes(bytes).toString("base64url");
}

/** A Secret's keys the system needs were missing or empty. */
export class InvalidSecretError extends Error {
  readonly secret: string;
  readonly keys: readonly string[];

  constructor(secret: string, keys: readonly string[]) {
    super(
      `Secret ${secret} lacks ${keys.map((k) => `"${k}"`).join(", ")}: ` +
        `add ${keys.length > 1 ? "them" : "it"}, or delete the Secret to have new credentials generated ` +
        `(members started with the old ones then need a restart)`,
    );
    this.name = "InvalidSecretError";
    this.secret = secret;
    this.keys = keys;
  }
}

export interface GeneratedSecret {
  /** Name, namespace, labels and owner reference (`ownedMeta`). */
  metadata: ObjectMeta & { name: string; namespace: string };
  /** Each key the system needs, with how its value is made for a new Secret. */
  generate: Readonly<Record<string, () => string>>;
}

/** The Secret's values, decoded: created from `generate` if it did not exist. */
export async function ensureGeneratedSecret(
  ctx: Pick<ControllerContext, "client" | "signal">,
  want: GeneratedSecret,
): Promise<Record<string, string>> {
  const key = { namespace: want.metadata.namespace, name: want.metadata.name };
  let secret = await read(ctx, key);
  if (!secret) {
    try {
      secret = await ctx.client.create<SecretObject>(
        { ...SecretType, metadata: want.metadata, type: "Opaque", stringData: generated(want) },
        { signal: ctx.signal },
      );
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      secret = await read(ctx, key);
      if (!secret) throw err;
    }
  }
  const values = decode(secret.data);
  const missing = Object.keys(want.generate).filter((k) => !values[k]);
  if (missing.length > 0) throw new InvalidSecretError(key.name, missing);
  return values;
}

function generated(want: GeneratedSecret): Record<string, string> {
  return Object.fromEntries(Object.entries(want.generate).map(([k, make]) => [k, make()]));
}

async function read(
  ctx: Pick<ControllerContext, "client" | "signal">,
  key: { namespace: string; name: string },
): Promise<SecretObject | undefined> {
  try {
    return await ctx.client.get<SecretObject>(SecretType, key, { signal: ctx.signal });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function decode(data: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, "base64").toString();
  return out;
}
