/**
 * Builds real ONNX classifier models (a single ai.onnx.ml TreeEnsembleClassifier
 * node) from JavaScript, without Python. Used by the demo seed, the tests and
 * the benchmarks.
 *
 * Model shape (docs/design-notes.md, "ONNX models without Python"): ir_version 8, opsets "":15 and "ai.onnx.ml":3,
 * input `X` float [N, features], outputs `label` (string or int64 [N]) and
 * `probabilities` float [N, classes]. With `zipMap: true` a ZipMap node is
 * appended and `probabilities` becomes seq(map(label, float)) — the shape
 * onnxruntime-node cannot return and our loader must reject.
 *
 * Everything is derived from `seed` with a small PRNG: the same spec gives
 * byte-identical models.
 */
import onnxProto from 'onnx-proto';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from './strategies';

const { onnx } = onnxProto;

export interface TreeEnsembleSpec {
  /** Input column names; the input width is featureNames.length. */
  featureNames: readonly string[];
  /** Class labels (strings), in class-index order. */
  labels: readonly string[];
  /** Number of trees. */
  trees: number;
  /** Every tree is a full binary tree of this depth (2^depth leaves). */
  depth: number;
  /** PRNG seed: the same spec gives a byte-identical model. */
  seed: number;
  /** Default SOFTMAX. With NONE, `probabilities` holds the raw summed scores. */
  postTransform?: 'NONE' | 'SOFTMAX';
  /** Use classlabels_int64s (0..n-1) and an int64 `label` output instead of strings. */
  intLabels?: boolean;
  /** Append a ZipMap node: `probabilities` becomes seq(map). For negative tests only. */
  zipMap?: boolean;
}

/** Producer name written into every generated model. */
export const DEMO_PRODUCER_NAME = 'modelgraph-demo';

const ML_DOMAIN = 'ai.onnx.ml';
const MAX_DEPTH = 20;

/** Default size of demoModel(): 84 features x 10 classes, 24 trees of depth 6 ≈ 163 KB. */
export const DEMO_DEFAULT_TREES = 24;
export const DEMO_DEFAULT_DEPTH = 6;

// ---------------------------------------------------------------------------
// Deterministic randomness

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG. Returns floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box–Muller) from a uniform source. */
function gaussian(rand: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

// ---------------------------------------------------------------------------
// Validation

function validate(spec: TreeEnsembleSpec): void {
  const { featureNames, labels, trees, depth, seed } = spec;
  if (!Array.isArray(featureNames) || featureNames.length < 1) {
    throw new RangeError('featureNames must hold at least one name');
  }
  if (!Array.isArray(labels) || labels.length < 2) {
    throw new RangeError('labels must hold at least two classes');
  }
  if (new Set(labels).size !== labels.length) {
    throw new RangeError('labels must be distinct');
  }
  if (!Number.isInteger(trees) || trees < 1) {
    throw new RangeError(`trees must be a positive integer, got ${trees}`);
  }
  if (!Number.isInteger(depth) || depth < 1 || depth > MAX_DEPTH) {
    throw new RangeError(`depth must be an integer in [1, ${MAX_DEPTH}], got ${depth}`);
  }
  if (!Number.isInteger(seed)) {
    throw new RangeError(`seed must be an integer, got ${seed}`);
  }
  const pt = spec.postTransform ?? 'SOFTMAX';
  if (pt !== 'NONE' && pt !== 'SOFTMAX') {
    throw new RangeError(`postTransform must be NONE or SOFTMAX, got ${String(pt)}`);
  }
}

// ---------------------------------------------------------------------------
// ONNX helpers

const utf8 = new TextEncoder();
const AttrType = onnx.AttributeProto.AttributeType;
const Elem = onnx.TensorProto.DataType;

function intsAttr(name: string, values: number[]): onnxProto.onnx.IAttributeProto {
  return { name, type: AttrType.INTS, ints: values };
}
function stringsAttr(name: string, values: Uint8Array[]): onnxProto.onnx.IAttributeProto {
  return { name, type: AttrType.STRINGS, strings: values };
}
function stringAttr(name: string, value: string): onnxProto.onnx.IAttributeProto {
  return { name, type: AttrType.STRING, s: utf8.encode(value) };
}

function dims(...ds: Array<number | string>): onnxProto.onnx.ITensorShapeProto {
  return {
    dim: ds.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
  };
}

function tensorValue(
  name: string,
  elemType: number,
  shape: onnxProto.onnx.ITensorShapeProto,
): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape } } };
}

