/**
 * The demo model generator writes real ONNX models: every test here runs them
 * in a real onnxruntime-node session (no mocks).
 */
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import {
  buildTreeEnsembleClassifier,
  demoModel,
  estimateModelBytes,
  treesForTargetSize,
  type TreeEnsembleSpec,
} from '../../src/demo/treeEnsemble';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';

const { onnx } = onnxProto;

// ---------------------------------------------------------------------------
// Helpers

function session(bytes: Uint8Array): Promise<InferenceSession> {
  return InferenceSession.create(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** Seeded uniform(-1, 1) rows (xorshift32), row-major. */
function randomRows(rows: number, features: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(rows * features);
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

function argmax(values: ArrayLike<number>, row: number, width: number): number {
  let best = 0;
  for (let c = 1; c < width; c++) {
    if (values[row * width + c] > values[row * width + best]) best = c;
  }
  return best;
}

async function runRows(s: InferenceSession, rows: number, features: number, seed: number) {
  const x = new Tensor('float32', randomRows(rows, features, seed), [rows, features]);
  return s.run({ X: x });
}

/** The decoded graph (protobufjs message classes have non-null repeated fields). */
function decodeGraph(bytes: Uint8Array): onnxProto.onnx.GraphProto {
  return onnx.ModelProto.decode(bytes).graph as onnxProto.onnx.GraphProto;
}

/** The attributes of a decoded node, by name. */
function attributesOf(node: onnxProto.onnx.INodeProto): Map<string, onnxProto.onnx.AttributeProto> {
  return new Map((node.attribute ?? []).map((a) => [a.name ?? '', a as onnxProto.onnx.AttributeProto]));
}

function smallSpec(overrides: Partial<TreeEnsembleSpec> = {}): TreeEnsembleSpec {
  return {
    featureNames: DEMO_FEATURE_NAMES,
    labels: OPTION_STRATEGIES,
    trees: 8,
    depth: 4,
    seed: 11,
    ...overrides,
  };
}

// ---------------------------------------------------------------------------

describe('demo vocabulary', () => {
  it('has the 10 option strategies in order and 84 distinct snake_case features', () => {
    // Prepare
    const expectedLabels = [
      'IRON_CONDOR',
      'BULL_CALL_SPREAD',
      'BEAR_PUT_SPREAD',
      'LONG_STRADDLE',
      'SHORT_STRANGLE',
      'COVERED_CALL',
      'CASH_SECURED_PUT',
      'BUTTERFLY_SPREAD',
      'CALENDAR_SPREAD',
      'NO_TRADE',
    ];

    // Act
    const features = [...DEMO_FEATURE_NAMES];

    // Assess
    expect([...OPTION_STRATEGIES]).toEqual(expectedLabels);
    expect(features).toHaveLength(84);
    expect(new Set(features).size).toBe(84);
    for (const name of features) expect(name).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
    for (const name of [
      'iv_rank',
      'iv_percentile',
      'hv_20',
      'rsi_14',
      'delta_skew',
      'put_call_ratio',
      'vix_level',
      'term_structure_slope',
    ]) {
      expect(features).toContain(name);
    }
  });
});

describe('demoModel', () => {
  it('loads in onnxruntime-node with input X and tensor outputs label and probabilities', async () => {
    // Prepare
    const bytes = demoModel(1);

    // Act
    const s = await session(bytes);

    // Assess
    expect(bytes.byteLength).toBeGreaterThan(100_000);
    expect(bytes.byteLength).toBeLessThan(300_000);
    expect(s.inputNames).toEqual(['X']);
    expect(s.outputNames).toEqual(expect.arrayContaining(['label', 'probabilities']));
    expect(s.inputMetadata).toEqual([{ name: 'X', isTensor: true, type: 'float32', shape: ['N', 84] }]);
    expect(s.outputMetadata).toEqual([
      { name: 'label', isTensor: true, type: 'string', shape: ['N'] },
      { name: 'probabilities', isTensor: true, type: 'float32', shape: ['N', 10] },
    ]);
    await s.release();
  });

  it('gives softmax probabilities whose argmax is the label, and predictions that vary with the features', async () => {
    // Prepare
    const rows = 2000;
    const s = await session(demoModel(1));

    // Act
    const out = await runRows(s, rows, DEMO_FEATURE_NAMES.length, 2024);

    // Assess
    const probabilities = out.probabilities.data as Float32Array;
    const labels = out.label.data as string[];
    expect(out.probabilities.dims).toEqual([rows, 10]);
    expect(labels).toHaveLength(rows);
    let clearWinners = 0;
    let closeCalls = 0;
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let c = 0; c < 10; c++) sum += probabilities[r * 10 + c];
      expect(sum).toBeCloseTo(1, 4);
      const best = argmax(probabilities, r, 10);
      expect(labels[r]).toBe(OPTION_STRATEGIES[best]);
      if (probabilities[r * 10 + best] > 0.8) clearWinners++;
      if (probabilities[r * 10 + best] < 0.4) closeCalls++;
    }
    expect(new Set(labels).size).toBe(10);
    expect(clearWinners).toBeGreaterThan(0);
    expect(closeCalls).toBeGreaterThan(0);
    await s.release();
  });

  it('reaches all 10 strategies for other seeds too', async () => {
    // Prepare
    const seeds = [2, 3, 4];

    // Act
    const distinct: number[] = [];
    for (const seed of seeds) {
      const s = await session(demoModel(seed));
      const out = await runRows(s, 2000, DEMO_FEATURE_NAMES.length, seed * 31 + 7);
      distinct.push(new Set(out.label.data as string[]).size);
      await s.release();
    }

    // Assess
    expect(distinct).toEqual([10, 10, 10]);
  });

  it('honours the trees and depth options', () => {
    // Prepare
    const opts = { trees: 3, depth: 2 };

    // Act
    const graph = decodeGraph(demoModel(5, opts));

    // Assess
    const attrs = attributesOf(graph.node[0]);
    expect(attrs.get('nodes_nodeids')!.ints).toHaveLength(3 * 7);
    expect(attrs.get('class_weights')!.floats).toHaveLength(3 * 4 * 10);
  });
});

describe('buildTreeEnsembleClassifier', () => {
  it('writes the documented ModelProto: ir 8, opsets 15 / ml 3, one TreeEnsembleClassifier, producer modelgraph-demo', () => {
    // Prepare
    const spec = smallSpec({ trees: 5, depth: 3 });

    // Act
    const model = onnx.ModelProto.decode(buildTreeEnsembleClassifier(spec));

    // Assess
    const obj = onnx.ModelProto.toObject(model, { longs: Number, bytes: String, defaults: false }) as {
      irVersion: number;
      producerName: string;
      opsetImport: Array<{ domain?: string; version: number }>;
    };
    expect(obj.irVersion).toBe(8);
    expect(obj.producerName).toBe('modelgraph-demo');
    expect(obj.opsetImport.map((o) => [o.domain ?? '', o.version])).toEqual([
      ['', 15],
      ['ai.onnx.ml', 3],
    ]);
    const graph = model.graph as onnxProto.onnx.GraphProto;
    expect(graph.node).toHaveLength(1);
    const node = graph.node[0];
    expect(node.opType).toBe('TreeEnsembleClassifier');
    expect(node.domain).toBe('ai.onnx.ml');
    expect(node.input).toEqual(['X']);
    expect(node.output).toEqual(['label', 'probabilities']);
    const attrs = attributesOf(node);
    expect([...attrs.keys()].sort()).toEqual(
      [
        'class_ids',
        'class_nodeids',
        'class_treeids',
        'class_weights',
        'classlabels_strings',
        'nodes_falsenodeids',
        'nodes_featureids',
        'nodes_modes',
        'nodes_nodeids',
        'nodes_treeids',
        'nodes_truenodeids',
        'nodes_values',
        'post_transform',
      ].sort(),
    );
    const decoder = new TextDecoder();
    expect(attrs.get('classlabels_strings')!.strings.map((b) => decoder.decode(b))).toEqual([...OPTION_STRATEGIES]);
    expect(decoder.decode(attrs.get('post_transform')!.s!)).toBe('SOFTMAX');
    const nodesPerTree = 2 ** 4 - 1;
    for (const name of [
      'nodes_treeids',
      'nodes_nodeids',
      'nodes_featureids',
      'nodes_truenodeids',
      'nodes_falsenodeids',
    ]) {
      expect(attrs.get(name)!.ints).toHaveLength(5 * nodesPerTree);
    }
    expect(attrs.get('nodes_values')!.floats).toHaveLength(5 * nodesPerTree);
    const modes = attrs.get('nodes_modes')!.strings.map((b) => decoder.decode(b));
    expect(modes.filter((m) => m === 'BRANCH_LEQ')).toHaveLength(5 * 7);
    expect(modes.filter((m) => m === 'LEAF')).toHaveLength(5 * 8);
    for (const name of ['class_treeids', 'class_nodeids', 'class_ids']) {
      expect(attrs.get(name)!.ints).toHaveLength(5 * 8 * 10);
    }
    expect(attrs.get('class_weights')!.floats).toHaveLength(5 * 8 * 10);
    expect(graph.input.map((v) => v.name)).toEqual(['X']);
    expect(graph.output.map((v) => v.name)).toEqual(['label', 'probabilities']);
  });

  it('is equivalent to the canonical onnx-proto encoding of the same model', async () => {
    // Prepare
    const bytes = buildTreeEnsembleClassifier(smallSpec());
    const canonical = onnx.ModelProto.encode(onnx.ModelProto.decode(bytes)).finish();

    // Act
    const [a, b] = [await session(bytes), await session(canonical)];
    const [outA, outB] = [await runRows(a, 300, 84, 9), await runRows(b, 300, 84, 9)];

    // Assess
    expect(canonical.byteLength).toBe(bytes.byteLength);
    expect(outA.label.data).toEqual(outB.label.data);
    expect(outA.probabilities.data).toEqual(outB.probabilities.data);
    await Promise.all([a.release(), b.release()]);
  });

  it('is deterministic: the same spec gives identical bytes, another seed different bytes', () => {
    // Prepare
    const spec = smallSpec();

    // Act
    const first = buildTreeEnsembleClassifier(spec);
    const again = buildTreeEnsembleClassifier({ ...spec });
    const otherSeed = buildTreeEnsembleClassifier({ ...spec, seed: spec.seed + 1 });

    // Assess
    expect(Buffer.from(again).equals(Buffer.from(first))).toBe(true);
    expect(Buffer.from(otherSeed).equals(Buffer.from(first))).toBe(false);
    expect(Buffer.from(demoModel(3)).equals(Buffer.from(demoModel(3)))).toBe(true);
    expect(Buffer.from(demoModel(3)).equals(Buffer.from(demoModel(4)))).toBe(false);
  });

  it('with intLabels outputs int64 labels 0..n-1 equal to the argmax of the probabilities', async () => {
    // Prepare
    const s = await session(buildTreeEnsembleClassifier(smallSpec({ intLabels: true })));

    // Act
    const out = await runRows(s, 500, 84, 77);

    // Assess
    expect(s.outputMetadata[0]).toEqual({ name: 'label', isTensor: true, type: 'int64', shape: ['N'] });
    expect(out.label.type).toBe('int64');
    const labels = out.label.data as BigInt64Array;
    expect(labels).toBeInstanceOf(BigInt64Array);
    const probabilities = out.probabilities.data as Float32Array;
    for (let r = 0; r < 500; r++) expect(labels[r]).toBe(BigInt(argmax(probabilities, r, 10)));
    expect(new Set(labels).size).toBeGreaterThanOrEqual(5);
    await s.release();
  });

  it('with postTransform NONE outputs the raw scores, still with the label at their argmax', async () => {
    // Prepare
    const s = await session(buildTreeEnsembleClassifier(smallSpec({ postTransform: 'NONE' })));

    // Act
    const out = await runRows(s, 200, 84, 5);

    // Assess
    const scores = out.probabilities.data as Float32Array;
    const labels = out.label.data as string[];
    let notNormalised = 0;
    for (let r = 0; r < 200; r++) {
      let sum = 0;
      for (let c = 0; c < 10; c++) sum += scores[r * 10 + c];
      if (Math.abs(sum - 1) > 0.01) notNormalised++;
      expect(labels[r]).toBe(OPTION_STRATEGIES[argmax(scores, r, 10)]);
    }
    expect(notNormalised).toBeGreaterThan(150);
    expect(scores.some((v) => v < 0)).toBe(true);
    await s.release();
  });

  it('works with any feature and label vocabulary', async () => {
    // Prepare
    const spec: TreeEnsembleSpec = {
      featureNames: ['a', 'b', 'c'],
      labels: ['UP', 'DOWN'],
      trees: 4,
      depth: 3,
      seed: 99,
    };

    // Act
    const s = await session(buildTreeEnsembleClassifier(spec));
    const out = await runRows(s, 400, 3, 1);

    // Assess
    expect(s.inputMetadata[0]).toMatchObject({ shape: ['N', 3] });
    expect(out.probabilities.dims).toEqual([400, 2]);
    expect(new Set(out.label.data as string[])).toEqual(new Set(['UP', 'DOWN']));
    await s.release();
  });

  it('rejects invalid specs', () => {
    // Prepare
    const bad: Array<Partial<TreeEnsembleSpec>> = [
      { trees: 0 },
      { trees: 1.5 },
      { depth: 0 },
      { depth: 21 },
      { labels: ['ONLY'] },
      { labels: ['A', 'A'] },
      { featureNames: [] },
      { seed: 0.5 },
      { postTransform: 'LOGISTIC' as 'NONE' },
    ];

    // Act
    const build = (o: Partial<TreeEnsembleSpec>) => () => buildTreeEnsembleClassifier(smallSpec(o));

    // Assess
    for (const o of bad) expect(build(o), JSON.stringify(o)).toThrow(RangeError);
  });
});

describe('ZipMap models (must be rejected by the loader)', () => {
  it.each([
    ['string', false],
    ['int64', true],
  ])(
    'with %s labels: the session is created, outputMetadata marks probabilities as non-tensor, and running it fails',
    async (labelType, intLabels) => {
      // Prepare
      const bytes = buildTreeEnsembleClassifier(smallSpec({ zipMap: true, intLabels }));

      // Act
      const s = await session(bytes);
      const runAllError = await runRows(s, 2, 84, 1).then(
        () => undefined,
        (e: unknown) => e,
      );
      const labelOnly = await s.run({ X: new Tensor('float32', randomRows(2, 84, 1), [2, 84]) }, ['label']);

      // Assess
      expect(s.outputNames).toEqual(['label', 'probabilities']);
      expect(s.outputMetadata).toEqual([
        { name: 'label', isTensor: true, type: labelType, shape: ['N'] },
        { name: 'probabilities', isTensor: false },
      ]);
      expect(runAllError).toBeInstanceOf(Error);
      expect((runAllError as Error).message).toBe('Non tensor type is temporarily not supported.');
      expect(labelOnly.label.type).toBe(labelType);
      expect(labelOnly.label.dims).toEqual([2]);
      await s.release();
    },
  );

  it('really contains a ZipMap node producing a seq(map) output', () => {
    // Prepare
    const bytes = buildTreeEnsembleClassifier(smallSpec({ zipMap: true }));

    // Act
    const graph = decodeGraph(bytes);

    // Assess
    expect(graph.node.map((n) => n.opType)).toEqual(['TreeEnsembleClassifier', 'ZipMap']);
    expect(graph.node[1].domain).toBe('ai.onnx.ml');
    const probabilities = graph.output.find((o) => o.name === 'probabilities')!;
    expect(probabilities.type!.sequenceType!.elemType!.mapType).toBeTruthy();
    expect(probabilities.type!.tensorType).toBeFalsy();
  });
});

describe('sizing', () => {
  it('estimates the size of small models of various shapes within 5%', () => {
    // Prepare
    const shapes = [
      { depth: 3, features: 5, classes: 2, trees: 40 },
      { depth: 6, features: 84, classes: 10, trees: 24 },
      { depth: 8, features: 200, classes: 3, trees: 6 },
    ];

    // Act
    const ratios = shapes.map(({ depth, features, classes, trees }) => {
      const featureNames = Array.from({ length: features }, (_, i) => `f${i}`);
      const labels = Array.from({ length: classes }, (_, i) => `C${i}`);
      const actual = buildTreeEnsembleClassifier({ featureNames, labels, trees, depth, seed: 1 }).byteLength;
      return estimateModelBytes(trees, depth, features, classes) / actual;
    });

    // Assess
    for (const r of ratios) expect(Math.abs(r - 1)).toBeLessThan(0.05);
  });

  it('treesForTargetSize gives a ~2 MB model that builds quickly and loads', async () => {
    // Prepare
    const target = 2_000_000;
    const trees = treesForTargetSize(target, 6, DEMO_FEATURE_NAMES.length, OPTION_STRATEGIES.length);

    // Act
    const started = performance.now();
    const bytes = demoModel(8, { trees, depth: 6 });
    const buildMs = performance.now() - started;
    const s = await session(bytes);
    const out = await runRows(s, 100, 84, 3);

    // Assess
    expect(Math.abs(bytes.byteLength / target - 1)).toBeLessThan(0.25);
    expect(buildMs).toBeLessThan(5_000);
    expect(out.probabilities.dims).toEqual([100, 10]);
    await s.release();
  });

  it('treesForTargetSize scales to 30 MB targets (computed, not built) and never returns less than one tree', () => {
    // Prepare
    const features = DEMO_FEATURE_NAMES.length;

    // Act
    const trees30 = treesForTargetSize(30e6, 8, features, 10);
    const tiny = treesForTargetSize(10, 8, features, 10);

    // Assess
    expect(Math.abs(estimateModelBytes(trees30, 8, features, 10) / 30e6 - 1)).toBeLessThan(0.01);
    expect(tiny).toBe(1);
    expect(() => treesForTargetSize(0, 8, features, 10)).toThrow(RangeError);
  });
});
