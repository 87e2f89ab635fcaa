/**
 * Errors of the crd module, one per step that can fail: turning a schema into
 * a structural schema, checking a resource definition's names and options,
 * and installing CRDs into a cluster.
 */

/** A schema Kubernetes would not accept (or would silently misread). */
export class CrdSchemaError extends Error {
  override name = "CrdSchemaError";
  /** Where in the resource the bad schema node sits, e.g. `$.spec.brokers[*].port`. */
  readonly path: string;

  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(`${path}: ${problem}`, options);
    this.path = path;
  }
}

/** A resource definition whose names or CRD options Kubernetes would reject. */
export class ResourceDefinitionError extends Error {
  override name = "ResourceDefinitionError";
}

/** A CRD that could not be applied, or did not become ready in time. */
export class CrdInstallError extends Error {
  override name = "CrdInstallError";
  /** The CRD's name, e.g. `kafkaclusters.ballast.dev`. */
  readonly crd: string;

  constructor(crd: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.crd = crd;
  }
}
