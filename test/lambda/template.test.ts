/**
 * template.yaml, checked statically: it parses (with CloudFormation's short
 * intrinsics), every resource has its required properties, every reference
 * and condition exists, the environment is exactly src/config.ts's, and the
 * IAM policy lets the function write exactly the keys the code writes.
 * The build artifacts Handler/CodeUri/ContentUri point at are checked in
 * handler.test.ts, which runs the build.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema, loadConfig } from '../../src/config';
import { METRICS_NAMESPACE, METRICS_SERVICE, MetricName, MetricUnit, metrics } from '../../src/observability/metrics';
import {
  ASSET_REGISTRY_KEY,
  DEPLOYMENT_HISTORY_KEY,
  EVENTS_WATERMARK_KEY,
  aliasKey,
  approvalKey,
  promotionPolicyKey,
  versionTagsKey,
  MODEL_REGISTRY_KEY,
  PERFORMANCE_TRACKING_KEY,
  archiveKey,
  shadowStatsKey,
  stageHistoryArchiveKey,
  stagePointerKey,
} from '../../src/registry/bucketLayout';
import { ENSEMBLE_WEIGHTS_FILE, VOTING_STRATEGY_FILE } from '../../src/release/registerEnsemble';
import {
  activeResources,
  checkTemplate,
  iamPatternMatches,
  parameterDefaults,
  parseTemplate,
  resolveValue,
  type Json,
  type JsonObject,
  type Template,
} from './support/cloudFormation';

const ROOT = join(import.meta.dirname, '../..');
const template = parseTemplate(readFileSync(join(ROOT, 'template.yaml'), 'utf8'));
const defaults = parameterDefaults(template);
const fn = template.Resources.GraphQLFunction;
const fnProps = fn.Properties as JsonObject;

/** Lambda sets these itself and refuses them in a function's configuration. */
const LAMBDA_RESERVED_ENV = [
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
];

function policyStatements(params = defaults): JsonObject[] {
  const policies = resolveValue(template, fnProps.Policies, params) as JsonObject[];
  return policies.flatMap((p) => p.Statement as JsonObject[]);
}

function asList(v: Json | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
}

/** Whether the function's policy lets it PutObject `key` (and with which conditional header). */
function putAllowed(key: string, bucket = '<ModelBucket>'): JsonObject[] {
  return policyStatements().filter(
    (s) =>
      s.Effect === 'Allow' &&
      asList(s.Action).includes('s3:PutObject') &&
      asList(s.Resource).some((r) => iamPatternMatches(r, `arn:aws:s3:::${bucket}/${key}`)),
  );
}

