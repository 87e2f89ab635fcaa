/**
 * `BALLAST_TRACE_REQUESTS=<file>`: one line per Kubernetes API request this
 * process makes, `METHOD path status`, appended as each answer arrives. The
 * end-to-end tests read it to prove an operator's declared RBAC is exactly
 * what it uses (every rule exercised, nothing refused); an operator author
 * can read it to see what a new feature calls.
 */
import { subscribe } from "node:diagnostics_channel";
import { appendFileSync } from "node:fs";

interface TracedRequest {
  method: string;
  path: string;
}

export function traceRequests(file: string): void {
  subscribe("http.client.response.finish", (message) => {
    const { request, response } = message as {
      request: TracedRequest;
      response: { statusCode?: number };
    };
    // Synchronous: a SIGKILLed operator still leaves every line it saw.
    appendFileSync(file, `${request.method} ${request.path} ${response.statusCode ?? 0}\n`);
  });
}