// ---------------------------------------------------------------------------
// Fast encoding of the large attributes
//
// protobufjs' generic writer queues one operation object per value, which for
// a 30 MB model means tens of millions of objects (≈ 7 s and 1.6 GB RSS). The
// big repeated attributes are therefore written here straight into byte
// arrays and spliced into the messages onnx-proto encodes: a protobuf message
// is the concatenation of its fields, in any order, and repeated fields
// accumulate in the order they are read — so appending an encoded field to an
// encoded message is the same as having set it.

/** Wire tags (field number << 3 | wire type). */
const TAG_ATTR_NAME = (1 << 3) | 2; // AttributeProto.name
const TAG_ATTR_FLOATS = (7 << 3) | 2; // AttributeProto.floats (packed)
const TAG_ATTR_INTS = (8 << 3) | 2; // AttributeProto.ints (packed)
const TAG_ATTR_STRINGS = (9 << 3) | 2; // AttributeProto.strings
const TAG_ATTR_TYPE = (20 << 3) | 0; // AttributeProto.type
const TAG_NODE_ATTRIBUTE = (5 << 3) | 2; // NodeProto.attribute
const TAG_GRAPH_NODE = (1 << 3) | 2; // GraphProto.node
const TAG_MODEL_GRAPH = (7 << 3) | 2; // ModelProto.graph

function varintLen(v: number): number {
  let len = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    len++;
  }
  return len;
}

/** A writer into a buffer whose exact size is known in advance. */
class FixedWriter {
  readonly buf: Uint8Array;
  private readonly view: DataView;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  /** Non-negative integers below 2^53. */
  varint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  float(v: number): void {
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }
  done(): Uint8Array {
    if (this.pos !== this.buf.length) {
      throw new Error(`internal error: encoded ${this.pos} bytes into a buffer of ${this.buf.length}`);
    }
    return this.buf;
  }
}

/** Encodes NodeProto.attribute fields (tag + length + AttributeProto) for big arrays. */
function encodeLargeAttribute(
  name: string,
  kind: 'INTS' | 'FLOATS' | 'STRINGS',
  values: Int32Array | Float32Array | Uint8Array[],
): Uint8Array {
  const nameBytes = utf8.encode(name);
  let valuesLen: number; // bytes of the value field(s), tags included
  let payloadLen = 0; // packed payload only
  if (kind === 'INTS') {
    const ints = values as Int32Array;
    for (let i = 0; i < ints.length; i++) {
      if (ints[i] < 0) throw new RangeError(`${name}: negative values are not supported here`);
      payloadLen += varintLen(ints[i]);
    }
    valuesLen = 1 + varintLen(payloadLen) + payloadLen;
  } else if (kind === 'FLOATS') {
    payloadLen = 4 * values.length;
    valuesLen = 1 + varintLen(payloadLen) + payloadLen;
  } else {
    valuesLen = 0;
    for (const s of values as Uint8Array[]) valuesLen += 1 + varintLen(s.length) + s.length;
  }
  const typeValue = AttrType[kind];
  const attrLen = 1 + varintLen(nameBytes.length) + nameBytes.length + valuesLen + 2 + varintLen(typeValue);

  const w = new FixedWriter(1 + varintLen(attrLen) + attrLen);
  w.varint(TAG_NODE_ATTRIBUTE);
  w.varint(attrLen);
  w.varint(TAG_ATTR_NAME);
  w.varint(nameBytes.length);
  w.bytes(nameBytes);
  if (kind === 'INTS') {
    const ints = values as Int32Array;
    w.varint(TAG_ATTR_INTS);
    w.varint(payloadLen);
    for (let i = 0; i < ints.length; i++) w.varint(ints[i]);
  } else if (kind === 'FLOATS') {
    const floats = values as Float32Array;
    w.varint(TAG_ATTR_FLOATS);
    w.varint(payloadLen);
    for (let i = 0; i < floats.length; i++) w.float(floats[i]);
  } else {
    for (const s of values as Uint8Array[]) {
      w.varint(TAG_ATTR_STRINGS);
      w.varint(s.length);
      w.bytes(s);
    }
  }
  w.varint(TAG_ATTR_TYPE);
  w.varint(typeValue);
  return w.done();
}

