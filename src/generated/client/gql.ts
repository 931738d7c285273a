/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query AssetModel($ticker: String!) {\n  asset(ticker: $ticker) {\n    ticker\n    name\n    kind\n    model {\n      id\n      type\n      production {\n        version\n        featureNames\n        labels\n      }\n    }\n  }\n}\n\nquery ModelVersions($id: ID!) {\n  model(id: $id) {\n    id\n    type\n    production {\n      version\n      accuracy\n      createdAt\n    }\n    staging {\n      version\n    }\n    versions {\n      version\n      stages\n      accuracy\n      sizeBytes\n    }\n    history(first: 10) {\n      action\n      fromVersion\n      toVersion\n      by\n      at\n      reason\n    }\n  }\n}\n\nmutation Promote($model: ID!, $version: String!, $stage: Stage, $reason: String) {\n  promote(model: $model, version: $version, stage: $stage, reason: $reason) {\n    id\n    action\n    fromVersion\n    toVersion\n    stage\n    at\n  }\n}\n\nmutation Rollback($model: ID!, $to: String, $reason: String) {\n  rollback(model: $model, to: $to, reason: $reason) {\n    id\n    action\n    fromVersion\n    toVersion\n  }\n}\n\nmutation RegisterAsset($ticker: String!, $kind: AssetKind!, $name: String, $sector: String, $usesModel: ID) {\n  registerAsset(\n    ticker: $ticker\n    kind: $kind\n    name: $name\n    sector: $sector\n    usesModel: $usesModel\n  ) {\n    ticker\n    kind\n    status\n    model {\n      id\n      production {\n        version\n      }\n    }\n  }\n}": typeof types.AssetModelDocument,
    "query Predict($ticker: String!, $features: JSONObject!) {\n  predict(ticker: $ticker, features: $features) {\n    ticker\n    strategy\n    confidence\n    probabilities {\n      label\n      probability\n    }\n    modelType\n    version\n  }\n}\n\nquery PredictPortfolio($requests: [PredictionRequest!]!) {\n  predictMany(requests: $requests) {\n    ticker\n    strategy\n    confidence\n    version\n    model {\n      id\n    }\n  }\n}": typeof types.PredictDocument,
};
const documents: Documents = {
    "query AssetModel($ticker: String!) {\n  asset(ticker: $ticker) {\n    ticker\n    name\n    kind\n    model {\n      id\n      type\n      production {\n        version\n        featureNames\n        labels\n      }\n    }\n  }\n}\n\nquery ModelVersions($id: ID!) {\n  model(id: $id) {\n    id\n    type\n    production {\n      version\n      accuracy\n      createdAt\n    }\n    staging {\n      version\n    }\n    versions {\n      version\n      stages\n      accuracy\n      sizeBytes\n    }\n    history(first: 10) {\n      action\n      fromVersion\n      toVersion\n      by\n      at\n      reason\n    }\n  }\n}\n\nmutation Promote($model: ID!, $version: String!, $stage: Stage, $reason: String) {\n  promote(model: $model, version: $version, stage: $stage, reason: $reason) {\n    id\n    action\n    fromVersion\n    toVersion\n    stage\n    at\n  }\n}\n\nmutation Rollback($model: ID!, $to: String, $reason: String) {\n  rollback(model: $model, to: $to, reason: $reason) {\n    id\n    action\n    fromVersion\n    toVersion\n  }\n}\n\nmutation RegisterAsset($ticker: String!, $kind: AssetKind!, $name: String, $sector: String, $usesModel: ID) {\n  registerAsset(\n    ticker: $ticker\n    kind: $kind\n    name: $name\n    sector: $sector\n    usesModel: $usesModel\n  ) {\n    ticker\n    kind\n    status\n    model {\n      id\n      production {\n        version\n      }\n    }\n  }\n}": types.AssetModelDocument,
    "query Predict($ticker: String!, $features: JSONObject!) {\n  predict(ticker: $ticker, features: $features) {\n    ticker\n    strategy\n    confidence\n    probabilities {\n      label\n      probability\n    }\n    modelType\n    version\n  }\n}\n\nquery PredictPortfolio($requests: [PredictionRequest!]!) {\n  predictMany(requests: $requests) {\n    ticker\n    strategy\n    confidence\n    version\n    model {\n      id\n    }\n  }\n}": types.PredictDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query AssetModel($ticker: String!) {\n  asset(ticker: $ticker) {\n    ticker\n    name\n    kind\n    model {\n      id\n      type\n      production {\n        version\n        featureNames\n        labels\n      }\n    }\n  }\n}\n\nquery ModelVersions($id: ID!) {\n  model(id: $id) {\n    id\n    type\n    production {\n      version\n      accuracy\n      createdAt\n    }\n    staging {\n      version\n    }\n    versions {\n      version\n      stages\n      accuracy\n      sizeBytes\n    }\n    history(first: 10) {\n      action\n      fromVersion\n      toVersion\n      by\n      at\n      reason\n    }\n  }\n}\n\nmutation Promote($model: ID!, $version: String!, $stage: Stage, $reason: String) {\n  promote(model: $model, version: $version, stage: $stage, reason: $reason) {\n    id\n    action\n    fromVersion\n    toVersion\n    stage\n    at\n  }\n}\n\nmutation Rollback($model: ID!, $to: String, $reason: String) {\n  rollback(model: $model, to: $to, reason: $reason) {\n    id\n    action\n    fromVersion\n    toVersion\n  }\n}\n\nmutation RegisterAsset($ticker: String!, $kind: AssetKind!, $name: String, $sector: String, $usesModel: ID) {\n  registerAsset(\n    ticker: $ticker\n    kind: $kind\n    name: $name\n    sector: $sector\n    usesModel: $usesModel\n  ) {\n    ticker\n    kind\n    status\n    model {\n      id\n      production {\n        version\n      }\n    }\n  }\n}"): (typeof documents)["query AssetModel($ticker: String!) {\n  asset(ticker: $ticker) {\n    ticker\n    name\n    kind\n    model {\n      id\n      type\n      production {\n        version\n        featureNames\n        labels\n      }\n    }\n  }\n}\n\nquery ModelVersions($id: ID!) {\n  model(id: $id) {\n    id\n    type\n    production {\n      version\n      accuracy\n      createdAt\n    }\n    staging {\n      version\n    }\n    versions {\n      version\n      stages\n      accuracy\n      sizeBytes\n    }\n    history(first: 10) {\n      action\n      fromVersion\n      toVersion\n      by\n      at\n      reason\n    }\n  }\n}\n\nmutation Promote($model: ID!, $version: String!, $stage: Stage, $reason: String) {\n  promote(model: $model, version: $version, stage: $stage, reason: $reason) {\n    id\n    action\n    fromVersion\n    toVersion\n    stage\n    at\n  }\n}\n\nmutation Rollback($model: ID!, $to: String, $reason: String) {\n  rollback(model: $model, to: $to, reason: $reason) {\n    id\n    action\n    fromVersion\n    toVersion\n  }\n}\n\nmutation RegisterAsset($ticker: String!, $kind: AssetKind!, $name: String, $sector: String, $usesModel: ID) {\n  registerAsset(\n    ticker: $ticker\n    kind: $kind\n    name: $name\n    sector: $sector\n    usesModel: $usesModel\n  ) {\n    ticker\n    kind\n    status\n    model {\n      id\n      production {\n        version\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Predict($ticker: String!, $features: JSONObject!) {\n  predict(ticker: $ticker, features: $features) {\n    ticker\n    strategy\n    confidence\n    probabilities {\n      label\n      probability\n    }\n    modelType\n    version\n  }\n}\n\nquery PredictPortfolio($requests: [PredictionRequest!]!) {\n  predictMany(requests: $requests) {\n    ticker\n    strategy\n    confidence\n    version\n    model {\n      id\n    }\n  }\n}"): (typeof documents)["query Predict($ticker: String!, $features: JSONObject!) {\n  predict(ticker: $ticker, features: $features) {\n    ticker\n    strategy\n    confidence\n    probabilities {\n      label\n      probability\n    }\n    modelType\n    version\n  }\n}\n\nquery PredictPortfolio($requests: [PredictionRequest!]!) {\n  predictMany(requests: $requests) {\n    ticker\n    strategy\n    confidence\n    version\n    model {\n      id\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;