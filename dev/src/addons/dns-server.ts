/** The cluster DNS server: UDP on the pod network's gateway, answering from Services and EndpointSlices (dns-records.ts). */
import { createSocket } from "node:dgram";
import type { Kube } from "../node/kube.ts";
import {
  buildResponse,
  DnsFormatError,
  formatError,
  parseQuery,
  RCODE_NOTIMP,
  RCODE_NXDOMAIN,
  RCODE_OK,
  TYPE_A,
} from "./dns-message.ts";
import { buildRecords, lookup, type Slice, type SliceEndpoint } from "./dns-records.ts";
import { listWatch } from "./list-watch.ts";

interface ServiceObject {
  metadata: { name: string; namespace: string };
  spec?: { clusterIPs?: string[] };
}
interface SliceObject {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  endpoints?: SliceEndpoint[] | null;
}

export async function startDns(options: {
  kube: Kube;
  address: string;
  domain: string;
  /** Answer a ClusterIP Service with its cluster IP (the cluster runs kube-proxy). */
  clusterIps: boolean;
  signal: AbortSignal;
  log: (message: string, fields?: Record<string, unknown>) => void;
}): Promise<void> {
  let services: ServiceObject[] = [];
  let slices: SliceObject[] = [];
  let records = new Map<string, string[]>();
  const rebuild = () => {
    const sliceInfo: Slice[] = slices.flatMap((s) => {
      const service = s.metadata.labels?.["kubernetes.io/service-name"];
      return service
        ? [{ namespace: s.metadata.namespace, service, endpoints: s.endpoints ?? [] }]
        : [];
    });
    records = buildRecords(
      services.map((s) => ({
        namespace: s.metadata.namespace,
        name: s.metadata.name,
        ...(s.spec?.clusterIPs ? { clusterIPs: s.spec.clusterIPs } : {}),
      })),
      sliceInfo,
      options.domain,
      { clusterIps: options.clusterIps },
    );
  };
  void listWatch<ServiceObject>(
    options.kube,
    "/api/v1/services",
    (items) => {
      services = items;
      rebuild();
    },
    options.signal,
    options.log,
  );
  void listWatch<SliceObject>(
    options.kube,
    "/apis/discovery.k8s.io/v1/endpointslices",
    (items) => {
      slices = items;
      rebuild();
    },
    options.signal,
    options.log,
  );

  const socket = createSocket("udp4");
  socket.on("message", (packet, remote) => {
    let answer: Buffer;
    try {
      const question = parseQuery(packet);
      const result = lookup(records, question.name, options.domain);
      if (result.kind === "nxdomain") answer = buildResponse(question, RCODE_NXDOMAIN, []);
      else if (question.type !== TYPE_A || result.kind === "nodata")
        answer = buildResponse(question, RCODE_OK, []);
      else answer = buildResponse(question, RCODE_OK, result.addresses);
      if (question.class !== 1) answer = buildResponse(question, RCODE_NOTIMP, []);
    } catch (error) {
      if (!(error instanceof DnsFormatError)) throw error;
      answer = formatError(packet);
    }
    socket.send(answer, remote.port, remote.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(53, options.address, () => resolve());
  });
  options.signal.addEventListener("abort", () => socket.close(), { once: true });
  options.log("dns serving", { address: `${options.address}:53` });
}