/** The parts back to back, optionally wrapped as the length-delimited field `wrapTag`. */
function concat(parts: Uint8Array[], wrapTag?: number): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const w = new FixedWriter(len + (wrapTag === undefined ? 0 : varintLen(wrapTag) + varintLen(len)));
  if (wrapTag !== undefined) {
    w.varint(wrapTag);
    w.varint(len);
  }
  for (const p of parts) w.bytes(p);
  return w.done();
}

/** IR version, opsets (ai.onnx 15, ai.onnx.ml 3) and producer of every generated model. */
function modelHeader(): onnxProto.onnx.IModelProto {
  return {
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 15 },
      { domain: ML_DOMAIN, version: 3 },
    ],
    producerName: DEMO_PRODUCER_NAME,
    producerVersion: '1',
  };
}

// ---------------------------------------------------------------------------
// The builder

/**
 * Builds a TreeEnsembleClassifier model and returns the serialized ModelProto.
 *
 * Trees are full binary trees of `depth`, node ids in breadth-first order
 * (children of i are 2i+1 and 2i+2). Every split is `x[f] <= threshold` with
 * the feature drawn uniformly and the threshold uniform in [-0.75, 0.75], so
 * inputs drawn from uniform(-1, 1) or normal(0, 1) spread over all leaves.
 * Each leaf favours one random class (+1) on top of gaussian noise (σ 0.35)
 * for every class; weights are scaled by 3/sqrt(trees) so that SOFTMAX
 * probabilities have a clear winner for some rows and are close for others,
 * whatever the number of trees.
 */
