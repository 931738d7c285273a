import { BadUserInputError } from '../errors';

/**
 * Opaque global object ids (`Node.id`): base64url of `{Type}:{key}`, where a
 * composite key joins its parts with `|` (no model id, version, ticker, alias
 * name or deployment id can contain it). base64url, not graphql-relay's
 * standard base64, so an id goes into a URL path unescaped and never contains
 * `/` or has a UUID's shape — which keeps it apart from the two ids that
 * existed before and stay as they were: a model's bucket prefix (`etfs/SPY`)
 * and a deployment's UUID (see docs/design-notes.md).
 */
export const NodeType = {
  Asset: 'Asset',
  Model: 'Model',
  Version: 'Version',
  Deployment: 'Deployment',
  Alias: 'Alias',
  Approval: 'Approval',
  PromotionPolicy: 'PromotionPolicy',
} as const;
export type NodeType = (typeof NodeType)[keyof typeof NodeType];

const KEY_SEPARATOR = '|';

export function toGlobalId(type: NodeType, ...parts: string[]): string {
  return Buffer.from(`${type}:${parts.join(KEY_SEPARATOR)}`, 'utf8').toString('base64url');
}

export interface DecodedGlobalId {
  type: NodeType;
  parts: string[];
}

/** The type and key parts of a global id (BAD_USER_INPUT when it is not one of ours). */
export function fromGlobalId(id: string): DecodedGlobalId {
  const text = /^[A-Za-z0-9_-]{1,1024}$/.test(id) ? Buffer.from(id, 'base64url').toString('utf8') : '';
  const colon = text.indexOf(':');
  const type = text.slice(0, colon) as NodeType;
  if (colon < 1 || !Object.values(NodeType).includes(type))
    throw new BadUserInputError(`"${id.slice(0, 80)}" is not a Modelgraph id`, { argument: 'id' });
  return { type, parts: text.slice(colon + 1).split(KEY_SEPARATOR) };
}
