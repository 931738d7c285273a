/**
 * A small CloudFormation/SAM template checker built on the `yaml` package:
 * parses the short-form intrinsics and checks what a typo would break —
 * property names, required properties, property types, references,
 * conditions. Every `AWS::` resource is checked against AWS's published
 * resource specification (`@aws-cdk/aws-service-spec`, the database the AWS
 * CDK generates its L1 constructs from); the `AWS::Serverless::` types keep a
 * hand-written table, because the specification's SAM entries lag behind SAM
 * (its AWS::Serverless::Function has no LoggingConfig, for one). Not a
 * replacement for cfn-lint (which is not an npm package).
 */
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import { parse, type Tags } from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Template {
  AWSTemplateFormatVersion?: string;
  Transform?: string | string[];
  Description?: string;
  Metadata?: JsonObject;
  Parameters?: Record<string, JsonObject>;
  Mappings?: Record<string, JsonObject>;
  Conditions?: Record<string, Json>;
  Globals?: JsonObject;
  Resources: Record<string, Resource>;
  Outputs?: Record<string, JsonObject>;
}

export interface Resource {
  Type: string;
  Properties?: JsonObject;
  Condition?: string;
  DependsOn?: string | string[];
  Metadata?: JsonObject;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

// ---------------------------------------------------------------------------
// Parsing

/** Short-form intrinsic → long form (`!Ref x` → `{ Ref: x }`, `!Sub s` → `{ 'Fn::Sub': s }`). */
const INTRINSICS: Record<string, string> = {
  Ref: 'Ref',
  Condition: 'Condition',
  Sub: 'Fn::Sub',
  GetAtt: 'Fn::GetAtt',
  If: 'Fn::If',
  Equals: 'Fn::Equals',
  Not: 'Fn::Not',
  And: 'Fn::And',
  Or: 'Fn::Or',
  Select: 'Fn::Select',
  Split: 'Fn::Split',
  Join: 'Fn::Join',
  FindInMap: 'Fn::FindInMap',
  ImportValue: 'Fn::ImportValue',
  Base64: 'Fn::Base64',
  GetAZs: 'Fn::GetAZs',
  Cidr: 'Fn::Cidr',
};

/** yaml custom tags for every intrinsic in scalar, sequence and mapping form. */
export const CLOUDFORMATION_TAGS: Tags = Object.entries(INTRINSICS).flatMap(([short, long]) => [
  {
    tag: `!${short}`,
    // `!GetAtt Res.Attr` is the scalar form of `Fn::GetAtt: [Res, Attr]`.
    resolve: (value: string) => ({ [long]: short === 'GetAtt' ? splitOnce(value, '.') : value }),
  },
  { tag: `!${short}`, collection: 'seq' as const, resolve: (seq: { toJSON(): unknown }) => ({ [long]: seq.toJSON() }) },
  { tag: `!${short}`, collection: 'map' as const, resolve: (map: { toJSON(): unknown }) => ({ [long]: map.toJSON() }) },
]);

function splitOnce(value: string, sep: string): string[] {
  const at = value.indexOf(sep);
  return at < 0 ? [value] : [value.slice(0, at), value.slice(at + 1)];
}

export function parseTemplate(text: string): Template {
  return parse(text, { customTags: CLOUDFORMATION_TAGS, strict: true, uniqueKeys: true }) as Template;
}

// ---------------------------------------------------------------------------
// What the checker knows about resource types

export interface ResourceTypeSpec {
  /** Properties that must be present. */
  required: string[];
  /** At least one of each group must be present. */
  oneOf?: string[][];
  /** Attributes Fn::GetAtt may read. */
  attributes: string[];
  /** SAM-generated resources referable as `!Ref Logical.Suffix` (e.g. Function.Alias with AutoPublishAlias). */
  referable?: (props: JsonObject) => string[];
  /** Logical ids of resources SAM generates for this one (e.g. `${id}Role`), referable like any resource. */
  generated?: (id: string, props: JsonObject) => string[];
  /** Every property with its type (from the AWS specification): names and types are checked too. */
  properties?: Record<string, SpecProperty>;
}

/** The hand-written table of the SAM types (every `AWS::` type is read from the specification, see awsResourceType). */
export const RESOURCE_TYPES: Record<string, ResourceTypeSpec> = {
  'AWS::Serverless::Function': {
    required: [],
    // Zip functions need Handler + Runtime and code; image functions need ImageUri.
    oneOf: [['CodeUri', 'InlineCode', 'ImageUri']],
    attributes: ['Arn'],
    referable: (props) => (props.AutoPublishAlias ? ['Alias', 'Version'] : []),
    generated: (id, props) => (props.Role === undefined ? [`${id}Role`] : []),
  },
  'AWS::Serverless::HttpApi': { required: [], attributes: [], referable: () => ['Stage'] },
  'AWS::Serverless::LayerVersion': { required: ['ContentUri'], attributes: [] },
};

/** Zip-packaged functions (no ImageUri) also need these. */
const ZIP_FUNCTION_REQUIRED = ['Handler', 'Runtime'];

export const PSEUDO_PARAMETERS = [
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
];

const TOP_LEVEL_KEYS = [
  'AWSTemplateFormatVersion',
  'Transform',
  'Description',
  'Metadata',
  'Parameters',
  'Mappings',
  'Conditions',
  'Globals',
  'Resources',
  'Outputs',
];

// ---------------------------------------------------------------------------
// The AWS resource specification

/** A property's type in the specification (@aws-cdk/service-spec-types' PropertyType, the parts used here). */
type SpecType =
  | { type: 'string' | 'number' | 'integer' | 'boolean' | 'json' | 'date-time' | 'null' | 'tag' }
  | { type: 'array' | 'map'; element: SpecType }
  | { type: 'ref'; reference: { $ref: string } }
  | { type: 'union'; types: SpecType[] };
interface SpecProperty {
  type: SpecType;
  required?: boolean;
}
interface SpecResource {
  properties: Record<string, SpecProperty>;
  attributes: Record<string, unknown>;
}
interface SpecDatabase {
  lookup(entity: 'resource', key: 'cloudFormationType', op: 'equals', value: string): SpecResource[];
  get(entity: 'typeDefinition', id: string): { name: string; properties: Record<string, SpecProperty> };
}

let specDatabase: SpecDatabase | undefined;
/** The specification's database, loaded once (≈ 1 s: a 2.6 MB gzipped JSON). */
function awsSpec(): SpecDatabase {
  specDatabase ??= loadAwsServiceSpecSync() as unknown as SpecDatabase;
  return specDatabase;
}

const awsTypes = new Map<string, ResourceTypeSpec | undefined>();
/** An `AWS::` type as the checker knows it, from the specification; undefined when the specification has no such type. */
export function awsResourceType(type: string): ResourceTypeSpec | undefined {
  if (!awsTypes.has(type)) {
    const found = awsSpec().lookup('resource', 'cloudFormationType', 'equals', type);
    const r = found.length === 1 ? found[0] : undefined;
    awsTypes.set(
      type,
      r && {
        required: Object.entries(r.properties)
          .filter(([, p]) => p.required)
          .map(([name]) => name),
        attributes: Object.keys(r.attributes),
        properties: r.properties,
      },
    );
  }
  return awsTypes.get(type);
}

function resourceType(type: string): ResourceTypeSpec | undefined {
  return type.startsWith('AWS::') && !type.startsWith('AWS::Serverless::')
    ? awsResourceType(type)
    : RESOURCE_TYPES[type];
}

/** Intrinsic functions that stand for a value whose type is only known at deployment. */
const VALUE_INTRINSICS = new Set([
  'Ref',
  'Fn::GetAtt',
  'Fn::Sub',
  'Fn::Join',
  'Fn::Select',
  'Fn::Split',
  'Fn::FindInMap',
  'Fn::ImportValue',
  'Fn::Base64',
  'Fn::GetAZs',
  'Fn::Cidr',
]);

/**
 * Problems of `value` against a property type of the specification: unknown
 * property names, missing required properties and values of the wrong type,
 * recursing into arrays, maps and property types. Intrinsics are accepted as
 * any type; both branches of Fn::If are checked.
 */
function typeProblems(value: Json, type: SpecType, where: string): string[] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && VALUE_INTRINSICS.has(keys[0])) return [];
    if (keys.length === 1 && keys[0] === 'Fn::If' && Array.isArray(value['Fn::If'])) {
      const [, a, b] = value['Fn::If'];
      return [a, b].flatMap((branch, i) =>
        isNoValue(branch) ? [] : typeProblems(branch, type, `${where}(If ${i ? 'else' : 'then'})`),
      );
    }
  }
  const is = (ok: boolean, expected: string) =>
    ok ? [] : [`${where}: expected ${expected}, got ${JSON.stringify(value)?.slice(0, 60)}`];
  switch (type.type) {
    case 'string':
    case 'date-time':
      // CloudFormation turns numbers and booleans into strings.
      return is(['string', 'number', 'boolean'].includes(typeof value), 'a string');
    case 'number':
      return is(typeof value === 'number' || (typeof value === 'string' && Number.isFinite(Number(value))), 'a number');
    case 'integer':
      return is(Number.isInteger(typeof value === 'string' ? Number(value) : value), 'an integer');
    case 'boolean':
      return is(typeof value === 'boolean' || value === 'true' || value === 'false', 'a boolean');
    case 'json':
      return [];
    case 'null':
      return is(value === null, 'null');
    case 'tag':
      return is(isObject(value) && 'Key' in value && 'Value' in value, 'a tag { Key, Value }');
    case 'array':
      if (!Array.isArray(value)) return is(false, 'a list');
      return value.flatMap((v, i) => (isNoValue(v) ? [] : typeProblems(v, type.element, `${where}[${i}]`)));
    case 'map':
      if (!isObject(value)) return is(false, 'a map');
      return Object.entries(value).flatMap(([k, v]) => typeProblems(v, type.element, `${where}.${k}`));
    case 'ref': {
      if (!isObject(value)) return is(false, 'an object');
      const def = awsSpec().get('typeDefinition', type.reference.$ref);
      return propertiesProblems(value, def.properties, where, def.name);
    }
    case 'union': {
      const tries = type.types.map((t) => typeProblems(value, t, where));
      return tries.some((p) => p.length === 0) ? [] : tries.reduce((a, b) => (a.length <= b.length ? a : b));
    }
  }
}