export function buildTreeEnsembleClassifier(spec: TreeEnsembleSpec): Uint8Array {
  validate(spec);
  const { featureNames, labels, trees, depth } = spec;
  const postTransform = spec.postTransform ?? 'SOFTMAX';
  const intLabels = spec.intLabels ?? false;
  const zipMap = spec.zipMap ?? false;

  const nFeatures = featureNames.length;
  const nClasses = labels.length;
  const nInternal = 2 ** depth - 1;
  const nLeaves = 2 ** depth;
  const nNodes = nInternal + nLeaves;
  const totalNodes = trees * nNodes;
  const totalWeights = trees * nLeaves * nClasses;

  const rand = mulberry32(spec.seed);
  const gauss = gaussian(rand);

  const nodesTreeIds = new Int32Array(totalNodes);
  const nodesNodeIds = new Int32Array(totalNodes);
  const nodesFeatureIds = new Int32Array(totalNodes);
  const nodesValues = new Float32Array(totalNodes);
  const nodesTrue = new Int32Array(totalNodes);
  const nodesFalse = new Int32Array(totalNodes);
  const nodesModes: Uint8Array[] = new Array(totalNodes);

  const classTreeIds = new Int32Array(totalWeights);
  const classNodeIds = new Int32Array(totalWeights);
  const classIds = new Int32Array(totalWeights);
  const classWeights = new Float32Array(totalWeights);

  const BRANCH_LEQ = utf8.encode('BRANCH_LEQ');
  const LEAF = utf8.encode('LEAF');
  const scale = 3 / Math.sqrt(trees);
  const NOISE = 0.35;

  let n = 0;
  let w = 0;
  for (let t = 0; t < trees; t++) {
    for (let i = 0; i < nNodes; i++, n++) {
      nodesTreeIds[n] = t;
      nodesNodeIds[n] = i;
      if (i < nInternal) {
        nodesFeatureIds[n] = Math.floor(rand() * nFeatures);
        nodesValues[n] = rand() * 1.5 - 0.75;
        nodesModes[n] = BRANCH_LEQ;
        nodesTrue[n] = 2 * i + 1;
        nodesFalse[n] = 2 * i + 2;
      } else {
        // Leaves: featureid, value and child ids are unused and stay 0.
        nodesModes[n] = LEAF;
        const favoured = Math.floor(rand() * nClasses);
        for (let c = 0; c < nClasses; c++, w++) {
          classTreeIds[w] = t;
          classNodeIds[w] = i;
          classIds[w] = c;
          classWeights[w] = scale * (NOISE * gauss() + (c === favoured ? 1 : 0));
        }
      }
    }
  }

  const classLabelsAttr = (): onnxProto.onnx.IAttributeProto =>
    intLabels
      ? intsAttr(
          'classlabels_int64s',
          labels.map((_, i) => i),
        )
      : stringsAttr(
          'classlabels_strings',
          labels.map((l) => utf8.encode(l)),
        );

  // The small attributes go through onnx-proto; the large ones are appended.
  const probabilityTensorName = zipMap ? 'probability_tensor' : 'probabilities';
  const ensembleNodeHead = onnx.NodeProto.encode({
    name: 'TreeEnsembleClassifier',
    opType: 'TreeEnsembleClassifier',
    domain: ML_DOMAIN,
    input: ['X'],
    output: ['label', probabilityTensorName],
    attribute: [classLabelsAttr(), stringAttr('post_transform', postTransform)],
  }).finish();
  const ensembleNode = concat(
    [
      ensembleNodeHead,
      encodeLargeAttribute('nodes_treeids', 'INTS', nodesTreeIds),
      encodeLargeAttribute('nodes_nodeids', 'INTS', nodesNodeIds),
      encodeLargeAttribute('nodes_featureids', 'INTS', nodesFeatureIds),
      encodeLargeAttribute('nodes_values', 'FLOATS', nodesValues),
      encodeLargeAttribute('nodes_modes', 'STRINGS', nodesModes),
      encodeLargeAttribute('nodes_truenodeids', 'INTS', nodesTrue),
      encodeLargeAttribute('nodes_falsenodeids', 'INTS', nodesFalse),
      encodeLargeAttribute('class_treeids', 'INTS', classTreeIds),
      encodeLargeAttribute('class_nodeids', 'INTS', classNodeIds),
      encodeLargeAttribute('class_ids', 'INTS', classIds),
      encodeLargeAttribute('class_weights', 'FLOATS', classWeights),
    ],
    TAG_GRAPH_NODE,
  );

  const otherNodes: onnxProto.onnx.INodeProto[] = [];
  const labelElem = intLabels ? Elem.INT64 : Elem.STRING;
  let probabilitiesOutput: onnxProto.onnx.IValueInfoProto;
  if (zipMap) {
    otherNodes.push({
      name: 'ZipMap',
      opType: 'ZipMap',
      domain: ML_DOMAIN,
      input: [probabilityTensorName],
      output: ['probabilities'],
      attribute: [classLabelsAttr()],
    });
    probabilitiesOutput = {
      name: 'probabilities',
      type: {
        sequenceType: {
          elemType: {
            mapType: {
              keyType: labelElem,
              valueType: { tensorType: { elemType: Elem.FLOAT } },
            },
          },
        },
      },
    };
  } else {
    probabilitiesOutput = tensorValue('probabilities', Elem.FLOAT, dims('N', nClasses));
  }

  // The ensemble node is written first, so it precedes ZipMap (topological order).
  const graphRest = onnx.GraphProto.encode({
    name: 'modelgraph_demo_tree_ensemble',
    node: otherNodes,
    input: [tensorValue('X', Elem.FLOAT, dims('N', nFeatures))],
    output: [tensorValue('label', labelElem, dims('N')), probabilitiesOutput],
  }).finish();
  const graph = concat([ensembleNode, graphRest], TAG_MODEL_GRAPH);

  const modelRest = onnx.ModelProto.encode({
    ...modelHeader(),
    docString:
      `Demo TreeEnsembleClassifier: ${nFeatures} features, ${nClasses} classes, ` +
      `${trees} trees of depth ${depth}, seed ${spec.seed}, post_transform ${postTransform}` +
      `${intLabels ? ', int64 labels' : ''}${zipMap ? ', ZipMap output' : ''}.`,
  }).finish();
  return concat([modelRest, graph]);
}

// ---------------------------------------------------------------------------
// Sizing

/**
 * Serialized bytes of the parts of one tree that do not depend on its tree
 * id, and the number of tree-id varints the tree contributes.
 */