describe('template.yaml', () => {
  it('parses with the CloudFormation intrinsics in every form', () => {
    // Prepare
    const sample = parseTemplate(`
Resources:
  A:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub ['/x/\${N}', { N: !Ref AWS::StackName }]
      Scalar: !GetAtt B.Arn
      Seq: !If [C, !Join ['', [a, !Select [0, !Split [',', 'x,y']]]], !Base64 abc]
      Map: !FindInMap { Mappings: x }
      Import: !ImportValue other-stack-Output
      Cond: !And [!Condition C, !Or [!Equals [1, 1], !Not [!Equals [1, 2]]]]
`);
    // Assess
    const props = sample.Resources.A.Properties!;
    expect(props.LogGroupName).toEqual({ 'Fn::Sub': ['/x/${N}', { N: { Ref: 'AWS::StackName' } }] });
    expect(props.Scalar).toEqual({ 'Fn::GetAtt': ['B', 'Arn'] });
    expect(props.Seq).toEqual({
      'Fn::If': [
        'C',
        { 'Fn::Join': ['', ['a', { 'Fn::Select': [0, { 'Fn::Split': [',', 'x,y'] }] }]] },
        { 'Fn::Base64': 'abc' },
      ],
    });
    expect(props.Map).toEqual({ 'Fn::FindInMap': { Mappings: 'x' } });
    expect(props.Import).toEqual({ 'Fn::ImportValue': 'other-stack-Output' });
    expect(props.Cond).toEqual({
      'Fn::And': [
        { Condition: 'C' },
        { 'Fn::Or': [{ 'Fn::Equals': [1, 1] }, { 'Fn::Not': [{ 'Fn::Equals': [1, 2] }] }] },
      ],
    });
  });

  it('has every required property, reference and condition (and nothing unused)', () => {
    expect(template.Transform).toBe('AWS::Serverless-2016-10-31');
    expect(checkTemplate(template)).toEqual([]);
  });

  it('the checker catches what it claims to (a checker that passes everything proves nothing)', () => {
    // Prepare
    const broken = structuredClone(template) as Template;
    delete (broken.Resources.AdminGraphQLRoute.Properties as JsonObject).RouteKey;
    delete (broken.Resources.OnnxRuntimeLayer.Properties as JsonObject).ContentUri;
    (broken.Resources.AdminGraphQLIntegration.Properties as JsonObject).IntegrationUri = {
      Ref: 'GraphQLFunktion.Alias',
    };
    (broken.Resources.ModelBucketPolicy.Properties as JsonObject).Bucket = { 'Fn::GetAtt': ['ModelBucket', 'Nope'] };
    broken.Resources.FunctionLogGroup.Condition = 'NoSuchCondition';
    (broken.Outputs!.GraphQLUrl as JsonObject).Value = { 'Fn::Sub': 'https://${HttpAPI}.execute-api/graphql' };
    broken.Parameters!.Unused = { Type: 'String' };
    // Against the AWS resource specification: a misspelt property, a missing required one, wrong types
    // (top level, nested in a property type, in a list, in a branch of Fn::If), an unknown type.
    const alarm = broken.Resources.PredictionLatencyAlarm.Properties as JsonObject;
    alarm.Treshold = alarm.Threshold;
    alarm.EvaluationPeriods = 'three';
    alarm.Dimensions = [{ Name: 'service' }];
    alarm.OKActions = { 'Fn::If': ['HasAlarmTopic', 'arn:not-a-list', { Ref: 'AWS::NoValue' }] };
    (broken.Resources.ModelBucket.Properties as JsonObject).VersioningConfiguration = { Status: ['Enabled'] };
    broken.Resources.EventBus.Properties = {};
    broken.Resources.Typo = { Type: 'AWS::CloudWatch::Alarms', Properties: {} };
    // Act
    const problems = checkTemplate(broken).join('\n');
    // Assess
    expect(problems).toContain('AdminGraphQLRoute: AWS::ApiGatewayV2::Route requires RouteKey');
    expect(problems).toContain('OnnxRuntimeLayer: AWS::Serverless::LayerVersion requires ContentUri');
    expect(problems).toContain('Ref to unknown "GraphQLFunktion.Alias"');
    expect(problems).toContain('AWS::S3::Bucket has no attribute "Nope"');
    expect(problems).toContain('unknown condition "NoSuchCondition"');
    expect(problems).toContain('Ref to unknown "HttpAPI"');
    expect(problems).toContain('Parameters.Unused is never used');
    expect(problems).toContain('PredictionLatencyAlarm: AWS::CloudWatch::Alarm has no property Treshold');
    expect(problems).toContain('PredictionLatencyAlarm.EvaluationPeriods: expected an integer, got "three"');
    expect(problems).toContain('PredictionLatencyAlarm.Dimensions[0]: Dimension requires Value');
    expect(problems).toContain('PredictionLatencyAlarm.OKActions(If then): expected a list, got "arn:not-a-list"');
    expect(problems).toContain('ModelBucket.VersioningConfiguration.Status: expected a string, got ["Enabled"]');
    expect(problems).toContain('EventBus: AWS::Events::EventBus requires Name');
    expect(problems).toContain(
      'Typo: AWS::CloudWatch::Alarms is not a resource type of the AWS resource specification',
    );
  });

  it('runs the bundle on nodejs22.x with the onnxruntime layer, built for the chosen architecture', () => {
    const layer = template.Resources.OnnxRuntimeLayer;
    expect(fnProps.Runtime).toBe('nodejs22.x');
    expect(fnProps.Handler).toBe('index.handler');
    expect(fnProps.CodeUri).toBe('dist/lambda/function');
    expect(fnProps.Layers).toEqual([{ Ref: 'OnnxRuntimeLayer' }]);
    expect(fnProps.AutoPublishAlias).toBe('live');
    expect(fnProps.Architectures).toEqual([{ Ref: 'Architecture' }]);
    expect(template.Parameters!.Architecture).toMatchObject({ Default: 'x86_64', AllowedValues: ['x86_64', 'arm64'] });
    expect(layer.Properties).toMatchObject({
      ContentUri: 'dist/lambda/layer',
      CompatibleRuntimes: ['nodejs22.x'],
      CompatibleArchitectures: [{ Ref: 'Architecture' }],
    });
    // Prebuilt artifacts: `sam build` runs their generated Makefiles (copy only), never npm install.
    expect(fn.Metadata?.BuildMethod).toBe('makefile');
    expect(layer.Metadata?.BuildMethod).toBe('makefile');
    for (const p of [
      'MemorySize',
      'Timeout',
      'ProvisionedConcurrency',
      'LogRetentionDays',
      'ExistingBucketName',
      'JwtIssuer',
      'JwtAudience',
    ]) {
      expect(template.Parameters, p).toHaveProperty(p);
    }
  });

  it('provisioned concurrency is off by default and on with a positive parameter', () => {
    const config = (params: Record<string, string>) =>
      resolveValue(template, fnProps.ProvisionedConcurrencyConfig, { ...defaults, ...params });
    expect(defaults.ProvisionedConcurrency).toBe('0');
    expect(config({})).toBeUndefined();
    expect(config({ ProvisionedConcurrency: '2' })).toEqual({ ProvisionedConcurrentExecutions: '2' });
  });

  it('sets exactly config variables (src/config.ts) and a configuration that loads', () => {
    // Prepare
    const variables = (fnProps.Environment as JsonObject).Variables as JsonObject;
    const configKeys = Object.keys(ConfigSchema.shape);
    // Assess: names
    for (const name of Object.keys(variables)) {
      expect(configKeys, `${name} is not a key of ConfigSchema`).toContain(name);
      expect(LAMBDA_RESERVED_ENV, `${name} is reserved by Lambda`).not.toContain(name);
    }
    // Assess: values, as deployed with the defaults and with an existing bucket
    for (const params of [
      defaults,
      { ...defaults, ExistingBucketName: 'my-models', WarmModels: 'etfs/SPY,stocks/universal' },
    ]) {
      const env = resolveValue(template, variables, params) as Record<string, string>;
      const bucket = params.ExistingBucketName || 'modelgraph-modelbucket-1a2b3c';
      const config = loadConfig({
        ...env,
        MODEL_BUCKET: env.MODEL_BUCKET === '<ModelBucket>' ? bucket : env.MODEL_BUCKET,
      });
      expect(config.NODE_ENV).toBe('production');
      expect(config.MODEL_BUCKET).toBe(bucket);
      expect(config.DISK_CACHE_DIR).toBe('/tmp/modelgraph-cache');
      expect(config.DISK_CACHE_MAX_MB).toBeLessThan(Number(params.EphemeralStorageSize));
      expect(config.MODEL_CACHE_MAX_MB).toBeLessThan(Number(params.MemorySize));
      expect(config.WRITE_SCOPE).toBe('models:write');
    }
    expect(resolveValue(template, variables.WARM_MODELS, { ...defaults, WarmModels: 'etfs/SPY' })).toBe('etfs/SPY');
  });

  it('creates a private, versioned, encrypted, retained bucket — or uses the named one', () => {
    // Prepare
    const bucket = template.Resources.ModelBucket;
    const props = bucket.Properties as Record<string, any>;
    // Assess
    expect(bucket.Condition).toBe('CreateModelBucket');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.UpdateReplacePolicy).toBe('Retain');
    expect(props.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(props.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe(
      'AES256',
    );
    // Replaced pointers and compacted shadow-count files stay recoverable for 90 days; then their delete markers go too.
    expect(props.LifecycleConfiguration.Rules).toContainEqual({
      Id: 'ExpireReplacedObjectVersions',
      Status: 'Enabled',
      NoncurrentVersionExpiration: { NoncurrentDays: 90 },
      ExpiredObjectDeleteMarker: true,
    });
    expect(Object.keys(activeResources(template, defaults))).toContain('ModelBucket');
    const existing = { ...defaults, ExistingBucketName: 'my-models' };
    expect(Object.keys(activeResources(template, existing))).not.toContain('ModelBucket');
    const env = resolveValue(template, (fnProps.Environment as JsonObject).Variables, existing) as Record<
      string,
      string
    >;
    expect(env.MODEL_BUCKET).toBe('my-models');
    expect(asList(policyStatements(existing).find((s) => s.Sid === 'ReadModelObjects')!.Resource)).toEqual([
      'arn:aws:s3:::my-models/*',
    ]);
  });

  describe('IAM: least privilege', () => {
    it('reads with GetObject and ListBucket only; writes with PutObject only; deletes only compacted shadow counts', () => {
      const actions = new Set(policyStatements().flatMap((s) => asList(s.Action)));
      expect([...actions].sort()).toEqual([
        'events:PutEvents', // on the stack's bus only (checked with the events below)
        's3:DeleteObject',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'states:StartExecution', // the evaluation state machine only (test/evaluation/stateMachine.test.ts)
      ]);
      const deletes = policyStatements().filter((s) => asList(s.Action).includes('s3:DeleteObject'));
      expect(
        deletes.map((s) => ({ effect: s.Effect, actions: asList(s.Action), resources: asList(s.Resource) })),
      ).toEqual([
        { effect: 'Allow', actions: ['s3:DeleteObject'], resources: ['arn:aws:s3:::<ModelBucket>/metadata/shadow/*'] },
      ]);
      const deleteAllowed = (key: string) =>
        asList(deletes[0].Resource).some((r) => iamPatternMatches(r, `arn:aws:s3:::<ModelBucket>/${key}`));
      expect(
        deleteAllowed(shadowStatsKey('etfs/SPY', 'v1.1.0', 'v1.2.0', '2026-11-27T18-00-00-000Z-0f8fad5b.json')),
      ).toBe(true);
      for (const key of [
        stagePointerKey('etfs/SPY', 'PRODUCTION'),
        archiveKey('etfs/SPY', 'v1.1.0', 'model.onnx'),
        MODEL_REGISTRY_KEY,
        'metadata/shadow',
      ]) {
        expect(deleteAllowed(key), key).toBe(false);
      }
      const otherServices = ['events:PutEvents', 'states:StartExecution'];
      for (const s of policyStatements().filter((s) => !asList(s.Action).some((a) => otherServices.includes(a)))) {
        expect(s.Effect).toBe('Allow');
        for (const r of asList(s.Resource)) expect(r.startsWith('arn:aws:s3:::<ModelBucket>'), r).toBe(true);
      }
      expect(asList(policyStatements().find((s) => s.Sid === 'ListModelBucket')!.Resource)).toEqual([
        'arn:aws:s3:::<ModelBucket>',
      ]);
    });

    it('the bucket refuses writes of the function role that carry neither If-Match nor If-None-Match', () => {
      const policy = template.Resources.ModelBucketPolicy.Properties!.PolicyDocument as Record<string, any>;
      const deny = policy.Statement.find((s: JsonObject) => s.Sid === 'DenyUnconditionalWritesByTheApi');
      expect(deny).toMatchObject({
        Effect: 'Deny',
        Principal: { AWS: { 'Fn::GetAtt': ['GraphQLFunctionRole', 'Arn'] } },
        Action: 's3:PutObject',
        // Both headers absent → denied (keys in one operator block are ANDed).
        Condition: { Null: { 's3:if-match': 'true', 's3:if-none-match': 'true' } },
      });
      expect(policy.Statement.find((s: JsonObject) => s.Sid === 'DenyInsecureTransport')).toMatchObject({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
    });

    it('the bucket lets nobody but the API write or delete what governance guards', () => {
      const policy = template.Resources.ModelBucketPolicy.Properties!.PolicyDocument as Record<string, any>;
      const deny = policy.Statement.find((s: JsonObject) => s.Sid === 'OnlyTheApiWritesGovernedKeys');
      expect(deny).toMatchObject({
        Effect: 'Deny',
        Principal: '*',
        Action: ['s3:PutObject', 's3:DeleteObject'],
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': ['GraphQLFunctionRole', 'Arn'] } } },
      });
      const resources = asList(resolveValue(template, deny.Resource, defaults) as Json);
      const denied = (key: string) => resources.some((r) => iamPatternMatches(r, `<ModelBucket.Arn>/${key}`));
      // Built by the same code that writes them.
      for (const m of [
        'etfs/SPY',
        'stocks/universal',
        'universal/all_assets_classifier',
        'ensembles/multi_asset_ensemble',
      ]) {
        for (const key of [
          stagePointerKey(m, 'PRODUCTION'),
          stagePointerKey(m, 'STAGING'),
          stageHistoryArchiveKey(m, 'PRODUCTION', 1, 100),
          approvalKey(m, 'v1.2.0'),
          versionTagsKey(m, 'v1.2.0'),
          aliasKey(m, 'champion'),
          promotionPolicyKey(m),
          archiveKey(m, 'v1.2.0', 'metadata.json'),
        ]) {
          expect(denied(key), key).toBe(true);
        }
      }
      // What an engineer's credentials may still do: upload a version's artifacts and shared files.
      for (const key of [
        archiveKey('etfs/SPY', 'v1.2.0', 'model.onnx'),
        archiveKey('etfs/SPY', 'v1.2.0', 'feature_names.json'),
        'shared/datasets/spy.parquet',
      ]) {
        expect(denied(key), key).toBe(false);
      }
    });

    it('allows writing exactly the keys the mutations, the registry feed and shadow mode write', () => {
      // The keys, built by the same code that writes them (src/registry/bucketLayout.ts).
      const models = [
        'etfs/SPY',
        'stocks/universal',
        'universal/all_assets_classifier',
        'ensembles/multi_asset_ensemble',
        'experimental/momentum_v2',
      ];
      const written = [
        ...models.flatMap((m) => [stagePointerKey(m, 'PRODUCTION'), stagePointerKey(m, 'STAGING')]),
        ...models.map((m) => archiveKey(m, 'v1.2.0', 'metadata.json')),
        ...models.map((m) => stageHistoryArchiveKey(m, 'PRODUCTION', 1, 100)),
        ...models.map((m) => shadowStatsKey(m, 'v1.1.0', 'v1.2.0', '2026-11-27T18-00-00-000Z-0f8fad5b.json')),
        ...models.flatMap((m) => [
          approvalKey(m, 'v1.2.0'),
          versionTagsKey(m, 'v1.2.0'),
          aliasKey(m, 'champion'),
          promotionPolicyKey(m),
        ]),
        ASSET_REGISTRY_KEY,
        MODEL_REGISTRY_KEY,
        DEPLOYMENT_HISTORY_KEY,
        PERFORMANCE_TRACKING_KEY,
        EVENTS_WATERMARK_KEY, // the events delivered after each move
        // registerEnsemble publishes an ensemble version: its (JSON) files, then metadata.json.
        ...[ENSEMBLE_WEIGHTS_FILE, VOTING_STRATEGY_FILE, 'feature_names.json'].map((f) =>
          archiveKey('ensembles/multi_asset_ensemble', 'v2', f),
        ),
      ];
      for (const key of written) expect(putAllowed(key), key).not.toEqual([]);

      // Model artifacts are uploaded by the CLI with the engineer's credentials, never by the API.
      const notWritten = [
        archiveKey('etfs/SPY', 'v1.2.0', 'model.onnx'),
        archiveKey('etfs/SPY', 'v1.2.0', 'feature_names.json'),
        archiveKey('universal/all_assets_classifier', 'v1.2.0', 'model.onnx.gz'),
        'metadata/other.json',
        'shared/notes.txt',
      ];
      for (const key of notWritten) expect(putAllowed(key), key).toEqual([]);
    });
  });

  describe('HTTP API and JWT authorizer', () => {
    it('serves POST and GET /graphql openly (reads need no token)', () => {
      const events = fnProps.Events as Record<string, any>;
      const routes = Object.values(events).map((e) => `${e.Properties.Method} ${e.Properties.Path}`);
      expect(routes.sort()).toEqual(['GET /console', 'GET /console/{proxy+}', 'GET /graphql', 'POST /graphql']);
      for (const e of Object.values(events)) {
        expect(e.Type).toBe('HttpApi');
        expect(e.Properties.ApiId).toEqual({ Ref: 'HttpApi' });
        expect(e.Properties.Auth).toBeUndefined();
      }
    });

    it('adds the JWT-protected write route only when issuer and audience are set', () => {
      const withJwt = { ...defaults, JwtIssuer: 'https://issuer.example.com/', JwtAudience: 'client-a,client-b' };
      const jwtResources = [
        'JwtAuthorizer',
        'AdminGraphQLIntegration',
        'AdminGraphQLRoute',
        'AdminGraphQLInvokePermission',
      ];
      for (const id of jwtResources) {
        expect(template.Resources[id].Condition).toBe('HasJwtAuthorizer');
        expect(Object.keys(activeResources(template, defaults))).not.toContain(id);
        expect(Object.keys(activeResources(template, withJwt))).toContain(id);
      }
      expect(
        Object.keys(activeResources(template, { ...defaults, JwtIssuer: 'https://issuer.example.com/' })),
      ).not.toContain('JwtAuthorizer');

      const authorizer = resolveValue(template, template.Resources.JwtAuthorizer.Properties, withJwt) as Record<
        string,
        any
      >;
      expect(authorizer).toMatchObject({ AuthorizerType: 'JWT', IdentitySource: ['$request.header.Authorization'] });
      expect(authorizer.JwtConfiguration).toEqual({
        Issuer: 'https://issuer.example.com/',
        Audience: ['client-a', 'client-b'],
      });
      const route = template.Resources.AdminGraphQLRoute.Properties as Record<string, any>;
      expect(route).toMatchObject({
        RouteKey: 'POST /admin/graphql',
        AuthorizationType: 'JWT',
        AuthorizerId: { Ref: 'JwtAuthorizer' },
      });
      // The write route invokes the same published alias as the open routes.
      expect((template.Resources.AdminGraphQLIntegration.Properties as JsonObject).IntegrationUri).toEqual({
        Ref: 'GraphQLFunction.Alias',
      });
    });

    it('serves the console from the function: GET /console and every page and file under it', () => {
      // src/lambda.ts answers these paths from the console bundle that scripts/build-lambda.mjs copies
      // beside index.mjs (its Makefile copies the whole folder); {proxy+} lets a reload of a page work.
      const events = fnProps.Events as Record<string, any>;
      expect(events.ConsoleRoot.Properties).toMatchObject({ Path: '/console', Method: 'GET' });
      expect(events.ConsolePages.Properties).toMatchObject({ Path: '/console/{proxy+}', Method: 'GET' });
      const build = readFileSync(join(ROOT, 'scripts/build-lambda.mjs'), 'utf8');
      expect(build).toContain("join(functionDir, 'console')");
      expect(readFileSync(join(ROOT, 'src/lambda.ts'), 'utf8')).toContain('consoleLambdaResult(');
      const url = resolveValue(template, template.Outputs!.ConsoleUrl.Value, defaults);
      expect(url).toBe('https://<HttpApi>.execute-api.us-east-1.amazonaws.com/console');
    });

    it('outputs the GraphQL URL', () => {
      const url = resolveValue(template, template.Outputs!.GraphQLUrl.Value, defaults);
      expect(url).toBe('https://<HttpApi>.execute-api.us-east-1.amazonaws.com/graphql');
      expect(template.Outputs!.AdminGraphQLUrl.Condition).toBe('HasJwtAuthorizer');
    });
  });

  it('logs to its own log group with a retention parameter', () => {
    const group = template.Resources.FunctionLogGroup;
    expect(group.Type).toBe('AWS::Logs::LogGroup');
    expect(group.Properties!.RetentionInDays).toEqual({ Ref: 'LogRetentionDays' });
    expect(fnProps.LoggingConfig).toMatchObject({ LogGroup: { Ref: 'FunctionLogGroup' } });
  });

  describe('events', () => {
    const catchUp = template.Resources.EventsCatchUpFunction;
    const catchUpProps = catchUp.Properties as JsonObject;
    const statementsOf = (props: JsonObject, params = defaults) =>
      (resolveValue(template, props.Policies, params) as JsonObject[]).flatMap((p) => p.Statement as JsonObject[]);
    const envOf = (props: JsonObject, params = defaults) =>
      resolveValue(template, (props.Environment as JsonObject).Variables, params) as Record<string, string>;

    it('creates an EventBridge bus; both functions put events on it (and only there) and name it in EVENTS_BUS_NAME', () => {
      const bus = template.Resources.EventBus;
      expect(bus.Type).toBe('AWS::Events::EventBus');
      expect(resolveValue(template, bus.Properties!.Name, defaults)).toBe('modelgraph-events');
      for (const props of [fnProps, catchUpProps]) {
        const puts = statementsOf(props).filter((s) => asList(s.Action).some((a) => a.startsWith('events:')));
        // Least privilege: one statement, one action, the stack's bus as the only resource.
        expect(puts).toEqual([
          { Sid: 'PutEventsOnTheStackBus', Effect: 'Allow', Action: 'events:PutEvents', Resource: '<EventBus.Arn>' },
        ]);
        expect(asList(statementsOf(props).flatMap((s) => asList(s.Resource)))).not.toContain('*');
        expect(envOf(props).EVENTS_BUS_NAME).toBe('<EventBus>');
      }
      expect(resolveValue(template, template.Outputs!.EventBusName.Value, defaults)).toBe('<EventBus>');
    });

    it('runs the catch-up from the same bundle every minute, without the onnxruntime layer', () => {
      expect(catchUp.Type).toBe('AWS::Serverless::Function');
      expect(catchUpProps).toMatchObject({
        CodeUri: fnProps.CodeUri, // the same prebuilt folder (catchup.mjs beside index.mjs)
        Handler: 'catchup.handler',
        Runtime: fnProps.Runtime,
        Architectures: fnProps.Architectures,
      });
      expect(catchUpProps.Layers).toBeUndefined();
      expect(catchUp.Metadata?.BuildMethod).toBe('makefile');
      const events = Object.values(catchUpProps.Events as Record<string, any>);
      expect(events).toEqual([
        {
          Type: 'Schedule', // an EventBridge rule
          Properties: expect.objectContaining({ Schedule: 'rate(1 minute)', Enabled: true }),
        },
      ]);
      expect(Number(catchUpProps.Timeout)).toBeLessThanOrEqual(60); // a run ends before the next starts
      expect(catchUpProps.LoggingConfig).toMatchObject({ LogGroup: { Ref: 'EventsCatchUpLogGroup' } });
    });

    it('the catch-up reads the bucket and writes only the derived documents and the watermark', () => {
      const statements = statementsOf(catchUpProps);
      const actions = [...new Set(statements.flatMap((s) => asList(s.Action)))].sort();
      expect(actions).toEqual(['events:PutEvents', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
      const canPut = (key: string) =>
        statements.some(
          (s) =>
            asList(s.Action).includes('s3:PutObject') &&
            asList(s.Resource).some((r) => iamPatternMatches(r, `arn:aws:s3:::<ModelBucket>/${key}`)),
        );
      for (const key of [MODEL_REGISTRY_KEY, DEPLOYMENT_HISTORY_KEY, EVENTS_WATERMARK_KEY])
        expect(canPut(key), key).toBe(true);
      for (const key of [
        stagePointerKey('etfs/SPY', 'PRODUCTION'),
        approvalKey('etfs/SPY', 'v1.2.0'),
        aliasKey('etfs/SPY', 'champion'),
        promotionPolicyKey('etfs/SPY'),
        ASSET_REGISTRY_KEY,
        archiveKey('etfs/SPY', 'v1.2.0', 'metadata.json'),
        'metadata/other.json',
      ]) {
        expect(canPut(key), key).toBe(false);
      }
      const policy = template.Resources.ModelBucketPolicy.Properties!.PolicyDocument as Record<string, any>;
      expect(
        policy.Statement.find((s: JsonObject) => s.Sid === 'DenyUnconditionalWritesByTheEventsCatchUp'),
      ).toMatchObject({
        Effect: 'Deny',
        Principal: { AWS: { 'Fn::GetAtt': ['EventsCatchUpFunctionRole', 'Arn'] } },
        Action: 's3:PutObject',
        Condition: { Null: { 's3:if-match': 'true', 's3:if-none-match': 'true' } },
      });
    });

    it('sets config variables only, and a webhook only when EventsWebhookUrl is given', () => {
      const configKeys = Object.keys(ConfigSchema.shape);
      const withHook = {
        ...defaults,
        EventsWebhookUrl: 'https://hooks.example.com/modelgraph',
        EventsWebhookSecret: 'a-secret-of-sixteen-chars',
      };
      for (const props of [fnProps, catchUpProps]) {
        for (const name of Object.keys((props.Environment as JsonObject).Variables as JsonObject)) {
          expect(configKeys, `${name} is not a key of ConfigSchema`).toContain(name);
          expect(LAMBDA_RESERVED_ENV).not.toContain(name);
        }
        const plain = envOf(props);
        expect(plain.EVENTS_WEBHOOK_URL).toBeUndefined();
        expect(plain.EVENTS_WEBHOOK_SECRET).toBeUndefined();
        const hooked = envOf(props, withHook);
        expect(hooked.EVENTS_WEBHOOK_URL).toBe('https://hooks.example.com/modelgraph');
        const config = loadConfig({ ...hooked, MODEL_BUCKET: 'modelgraph-modelbucket-1a2b3c' });
        expect(config).toMatchObject({
          EVENTS_BUS_NAME: '<EventBus>',
          EVENTS_WEBHOOK_SECRET: 'a-secret-of-sixteen-chars',
        });
      }
      expect((template.Parameters!.EventsWebhookSecret as JsonObject).NoEcho).toBe(true);
    });
  });

  describe('alarms and dashboard', () => {
    const alarms = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
    const topic = 'arn:aws:sns:us-east-1:123456789012:modelgraph-pager';
    /** What the code's own Metrics instance publishes: its namespace and default dimensions. */
    const emitted = (() => {
      metrics.addMetric(MetricName.RowsPredicted, MetricUnit.Count, 1);
      const doc = metrics.serializeMetrics() as unknown as { _aws: { CloudWatchMetrics: any[] } } & JsonObject;
      metrics.clearMetrics();
      const directive = doc._aws.CloudWatchMetrics[0];
      const dimensions = Object.fromEntries(
        (directive.Dimensions[0] as string[]).map((name) => [name, String(doc[name])]),
      );
      return { namespace: directive.Namespace as string, dimensions };
    })();
    /** Source of the files that publish metrics: a name counts as emitted when some file adds it. */
    const publishers = ['src/observability/apolloMetricsPlugin.ts', 'src/lambda.ts']
      .map((f) => readFileSync(join(ROOT, f), 'utf8'))
      .join('\n');
    /** Every metric an alarm reads: [namespace, name, {dimension: value}], values resolved with `params`. */
    const alarmMetrics = (props: JsonObject, params = defaults) => {
      const resolved = resolveValue(template, props as Json, params) as JsonObject;
      const single = resolved.MetricName
        ? [{ Namespace: resolved.Namespace, MetricName: resolved.MetricName, Dimensions: resolved.Dimensions }]
        : [];
      const math = ((resolved.Metrics as JsonObject[] | undefined) ?? [])
        .filter((m) => m.MetricStat)
        .map((m) => (m.MetricStat as JsonObject).Metric as JsonObject);
      return [...single, ...math].map((m) => ({
        namespace: m.Namespace as string,
        name: m.MetricName as string,
        dimensions: Object.fromEntries(
          ((m.Dimensions as JsonObject[] | undefined) ?? []).map((d) => [d.Name as string, d.Value as string]),
        ),
      }));
    };

    it('alarm on function errors and throttles, the API 5xx rate, predict p99, STORAGE_UNAVAILABLE and shadow disagreement', () => {
      const read = alarms.map(([, r]) => alarmMetrics(r.Properties!).map((m) => `${m.namespace}/${m.name}`));
      expect(read).toEqual(
        expect.arrayContaining([
          ['AWS/Lambda/Errors'],
          ['AWS/Lambda/Throttles'],
          ['AWS/ApiGateway/5xx', 'AWS/ApiGateway/Count'],
          [`${METRICS_NAMESPACE}/${MetricName.PredictionLatency}`],
          [`${METRICS_NAMESPACE}/${MetricName.StorageUnavailable}`],
          [`${METRICS_NAMESPACE}/${MetricName.ShadowRows}`, `${METRICS_NAMESPACE}/${MetricName.ShadowAgreements}`],
        ]),
      );
      const latency = template.Resources.PredictionLatencyAlarm.Properties!;
      expect(latency.ExtendedStatistic).toBe('p99');
    });

    it('every Modelgraph metric an alarm reads is one the code publishes, with its namespace and dimensions', () => {
      expect(emitted).toEqual({ namespace: METRICS_NAMESPACE, dimensions: { service: METRICS_SERVICE } });
      for (const [id, r] of alarms) {
        for (const m of alarmMetrics(r.Properties!).filter((x) => !x.namespace.startsWith('AWS/'))) {
          expect(Object.values(MetricName), `${id} reads ${m.name}`).toContain(m.name);
          expect(publishers, `${id}: nothing publishes ${m.name}`).toContain(`MetricName.${m.name},`);
          expect({ namespace: m.namespace, dimensions: m.dimensions }, id).toEqual(emitted);
        }
        for (const m of alarmMetrics(r.Properties!).filter((x) => x.namespace === 'AWS/Lambda'))
          expect(m.dimensions, id).toEqual({ FunctionName: '<GraphQLFunction>' });
        for (const m of alarmMetrics(r.Properties!).filter((x) => x.namespace === 'AWS/ApiGateway'))
          expect(m.dimensions, id).toEqual({ ApiId: '<HttpApi>' });
      }
    });

    it('every threshold is a parameter; actions go to AlarmTopicArn only when it is set', () => {
      for (const [id, r] of alarms) {
        const threshold = r.Properties!.Threshold as JsonObject;
        expect(Object.keys(template.Parameters!), id).toContain(threshold.Ref);
        const quiet = resolveValue(template, r.Properties as Json, defaults) as JsonObject;
        expect(quiet.AlarmActions, id).toBeUndefined();
        expect(quiet.OKActions, id).toBeUndefined();
        const paged = resolveValue(template, r.Properties as Json, { ...defaults, AlarmTopicArn: topic }) as JsonObject;
        expect(paged.AlarmActions, id).toEqual([topic]);
        expect(paged.OKActions, id).toEqual([topic]);
        expect(paged.TreatMissingData, id).toBe('notBreaching');
      }
      expect(defaults.AlarmTopicArn).toBe('');
      // The shadow alarm judges a window only with enough rows (a parameter too).
      const shadow = resolveValue(template, template.Resources.ShadowDisagreementAlarm.Properties as Json, {
        ...defaults,
        ShadowAlarmMinRows: '250',
      }) as JsonObject;
      expect((shadow.Metrics as JsonObject[]).find((m) => m.ReturnData === true)?.Expression).toBe(
        'IF(rows >= 250, 100 * (rows - agreements) / rows, 0)',
      );
    });

    it('the dashboard shows predictions, latency percentiles, model loads and load time, evictions, shadow agreement and canary rows, as published', () => {
      const body = JSON.parse(
        resolveValue(template, template.Resources.Dashboard.Properties!.DashboardBody, defaults) as string,
      ) as { widgets: Array<{ type: string; properties: { metrics?: Json[][]; alarms?: string[] } }> };
      const shown = body.widgets.flatMap((w) => w.properties.metrics ?? []).filter((m) => typeof m[0] === 'string');
      const ours = shown.filter((m) => m[0] === METRICS_NAMESPACE);
      for (const m of ours) {
        expect(Object.values(MetricName)).toContain(m[1]);
        expect(publishers, `nothing publishes ${String(m[1])}`).toContain(`MetricName.${String(m[1])},`);
        expect(Object.fromEntries([[m[2], m[3]]])).toEqual(emitted.dimensions);
      }
      const stat = (name: string) => ours.filter((m) => m[1] === name).map((m) => (m[4] as JsonObject).stat);
      expect(stat(MetricName.RowsPredicted)).toEqual(['Sum']);
      expect(stat(MetricName.PredictionLatency)).toEqual(['p50', 'p90', 'p99']);
      expect(stat(MetricName.ModelLoadTime)).toEqual(expect.arrayContaining(['SampleCount', 'p50']));
      expect(stat(MetricName.ModelCacheEvictions)).toEqual(['Sum']);
      expect(stat(MetricName.ShadowRows)).toEqual(['Sum']);
      expect(stat(MetricName.ShadowAgreements)).toEqual(['Sum']);
      expect(stat(MetricName.CanaryRows)).toEqual(['Sum']);
      const alarmArns = body.widgets.flatMap((w) => w.properties.alarms ?? []);
      expect(alarmArns.sort()).toEqual(alarms.map(([id]) => `<${id}.Arn>`).sort());
    });
  });
});