/** Unknown names, missing required properties and wrong types of an object of properties. */
function propertiesProblems(
  value: JsonObject,
  properties: Record<string, SpecProperty>,
  where: string,
  typeName: string,
): string[] {
  const problems: string[] = [];
  for (const [name, v] of Object.entries(value)) {
    const p = properties[name];
    if (!p) problems.push(`${where}: ${typeName} has no property ${name}`);
    else if (!isNoValue(v)) problems.push(...typeProblems(v, p.type, `${where}.${name}`));
  }
  for (const [name, p] of Object.entries(properties))
    if (p.required && !(name in value)) problems.push(`${where}: ${typeName} requires ${name}`);
  return problems;
}

function isObject(v: Json): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isNoValue(v: Json): boolean {
  return isObject(v) && v.Ref === 'AWS::NoValue';
}

// ---------------------------------------------------------------------------
// Checking

/** Every problem found, as readable sentences; empty when the template is sound. */
export function checkTemplate(t: Template): string[] {
  const problems: string[] = [];
  const params = new Set(Object.keys(t.Parameters ?? {}));
  const resources = new Set(Object.keys(t.Resources ?? {}));
  for (const [id, r] of Object.entries(t.Resources ?? {})) {
    for (const generatedId of resourceType(r.Type)?.generated?.(id, r.Properties ?? {}) ?? [])
      resources.add(generatedId);
  }
  const conditions = new Set(Object.keys(t.Conditions ?? {}));
  const mappings = new Set(Object.keys(t.Mappings ?? {}));
  const usedParams = new Set<string>();
  const usedConditions = new Set<string>();

  for (const key of Object.keys(t)) if (!TOP_LEVEL_KEYS.includes(key)) problems.push(`unknown top-level key ${key}`);
  const transforms = ([] as string[]).concat(t.Transform ?? []);
  const usesSam = Object.values(t.Resources ?? {}).some((r) => r.Type?.startsWith('AWS::Serverless::'));
  if (usesSam && !transforms.includes('AWS::Serverless-2016-10-31'))
    problems.push('AWS::Serverless resources need Transform: AWS::Serverless-2016-10-31');
  if (!t.Resources || resources.size === 0) problems.push('the template has no Resources');

  // Names `!Ref Logical.Suffix` may use (SAM-generated resources).
  const referable = new Set<string>();
  for (const [id, r] of Object.entries(t.Resources ?? {})) {
    for (const suffix of resourceType(r.Type)?.referable?.(r.Properties ?? {}) ?? []) referable.add(`${id}.${suffix}`);
  }

  const refTarget = (name: string, where: string) => {
    if (params.has(name)) usedParams.add(name);
    else if (!resources.has(name) && !PSEUDO_PARAMETERS.includes(name) && !referable.has(name))
      problems.push(`${where}: Ref to unknown "${name}"`);
  };
  const getAttTarget = (resource: string, attribute: string | undefined, where: string) => {
    if (!resources.has(resource)) return problems.push(`${where}: GetAtt of unknown resource "${resource}"`);
    const r = t.Resources?.[resource];
    const spec = r && resourceType(r.Type);
    if (
      spec &&
      attribute !== undefined &&
      !spec.attributes.includes(attribute) &&
      !spec.attributes.includes(attribute.split('.')[0])
    ) {
      problems.push(
        `${where}: ${r.Type} has no attribute "${attribute}" (known: ${spec.attributes.join(', ') || 'none'})`,
      );
    }
  };
  const conditionTarget = (name: unknown, where: string) => {
    if (typeof name !== 'string' || !conditions.has(name))
      problems.push(`${where}: unknown condition ${JSON.stringify(name)}`);
    else usedConditions.add(name);
  };

  const subVariables = (text: string, extra: Set<string>, where: string) => {
    for (const m of text.matchAll(/\$\{([^}]*)\}/g)) {
      const name = m[1].trim();
      if (name.startsWith('!')) continue; // ${!Literal}
      if (extra.has(name)) continue;
      const dot = name.indexOf('.');
      if (dot > 0 && !PSEUDO_PARAMETERS.includes(name) && !referable.has(name))
        getAttTarget(name.slice(0, dot), name.slice(dot + 1), where);
      else refTarget(name, where);
    }
  };

  const walk = (node: Json | undefined, where: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}[${i}]`));
    if (node === null || typeof node !== 'object') return;
    const keys = Object.keys(node);
    if (keys.length === 1) {
      const [fn] = keys;
      const arg = node[fn];
      switch (fn) {
        case 'Ref':
          if (typeof arg !== 'string') problems.push(`${where}: Ref takes a name`);
          else refTarget(arg, where);
          return;
        case 'Fn::GetAtt': {
          const parts = typeof arg === 'string' ? splitOnce(arg, '.') : (arg as Json[]);
          if (!Array.isArray(parts) || parts.length !== 2 || typeof parts[0] !== 'string')
            return void problems.push(`${where}: GetAtt takes [Resource, Attribute]`);
          getAttTarget(parts[0], typeof parts[1] === 'string' ? parts[1] : undefined, where);
          if (typeof parts[1] !== 'string') walk(parts[1], where);
          return;
        }
        case 'Fn::Sub': {
          if (typeof arg === 'string') return subVariables(arg, new Set(), where);
          if (
            !Array.isArray(arg) ||
            arg.length !== 2 ||
            typeof arg[0] !== 'string' ||
            typeof arg[1] !== 'object' ||
            arg[1] === null ||
            Array.isArray(arg[1])
          ) {
            return void problems.push(`${where}: Sub takes a string or [string, {variables}]`);
          }
          const vars = arg[1] as JsonObject;
          subVariables(arg[0], new Set(Object.keys(vars)), where);
          for (const [k, v] of Object.entries(vars)) walk(v, `${where}.Sub.${k}`);
          return;
        }
        case 'Fn::If': {
          if (!Array.isArray(arg) || arg.length !== 3)
            return void problems.push(`${where}: If takes [Condition, then, else]`);
          conditionTarget(arg[0], where);
          walk(arg[1], where);
          walk(arg[2], where);
          return;
        }
        case 'Condition':
          // Inside Conditions (and Fn::And/Or/Not), { Condition: Name } references another condition.
          if (typeof arg === 'string') return conditionTarget(arg, where);
          break;
        case 'Fn::FindInMap':
          if (!Array.isArray(arg) || arg.length !== 3)
            return void problems.push(`${where}: FindInMap takes [Map, TopKey, SecondKey]`);
          if (typeof arg[0] === 'string' && !mappings.has(arg[0]))
            problems.push(`${where}: unknown mapping "${arg[0]}"`);
          return walk(arg.slice(1) as Json[], where);
        case 'Fn::Equals':
        case 'Fn::Select':
        case 'Fn::Split':
        case 'Fn::Join':
        case 'Fn::Cidr':
          if (!Array.isArray(arg)) return void problems.push(`${where}: ${fn} takes a list`);
          return walk(arg, where);
        case 'Fn::And':
        case 'Fn::Or':
          if (!Array.isArray(arg) || arg.length < 2 || arg.length > 10)
            return void problems.push(`${where}: ${fn} takes 2–10 conditions`);
          return walk(arg, where);
        case 'Fn::Not':
          if (!Array.isArray(arg) || arg.length !== 1) return void problems.push(`${where}: Not takes [condition]`);
          return walk(arg, where);
        case 'Fn::ImportValue':
        case 'Fn::Base64':
        case 'Fn::GetAZs':
          return walk(arg, where);
        default:
          break;
      }
    }
    for (const [k, v] of Object.entries(node)) walk(v, `${where}.${k}`);
  };

  for (const [name, value] of Object.entries(t.Conditions ?? {})) {
    const fn = value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value)[0] : undefined;
    if (!fn || !['Fn::Equals', 'Fn::Not', 'Fn::And', 'Fn::Or', 'Condition'].includes(fn))
      problems.push(`Conditions.${name}: not a condition function`);
    walk(value, `Conditions.${name}`);
  }

  for (const [id, r] of Object.entries(t.Resources ?? {})) {
    const where = `Resources.${id}`;
    const spec = resourceType(r.Type);
    if (!spec) {
      problems.push(
        r.Type.startsWith('AWS::') && !r.Type.startsWith('AWS::Serverless::')
          ? `${where}: ${r.Type} is not a resource type of the AWS resource specification`
          : `${where}: resource type ${r.Type} is not in the checker's table (add its required properties)`,
      );
      continue;
    }
    const props = r.Properties ?? {};
    if (spec.properties) problems.push(...propertiesProblems(props, spec.properties, where, r.Type));
    else for (const p of spec.required) if (!(p in props)) problems.push(`${where}: ${r.Type} requires ${p}`);
    for (const group of spec.oneOf ?? [])
      if (!group.some((p) => p in props)) problems.push(`${where}: ${r.Type} requires one of ${group.join(', ')}`);
    if (r.Type === 'AWS::Serverless::Function' && !('ImageUri' in props)) {
      for (const p of ZIP_FUNCTION_REQUIRED) if (!(p in props)) problems.push(`${where}: a zip function requires ${p}`);
    }
    if (r.Condition !== undefined) conditionTarget(r.Condition, `${where}.Condition`);
    for (const dep of ([] as string[]).concat(r.DependsOn ?? []))
      if (!resources.has(dep)) problems.push(`${where}: DependsOn unknown resource "${dep}"`);
    walk(props as Json, `${where}.Properties`);
    walk((r.Metadata ?? null) as Json, `${where}.Metadata`);
  }

  for (const [id, o] of Object.entries(t.Outputs ?? {})) {
    if (!('Value' in o)) problems.push(`Outputs.${id}: needs a Value`);
    if (o.Condition !== undefined) conditionTarget(o.Condition, `Outputs.${id}.Condition`);
    walk(o.Value, `Outputs.${id}.Value`);
  }
  walk((t.Metadata ?? null) as Json, 'Metadata');

  for (const p of params) if (!usedParams.has(p)) problems.push(`Parameters.${p} is never used`);
  for (const c of conditions) if (!usedConditions.has(c)) problems.push(`Conditions.${c} is never used`);
  for (const [name, p] of Object.entries(t.Parameters ?? {})) {
    if (typeof p.Type !== 'string') problems.push(`Parameters.${name} needs a Type`);
    const allowed = p.AllowedValues as Json[] | undefined;
    if (allowed && p.Default !== undefined && !allowed.map(String).includes(String(p.Default)))
      problems.push(`Parameters.${name}: Default is not an AllowedValue`);
  }
  return problems;
}

