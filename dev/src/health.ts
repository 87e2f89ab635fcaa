/** Waiting for the control plane's components to report healthy. */

import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { DevClusterError } from "./errors.ts";
import { sleep, tail } from "./process.ts";

export interface TlsClient {
  ca?: string;
  cert?: string;
  key?: string;
}

export interface HttpResult {
  status: number;
  body: string;
}

/** One GET; never throws for a refused connection (status 0 means "no answer"). */
export function get(url: string, tls?: TlsClient, timeoutMs = 3000): Promise<HttpResult> {
  return new Promise((resolve) => {
    const parsed = new URL(url);
    const options =
      parsed.protocol === "https:"
        ? {
            ca: tls?.ca ? readFileSync(tls.ca) : undefined,
            cert: tls?.cert ? readFileSync(tls.cert) : undefined,
            key: tls?.key ? readFileSync(tls.key) : undefined,
            // Controller-manager and scheduler serve self-signed certificates.
            rejectUnauthorized: Boolean(tls?.ca),
            timeout: timeoutMs,
          }
        : { timeout: timeoutMs };
    const send = parsed.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(url, { ...options, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve({ status: 0, body: "" }));
    req.end();
  });
}

export interface WaitSpec {
  component: string;
  url: string;
  tls?: TlsClient;
  /** Accept the answer; by default any 200. */
  accept?: (result: HttpResult) => boolean;
  timeoutMs: number;
  logFile: string;
  /** Rejects early if the process exits while we wait. */
  exited?: Promise<unknown>;
}

export async function waitHealthy(spec: WaitSpec): Promise<void> {
  const accept = spec.accept ?? ((r: HttpResult) => r.status === 200);
  let exited = false;
  spec.exited?.then(() => {
    exited = true;
  });
  const deadline = Date.now() + spec.timeoutMs;
  let last: HttpResult = { status: 0, body: "" };
  while (Date.now() < deadline) {
    last = await get(spec.url, spec.tls);
    if (accept(last)) return;
    if (exited) throw componentFailed(spec.component, spec.logFile, "exited during start-up");
    await sleep(200);
  }
  throw componentFailed(
    spec.component,
    spec.logFile,
    `did not become healthy within ${spec.timeoutMs / 1000}s (last answer: ${last.status || "no connection"} ${last.body.slice(0, 200)})`,
  );
}

export function componentFailed(component: string, logFile: string, what: string): DevClusterError {
  const log = tail(logFile);
  if (/address already in use/i.test(log)) {
    return new DevClusterError(
      `${component} could not listen: a port it was given is already in use.\n${log}`,
      "Run the command again without explicit ports so free ones are picked, or stop the process holding the port.",
      { cause: new PortInUse(component) },
    );
  }
  return new DevClusterError(
    `${component} ${what}. Its log (${logFile}) ends with:\n${log}`,
    `Read ${logFile}; if the data directory is from an older or crashed cluster, run \`npx ballast dev down\` and start again.`,
  );
}

/** Marks a start-up failure that a retry on other ports can fix. */
export class PortInUse extends Error {
  override name = "PortInUse";
}
