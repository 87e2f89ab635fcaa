/**
 * Probe and lifecycle-hook actions: exec inside the container's namespaces,
 * TCP connect and HTTP GET to the pod's IP, as the kubelet does them.
 */
import { spawn } from "node:child_process";
import { request } from "node:http";
import { connect } from "node:net";
import type { Container, Handler } from "./kube.ts";

export interface ActionTarget {
  podIP: string;
  container: Container;
  /** Runs argv inside the container; resolves with the exit code. */
  exec(argv: string[], timeoutMs: number): Promise<{ code: number; output: string }>;
}

export interface ProbeResult {
  ok: boolean;
  message: string;
}

export function resolvePort(container: Container, port: number | string): number {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`container "${container.name}" has no port named "${port}"`);
  return named.containerPort;
}

export async function runAction(
  handler: Handler,
  target: ActionTarget,
  timeoutMs: number,
): Promise<ProbeResult> {
  try {
    if (handler.exec) {
      const { code, output } = await target.exec(handler.exec.command, timeoutMs);
      return {
        ok: code === 0,
        message: code === 0 ? "" : `exit code ${code}: ${output.slice(0, 200)}`,
      };
    }
    if (handler.tcpSocket) {
      const port = resolvePort(target.container, handler.tcpSocket.port);
      return await tcpCheck(handler.tcpSocket.host ?? target.podIP, port, timeoutMs);
    }
    if (handler.httpGet) {
      const port = resolvePort(target.container, handler.httpGet.port);
      return await httpCheck(
        handler.httpGet.host ?? target.podIP,
        port,
        handler.httpGet.path ?? "/",
        handler.httpGet.httpHeaders ?? [],
        timeoutMs,
      );
    }
    if (handler.sleep) {
      await new Promise((r) =>
        setTimeout(r, handler.sleep?.seconds ? handler.sleep.seconds * 1000 : 0),
      );
      return { ok: true, message: "" };
    }
    return { ok: false, message: "the handler has no action" };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

function tcpCheck(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.on("connect", () => {
      socket.destroy();
      resolve({ ok: true, message: "" });
    });
    socket.on("timeout", () => {
      socket.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    });
    socket.on("error", (error) =>
      resolve({ ok: false, message: `dial tcp ${host}:${port}: ${error.message}` }),
    );
  });
}

function httpCheck(
  host: string,
  port: number,
  path: string,
  headers: { name: string; value: string }[],
  timeoutMs: number,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request(
      {
        host,
        port,
        path,
        method: "GET",
        timeout: timeoutMs,
        headers: Object.fromEntries(headers.map((h) => [h.name, h.value])),
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve({
          ok: status >= 200 && status < 400,
          message: status >= 400 ? `HTTP probe failed with statuscode: ${status}` : "",
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`Get "http://${host}:${port}${path}": timeout`)));
    req.on("error", (error) => resolve({ ok: false, message: error.message }));
    req.end();
  });
}

/** Runs a command and collects its combined output, killing it at the timeout. */
export function runCommand(
  argv: string[],
  timeoutMs: number,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const [command, ...args] = argv;
    if (!command) {
      resolve({ code: 127, output: "empty command" });
      return;
    }
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (d: Buffer) => {
      if (output.length < 4096) output += d.toString();
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 137 : 1), output });
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ code: 127, output: error.message });
    });
  });
}