// ---------------------------------------------------------------------------
// Evaluating the template with given parameter values

export type ParameterValues = Record<string, string>;

export function parameterDefaults(t: Template): ParameterValues {
  const out: ParameterValues = {};
  for (const [name, p] of Object.entries(t.Parameters ?? {}))
    if (p.Default !== undefined) out[name] = String(p.Default);
  return out;
}

/**
 * Resolves a value the way CloudFormation would for these parameter values.
 * Resources resolve to `<LogicalId>` placeholders (their physical names are unknown here).
 */
export function resolveValue(
  t: Template,
  value: Json | undefined,
  params: ParameterValues,
  pseudo: Record<string, string> = {},
): Json | undefined {
  const ref = (name: string): string => {
    if (name in params) return params[name];
    if (name in pseudo) return pseudo[name];
    if (name === 'AWS::Partition') return 'aws';
    if (name === 'AWS::Region') return 'us-east-1';
    if (name === 'AWS::AccountId') return '123456789012';
    if (name === 'AWS::URLSuffix') return 'amazonaws.com';
    if (name === 'AWS::StackName') return 'modelgraph';
    return `<${name}>`;
  };
  const go = (v: Json | undefined): Json | undefined => {
    if (Array.isArray(v)) return v.map(go).filter((x) => x !== NO_VALUE) as Json[];
    if (v === null || typeof v !== 'object') return v;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const [fn] = keys;
      const arg = v[fn];
      switch (fn) {
        case 'Ref':
          if (arg === 'AWS::NoValue') return NO_VALUE;
          if (t.Parameters?.[arg as string]?.Type === 'CommaDelimitedList')
            return (params[arg as string] ?? '').split(',');
          return ref(arg as string);
        case 'Fn::If': {
          const [cond, a, b] = arg as Json[];
          return go(evaluateCondition(t, cond as string, params) ? a : b);
        }
        case 'Fn::Sub': {
          const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, JsonObject]);
          const resolvedVars = Object.fromEntries(Object.entries(vars).map(([k, x]) => [k, String(go(x))]));
          return text.replace(/\$\{([^}!][^}]*)\}/g, (_m, name: string) => resolvedVars[name] ?? ref(name));
        }
        case 'Fn::Join': {
          const [sep, list] = arg as [string, Json];
          return (go(list) as Json[]).map(String).join(sep);
        }
        case 'Fn::GetAtt':
          return `<${(arg as string[]).join('.')}>`;
        default:
          break;
      }
    }
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      const r = go(x);
      if (r !== NO_VALUE && r !== undefined) out[k] = r;
    }
    return out;
  };
  const result = go(value);
  return result === NO_VALUE ? undefined : result;
}

