/**
 * Who may call this kubelet API.
 *
 * Authentication: a client certificate that chains to the cluster CA (TLS
 * verifies it; we only read the result). Authorization: the certificate's
 * common name must be on an allow-list, by default only the API server's
 * kubelet client identity. A real kubelet instead asks the API server
 * (SubjectAccessReview on nodes/proxy, nodes/log, ...), which lets
 * monitoring agents in with narrow rights; here the API server is the only
 * caller, and an allow-list cannot be widened by a stray RBAC binding.
 */
import type { TLSSocket } from "node:tls";

export interface Caller {
  user: string;
  groups: string[];
}

export const defaultAllowedUsers: readonly string[] = ["kube-apiserver-kubelet-client"];

/** The verified identity on the connection, or undefined (→ 401). */
export function authenticate(socket: TLSSocket): Caller | undefined {
  if (!socket.authorized) return undefined;
  const subject = socket.getPeerCertificate()?.subject;
  const cn = first(subject?.CN);
  if (!cn) return undefined;
  const o = subject?.O;
  const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
  return { user: cn, groups };
}

export function authorize(caller: Caller, allowedUsers: readonly string[]): boolean {
  return allowedUsers.includes(caller.user);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
