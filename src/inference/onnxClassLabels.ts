/**
 * Reads the class labels a classifier declares in its ONNX graph, without
 * decoding the whole model: a ModelProto is walked field by field and only the
 * `classlabels_strings` / `classlabels_int64s` attributes of the graph's nodes
 * are read (a 30 MB tree ensemble is mostly packed arrays we skip by length).
 *
 * onnxruntime's JavaScript API does not expose node attributes, and the label
 * order matters: it is the column order of the `probabilities` output, which is
 * how metadata.strategies are matched to probabilities when serving.
 */

/** The labels of the classifier node of a model (TreeEnsembleClassifier, LinearClassifier, SVMClassifier…). */
export interface ClassifierLabels {
  /** The node's op_type, e.g. `TreeEnsembleClassifier`. */
  opType: string;
  /** classlabels_strings, in class (= probabilities column) order. */
  strings?: string[];
  /** classlabels_int64s, in class order. */
  ints?: bigint[];
}

// Field numbers from onnx.proto.
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const ATTR_NAME = 1;
const ATTR_INTS = 8;
const ATTR_STRINGS = 9;

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

const utf8 = new TextDecoder('utf-8', { fatal: false });

class ProtoReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.byteLength,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError('truncated varint');
      const byte = this.buf[this.pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
    throw new RangeError('varint longer than 10 bytes');
  }

  smallVarint(): number {
    const v = this.varint();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('length out of range');
    return Number(v);
  }

  /** The next field's number, wire type, and for length-delimited fields the [start, end) of its payload. */
  field(): { no: number; wire: number; start: number; end: number } {
    const tag = this.smallVarint();
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    const start = this.pos;
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        break;
      case WIRE_I64:
        this.pos += 8;
        break;
      case WIRE_I32:
        this.pos += 4;
        break;
      case WIRE_LEN: {
        const len = this.smallVarint();
        const payload = this.pos;
        this.pos += len;
        if (this.pos > this.end) throw new RangeError('length-delimited field runs past its message');
        return { no, wire, start: payload, end: this.pos };
      }
      default:
        throw new RangeError(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) throw new RangeError('field runs past its message');
    return { no, wire, start, end: this.pos };
  }
}

function readNode(buf: Uint8Array, start: number, end: number): ClassifierLabels | undefined {
  const r = new ProtoReader(buf, start, end);
  let opType = '';
  let strings: string[] | undefined;
  let ints: bigint[] | undefined;
  while (!r.done) {
    const f = r.field();
    if (f.no === NODE_OP_TYPE && f.wire === WIRE_LEN) opType = utf8.decode(buf.subarray(f.start, f.end));
    if (f.no !== NODE_ATTRIBUTE || f.wire !== WIRE_LEN) continue;
    const a = new ProtoReader(buf, f.start, f.end);
    let name = '';
    const attrStrings: string[] = [];
    const attrInts: bigint[] = [];
    while (!a.done) {
      const af = a.field();
      if (af.no === ATTR_NAME && af.wire === WIRE_LEN) name = utf8.decode(buf.subarray(af.start, af.end));
      else if (af.no === ATTR_STRINGS && af.wire === WIRE_LEN)
        attrStrings.push(utf8.decode(buf.subarray(af.start, af.end)));
      else if (af.no === ATTR_INTS && af.wire === WIRE_VARINT)
        attrInts.push(BigInt.asIntN(64, new ProtoReader(buf, af.start, af.end).varint()));
      else if (af.no === ATTR_INTS && af.wire === WIRE_LEN) {
        const packed = new ProtoReader(buf, af.start, af.end);
        while (!packed.done) attrInts.push(BigInt.asIntN(64, packed.varint()));
      }
    }
    if (name === 'classlabels_strings') strings = attrStrings;
    if (name === 'classlabels_int64s') ints = attrInts;
  }
  if (!strings && !ints) return undefined;
  return { opType, ...(strings ? { strings } : {}), ...(ints ? { ints } : {}) };
}

/**
 * The class labels of the model's classifier node, or undefined when no node
 * declares any (e.g. a network ending in Softmax) or the bytes are not a
 * readable ModelProto (onnxruntime reports that case better). A ZipMap node
 * repeats the labels; the classifier that computes them is preferred.
 */
export function readClassifierLabels(model: Uint8Array): ClassifierLabels | undefined {
  try {
    const top = new ProtoReader(model);
    const found: ClassifierLabels[] = [];
    while (!top.done) {
      const f = top.field();
      if (f.no !== MODEL_GRAPH || f.wire !== WIRE_LEN) continue;
      const graph = new ProtoReader(model, f.start, f.end);
      while (!graph.done) {
        const g = graph.field();
        if (g.no !== GRAPH_NODE || g.wire !== WIRE_LEN) continue;
        const labels = readNode(model, g.start, g.end);
        if (labels) found.push(labels);
      }
    }
    return found.find((n) => n.opType !== 'ZipMap') ?? found[0];
  } catch {
    return undefined;
  }
}