const NO_VALUE = '\u0000AWS::NoValue';

export function evaluateCondition(t: Template, name: string, params: ParameterValues): boolean {
  const evalNode = (node: Json): boolean | string => {
    if (typeof node === 'string') return node;
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return String(node);
    const [fn] = Object.keys(node);
    const arg = node[fn] as Json[];
    switch (fn) {
      case 'Fn::Equals':
        return String(value(arg[0])) === String(value(arg[1]));
      case 'Fn::Not':
        return !evalNode(arg[0]);
      case 'Fn::And':
        return arg.every((a) => evalNode(a) === true);
      case 'Fn::Or':
        return arg.some((a) => evalNode(a) === true);
      case 'Condition':
        return evaluateCondition(t, node[fn] as string, params);
      default:
        return String(value(node));
    }
  };
  const value = (node: Json): Json | undefined =>
    node !== null && typeof node === 'object' && !Array.isArray(node) ? resolveValue(t, node, params) : node;
  const cond = t.Conditions?.[name];
  if (cond === undefined) throw new Error(`unknown condition ${name}`);
  return evalNode(cond) === true;
}

/** Which resources exist for these parameter values. */
export function activeResources(t: Template, params: ParameterValues): Record<string, Resource> {
  return Object.fromEntries(
    Object.entries(t.Resources).filter(
      ([, r]) => r.Condition === undefined || evaluateCondition(t, r.Condition, params),
    ),
  );
}

/** IAM-style wildcard match (`*` any run of characters including `/`, `?` one character). */
export function iamPatternMatches(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(value);
}

/**
 * A Step Functions payload template (`Parameters`, `ItemSelector`) applied the
 * way the state machine does for the few paths our definitions use: `key.$`
 * fields read `$.x` from `input`, or `$$.Map.Item.Value` (the Map item);
 * nested objects are applied too, other values copied.
 */
export function statesPayload(template: JsonObject, input: object, item?: unknown): any {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(template)) {
    if (k.endsWith('.$')) {
      const path = String(v);
      out[k.slice(0, -2)] =
        path === '$$.Map.Item.Value' ? item : (input as Record<string, unknown>)[path.replace(/^\$\./, '')];
    } else out[k] = v && typeof v === 'object' && !Array.isArray(v) ? statesPayload(v as JsonObject, input, item) : v;
  }
  return out;
}