function perTreeCost(depth: number, features: number, classes: number) {
  const nInternal = 2 ** depth - 1;
  const nLeaves = 2 ** depth;
  const nNodes = nInternal + nLeaves;
  let avgFeatureLen = 0;
  for (let f = 0; f < features; f++) avgFeatureLen += varintLen(f);
  avgFeatureLen /= features;
  let classIdsLen = 0;
  for (let c = 0; c < classes; c++) classIdsLen += varintLen(c);

  let bytes = 0;
  for (let i = 0; i < nNodes; i++) {
    const idLen = varintLen(i);
    bytes += idLen; // nodes_nodeids
    bytes += 4; // nodes_values
    if (i < nInternal) {
      bytes += avgFeatureLen; // nodes_featureids
      bytes += 2 + 'BRANCH_LEQ'.length; // nodes_modes (tag + length + text)
      bytes += varintLen(2 * i + 1) + varintLen(2 * i + 2); // true / false ids
    } else {
      bytes += 1 + 2 + 'LEAF'.length + 1 + 1; // featureid 0, mode, true/false 0
      bytes += classes * idLen + classIdsLen + 4 * classes; // class_nodeids, class_ids, class_weights
    }
  }
  return { fixed: bytes, treeIdCount: nNodes + nLeaves * classes };
}

/** Approximate serialized size of a model built with these parameters. */
export function estimateModelBytes(trees: number, depth: number, features: number, classes: number): number {
  const { fixed, treeIdCount } = perTreeCost(depth, features, classes);
  let bytes = 600 + 16 * classes; // graph, opsets, value infos, labels, attribute names
  for (let t = 0; t < trees; t++) bytes += fixed + treeIdCount * varintLen(t);
  return Math.round(bytes);
}

/**
 * How many trees of `depth` (with `features` inputs and `classes` labels)
 * give a serialized model of roughly `bytes`. At least 1.
 */
export function treesForTargetSize(bytes: number, depth: number, features: number, classes: number): number {
  if (!(bytes > 0) || !Number.isFinite(bytes)) throw new RangeError(`bytes must be a positive number, got ${bytes}`);
  if (!Number.isInteger(depth) || depth < 1 || depth > MAX_DEPTH) {
    throw new RangeError(`depth must be an integer in [1, ${MAX_DEPTH}], got ${depth}`);
  }
  if (!Number.isInteger(features) || features < 1) throw new RangeError(`features must be a positive integer`);
  if (!Number.isInteger(classes) || classes < 2) throw new RangeError(`classes must be an integer >= 2`);
  const { fixed, treeIdCount } = perTreeCost(depth, features, classes);
  let total = 600 + 16 * classes;
  let t = 0;
  while (total < bytes) {
    const next = fixed + treeIdCount * varintLen(t);
    // Stop at whichever tree count lands closer to the target.
    if (total + next - bytes > bytes - total && t > 0) break;
    total += next;
    t++;
  }
  return Math.max(1, t);
}

// ---------------------------------------------------------------------------
// The demo model

/**
 * A demo model over DEMO_FEATURE_NAMES x OPTION_STRATEGIES (string labels,
 * SOFTMAX). Defaults: 24 trees of depth 6, about 163 KB.
 */
export function demoModel(seed: number, opts: { trees?: number; depth?: number } = {}): Uint8Array {
  return buildTreeEnsembleClassifier({
    featureNames: DEMO_FEATURE_NAMES,
    labels: OPTION_STRATEGIES,
    trees: opts.trees ?? DEMO_DEFAULT_TREES,
    depth: opts.depth ?? DEMO_DEFAULT_DEPTH,
    seed,
  });
}

// ---------------------------------------------------------------------------
// Regressors

export interface TreeEnsembleRegressorSpec {
  /** Input column names; the input width is featureNames.length. */
  featureNames: readonly string[];
  /** Names of the numeric outputs (columns of `variable`), at least one. */
  targets: readonly string[];
  /** Each target's value before the trees add to it. */
  baseValues: readonly number[];
  /** Spread of the leaf contributions around the base value. */
  scale?: number;
  trees: number;
  depth: number;
  seed: number;
}

/**
 * Builds a TreeEnsembleRegressor model (ai.onnx.ml, opset 3): input `X` float
 * [N, features], output `variable` float [N, targets] — the shape skl2onnx gives
 * a GradientBoostingRegressor / RandomForestRegressor. Each target is its base
 * value plus the SUM of one leaf weight per tree; the weights are gaussian with
 * standard deviation `scale / sqrt(trees)`, so outputs stay near the base value.
 * Small models only (plain onnx-proto encoding).
 */
