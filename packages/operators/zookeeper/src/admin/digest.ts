/**
 * The superuser's digest, as ZooKeeper's DigestAuthenticationProvider
 * computes it: `super:` then base64 of SHA-1 over `super:<password>`.
 * Servers are started with only this (`superDigest`); the password stays
 * with the operator, which sends it with `addauth` before a reconfig.
 */
import { createHash } from "node:crypto";

export function superDigest(password: string): string {
  return `super:${createHash("sha1").update(`super:${password}`).digest("base64")}`;
}
