/**
 * Thrown from the `default` of a `switch` over a union once every member has
 * its own `case`: `value` then has type `never`, so adding a member to the
 * union without handling it is a compile error rather than a silent fallthrough.
 *
 * @example
 *   switch (op) {
 *     case 'GetObject': …
 *     default:
 *       throw new UnreachableCaseError(op);
 *   }
 */
export class UnreachableCaseError extends Error {
  constructor(value: never) {
    super(`Unreachable case: ${JSON.stringify(value)}`);
    this.name = 'UnreachableCaseError';
  }
}
