/**
 * The hello operator assembled: CRD installation and a Manager running the
 * Greeting controller. `main.ts` runs it; the tests run the same thing.
 */
import {
  installCrds,
  type KubeClient,
  type Logger,
  Manager,
  type ManagerOptions,
} from "@ballast/runtime";
import { Greeting } from "./api.ts";
import { greetingController } from "./controller.ts";

/** Applies the Greeting CRD and waits until the API server serves it. */
export async function installGreetingCrd(client: KubeClient, signal?: AbortSignal): Promise<void> {
  await installCrds(client, [Greeting], signal ? { signal } : {});
}

export interface HelloOptions
  extends Pick<
    ManagerOptions,
    "metricsPort" | "healthPort" | "host" | "leaderElection" | "metrics"
  > {
  /** Only watch this namespace. @default all namespaces */
  namespace?: string;
  logger?: Logger;
  /** Re-check every Greeting this often (0: never). @default 0 */
  resyncPeriodMs?: number;
}

/** A Manager running the Greeting controller; `start()` it with a signal. */
export function helloManager(client: KubeClient, options: HelloOptions = {}) {
  const { namespace, resyncPeriodMs, ...managerOptions } = options;
  const manager = new Manager({ client, ...managerOptions });
  const events = manager.eventRecorder({
    reportingController: "example.ballast.dev/hello-operator",
  });
  const greetings = greetingController(
    client,
    {
      ...(namespace ? { namespace } : {}),
      ...(resyncPeriodMs ? { resyncPeriodMs } : {}),
    },
    events,
  );
  manager.add(greetings);
  return { manager, greetings };
}