export function buildTreeEnsembleRegressor(spec: TreeEnsembleRegressorSpec): Uint8Array {
  const { featureNames, targets, baseValues, trees, depth, seed } = spec;
  if (featureNames.length < 1) throw new RangeError('featureNames must hold at least one name');
  if (targets.length < 1 || new Set(targets).size !== targets.length)
    throw new RangeError('targets must be at least one distinct name');
  if (baseValues.length !== targets.length) throw new RangeError('baseValues must hold one value per target');
  if (!Number.isInteger(trees) || trees < 1) throw new RangeError(`trees must be a positive integer, got ${trees}`);
  if (!Number.isInteger(depth) || depth < 1 || depth > 12)
    throw new RangeError(`depth must be an integer in [1, 12], got ${depth}`);
  const rand = mulberry32(seed);
  const gauss = gaussian(rand);
  const spread = (spec.scale ?? 0.1) / Math.sqrt(trees);
  const nInternal = 2 ** depth - 1;
  const nNodes = nInternal + 2 ** depth;
  const nodes = {
    treeids: [] as number[],
    nodeids: [] as number[],
    featureids: [] as number[],
    values: [] as number[],
    modes: [] as Uint8Array[],
    truenodeids: [] as number[],
    falsenodeids: [] as number[],
  };
  const target = { treeids: [] as number[], nodeids: [] as number[], ids: [] as number[], weights: [] as number[] };
  const BRANCH_LEQ = utf8.encode('BRANCH_LEQ');
  const LEAF = utf8.encode('LEAF');
  for (let t = 0; t < trees; t++) {
    for (let i = 0; i < nNodes; i++) {
      nodes.treeids.push(t);
      nodes.nodeids.push(i);
      if (i < nInternal) {
        nodes.featureids.push(Math.floor(rand() * featureNames.length));
        nodes.values.push(rand() * 1.5 - 0.75);
        nodes.modes.push(BRANCH_LEQ);
        nodes.truenodeids.push(2 * i + 1);
        nodes.falsenodeids.push(2 * i + 2);
      } else {
        nodes.featureids.push(0);
        nodes.values.push(0);
        nodes.modes.push(LEAF);
        nodes.truenodeids.push(0);
        nodes.falsenodeids.push(0);
        targets.forEach((_, k) => {
          target.treeids.push(t);
          target.nodeids.push(i);
          target.ids.push(k);
          target.weights.push(spread * gauss());
        });
      }
    }
  }
  const floats = (name: string, values: readonly number[]): onnxProto.onnx.IAttributeProto => ({
    name,
    type: AttrType.FLOATS,
    floats: [...values],
  });
  const node: onnxProto.onnx.INodeProto = {
    name: 'TreeEnsembleRegressor',
    opType: 'TreeEnsembleRegressor',
    domain: ML_DOMAIN,
    input: ['X'],
    output: ['variable'],
    attribute: [
      { name: 'n_targets', type: AttrType.INT, i: targets.length },
      stringAttr('post_transform', 'NONE'),
      stringAttr('aggregate_function', 'SUM'),
      floats('base_values', baseValues),
      intsAttr('nodes_treeids', nodes.treeids),
      intsAttr('nodes_nodeids', nodes.nodeids),
      intsAttr('nodes_featureids', nodes.featureids),
      floats('nodes_values', nodes.values),
      stringsAttr('nodes_modes', nodes.modes),
      intsAttr('nodes_truenodeids', nodes.truenodeids),
      intsAttr('nodes_falsenodeids', nodes.falsenodeids),
      intsAttr('target_treeids', target.treeids),
      intsAttr('target_nodeids', target.nodeids),
      intsAttr('target_ids', target.ids),
      floats('target_weights', target.weights),
    ],
  };
  return onnx.ModelProto.encode({
    ...modelHeader(),
    docString: `Demo TreeEnsembleRegressor: ${featureNames.length} features, targets ${targets.join(', ')}, ${trees} trees of depth ${depth}, seed ${seed}.`,
    graph: {
      name: 'modelgraph_demo_tree_regressor',
      node: [node],
      input: [tensorValue('X', Elem.FLOAT, dims('N', featureNames.length))],
      output: [tensorValue('variable', Elem.FLOAT, dims('N', targets.length))],
    },
  }).finish();
}
