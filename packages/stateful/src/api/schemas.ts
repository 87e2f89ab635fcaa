/**
 * CRD schema pieces every member set's spec has, with the descriptions
 * `kubectl explain` shows: a Kubernetes quantity, compute resources, and the
 * members' data volume (whose StorageClass cannot change once claims exist:
 * a new class would leave every existing claim on the old one; and whose
 * size cannot shrink: no volume can, and a member made on a smaller claim
 * than its peers' data would fail to clone them).
 */
import Type from "typebox";

/** A Kubernetes quantity such as 500m, 1Gi or 2. */
export function Quantity(description: string) {
  return Type.String({
    description,
    pattern: "^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$",
    maxLength: 32,
  });
}

/** `requests` and `limits` of a member's main container. */
export function ComputeResources(description: string) {
  return Type.Object(
    {
      requests: Type.Optional(
        Type.Record(Type.String(), Quantity("e.g. cpu: 500m, memory: 1Gi"), { maxProperties: 8 }),
      ),
      limits: Type.Optional(
        Type.Record(Type.String(), Quantity("e.g. memory: 2Gi"), { maxProperties: 8 }),
      ),
    },
    { description },
  );
}

/**
 * Each member's data volume. `what` names the set in the immutability
 * message ("the cluster", "the ensemble").
 */
export function MemberStorage(options: { size: string; description: string; what: string }) {
  return Type.Object(
    {
      size: Quantity(
        `${options.size} Cannot shrink; a larger size applies to the claims made from then on (existing claims are not expanded).`,
      ),
      storageClassName: Type.Optional(
        Type.String({
          description: "StorageClass of the data volumes. @default the cluster's default",
          minLength: 1,
          maxLength: 253,
        }),
      ),
    },
    {
      description: options.description,
      "x-kubernetes-validations": [
        {
          rule: "!has(oldSelf.storageClassName) ? !has(self.storageClassName) : has(self.storageClassName) && self.storageClassName == oldSelf.storageClassName",
          message: `storage.storageClassName cannot change once ${options.what} exists`,
        },
        {
          rule: "quantity(self.size).compareTo(quantity(oldSelf.size)) >= 0",
          message: `storage.size cannot shrink once ${options.what} exists (a volume cannot be made smaller): set it back to at least its current size`,
        },
      ],
    },
  );
}
