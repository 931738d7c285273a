/**
 * A small CloudFormation/SAM template checker built on the `yaml` package:
 * parses the short-form intrinsics and checks what a typo would break —
 * required properties, references, conditions. Not a replacement for
 * cfn-lint (which is not an npm package); it covers the resource types
 * template.yaml uses.
 */
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
}

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
  'AWS::S3::Bucket': {
    required: [],
    attributes: ['Arn', 'DomainName', 'DualStackDomainName', 'RegionalDomainName', 'WebsiteURL'],
  },
  'AWS::S3::BucketPolicy': { required: ['Bucket', 'PolicyDocument'], attributes: [] },
  'AWS::Logs::LogGroup': { required: [], attributes: ['Arn'] },
  'AWS::ApiGatewayV2::Authorizer': { required: ['ApiId', 'AuthorizerType', 'Name'], attributes: ['AuthorizerId'] },
  'AWS::ApiGatewayV2::Integration': { required: ['ApiId', 'IntegrationType'], attributes: ['IntegrationId'] },
  'AWS::ApiGatewayV2::Route': { required: ['ApiId', 'RouteKey'], attributes: ['RouteId'] },
  'AWS::Lambda::Permission': { required: ['Action', 'FunctionName', 'Principal'], attributes: ['Id'] },
  'AWS::Events::EventBus': { required: ['Name'], attributes: ['Arn', 'Name', 'Policy'] },
  'AWS::IAM::Role': { required: ['AssumeRolePolicyDocument'], attributes: ['Arn', 'RoleId'] },
  'AWS::CloudWatch::Alarm': {
    required: ['ComparisonOperator', 'EvaluationPeriods'],
    // One metric (MetricName with Statistic or ExtendedStatistic) or metric math (Metrics).
    oneOf: [['MetricName', 'Metrics']],
    attributes: ['Arn'],
  },
  'AWS::CloudWatch::Dashboard': { required: ['DashboardBody'], attributes: [] },
  'AWS::StepFunctions::StateMachine': {
    required: ['RoleArn'],
    oneOf: [['Definition', 'DefinitionString', 'DefinitionS3Location']],
    attributes: ['Arn', 'Name', 'StateMachineRevisionId'],
  },
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
// Checking

/** Every problem found, as readable sentences; empty when the template is sound. */
export function checkTemplate(t: Template): string[] {
  const problems: string[] = [];
  const params = new Set(Object.keys(t.Parameters ?? {}));
  const resources = new Set(Object.keys(t.Resources ?? {}));
  for (const [id, r] of Object.entries(t.Resources ?? {})) {
    for (const generatedId of RESOURCE_TYPES[r.Type]?.generated?.(id, r.Properties ?? {}) ?? [])
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
    for (const suffix of RESOURCE_TYPES[r.Type]?.referable?.(r.Properties ?? {}) ?? [])
      referable.add(`${id}.${suffix}`);
  }

  const refTarget = (name: string, where: string) => {
    if (params.has(name)) usedParams.add(name);
    else if (!resources.has(name) && !PSEUDO_PARAMETERS.includes(name) && !referable.has(name))
      problems.push(`${where}: Ref to unknown "${name}"`);
  };
  const getAttTarget = (resource: string, attribute: string | undefined, where: string) => {
    if (!resources.has(resource)) return problems.push(`${where}: GetAtt of unknown resource "${resource}"`);
    const r = t.Resources?.[resource];
    const spec = r && RESOURCE_TYPES[r.Type];
    if (spec && attribute !== undefined && !spec.attributes.includes(attribute.split('.')[0])) {
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
    const spec = RESOURCE_TYPES[r.Type];
    if (!spec) {
      problems.push(`${where}: resource type ${r.Type} is not in the checker's table (add its required properties)`);
      continue;
    }
    const props = r.Properties ?? {};
    for (const p of spec.required) if (!(p in props)) problems.push(`${where}: ${r.Type} requires ${p}`);
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
