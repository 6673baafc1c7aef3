/**
 * A small builder for ONNX graphs over onnx-proto's generated protobuf classes: named values,
 * nodes, constants, and initializers whose bytes stay in an external file (the safetensors
 * file itself, at the tensor's byte offset), so building a graph never reads a weight.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX element types we use. */
export const ElementType = {
  float: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  bfloat16: onnx.TensorProto.DataType.BFLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
} as const;
export type ElementTypeValue = (typeof ElementType)[keyof typeof ElementType];

/** Attribute values are tagged, because ONNX distinguishes int from float attributes. */
export type Attribute =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'string'; value: string };
export const int = (value: number): Attribute => ({ kind: 'int', value });
export const float = (value: number): Attribute => ({ kind: 'float', value });
export const ints = (value: number[]): Attribute => ({ kind: 'ints', value });
export const text = (value: string): Attribute => ({ kind: 'string', value });

/** Where an external initializer's bytes are: a path relative to the external-data folder. */
export interface ExternalBytes {
  location: string;
  offset: number;
  length: number;
}

/** A dimension: fixed size or a symbolic name (e.g. 'batch'). */
export type Dim = number | string;

function toAttributeProto(name: string, attribute: Attribute): onnxProto.onnx.IAttributeProto {
  const Type = onnx.AttributeProto.AttributeType;
  switch (attribute.kind) {
    case 'int':
      return { name, type: Type.INT, i: attribute.value };
    case 'float':
      return { name, type: Type.FLOAT, f: attribute.value };
    case 'ints':
      return { name, type: Type.INTS, ints: attribute.value };
    case 'string':
      return { name, type: Type.STRING, s: new TextEncoder().encode(attribute.value) };
  }
}

function valueInfo(name: string, elemType: ElementTypeValue, dims: readonly Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  /** Inputs left out of the serialized graph when no output needs them (weights fed as inputs). */
  private readonly prunable = new Set<string>();
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, string>();
  /** Operator domains in use besides the default one (e.g. ONNX Runtime's com.microsoft). */
  private readonly domains = new Set<string>();
  private counter = 0;

  constructor(private readonly graphName: string) {}

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph value ${name} defined twice`);
    this.names.add(name);
    return name;
  }

  /** A fresh value name built from a readable stem. */
  fresh(stem: string): string {
    let name = stem;
    while (this.names.has(name)) name = `${stem}_${++this.counter}`;
    return name;
  }

  /** A graph input; a `prunable` one is left out of the graph when no output needs it. */
  addInput(name: string, elemType: ElementTypeValue, dims: readonly Dim[], options: { prunable?: boolean } = {}): string {
    this.inputs.push(valueInfo(this.claim(name), elemType, dims));
    if (options.prunable) this.prunable.add(name);
    return name;
  }

  addOutput(name: string, elemType: ElementTypeValue, dims: readonly Dim[]): void {
    if (!this.names.has(name)) throw new Error(`graph output ${name} is not a value of the graph`);
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** An initializer whose bytes live in an external file. */
  addExternalInitializer(name: string, elemType: ElementTypeValue, dims: readonly number[], bytes: ExternalBytes): string {
    this.initializers.push({
      name: this.claim(name),
      dataType: elemType,
      dims: [...dims],
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: bytes.location },
        { key: 'offset', value: String(bytes.offset) },
        { key: 'length', value: String(bytes.length) },
      ],
    });
    return name;
  }

  /** An initializer whose bytes are in the graph itself (a weight that could not be referenced in place). */
  addInlineInitializer(name: string, elemType: ElementTypeValue, dims: readonly number[], bytes: Uint8Array): string {
    this.initializers.push({ name: this.claim(name), dataType: elemType, dims: [...dims], rawData: bytes });
    return name;
  }

  /** A float32 constant (deduplicated by value and shape). */
  floatConstant(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant('float', values, dims);
  }

  /** An int64 constant (deduplicated by value and shape). */
  intConstant(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant('int64', values, dims);
  }

  private constant(kind: 'float' | 'int64', values: readonly number[], dims: readonly number[]): string {
    const key = `${kind}:${dims.join('x')}:${values.join(',')}`;
    const existing = this.constants.get(key);
    if (existing) return existing;
    const data = kind === 'float' ? Float32Array.from(values) : BigInt64Array.from(values, (v) => BigInt(v));
    const name = this.claim(this.fresh(`const_${kind}`));
    this.initializers.push({
      name,
      dataType: kind === 'float' ? ElementType.float : ElementType.int64,
      dims: [...dims],
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    this.constants.set(key, name);
    return name;
  }

  /**
   * Add a node. `output` names its single output (made unique if taken); use `node.many` for
   * several outputs. Returns the output name.
   */
  node(opType: string, inputs: readonly string[], attributes: Record<string, Attribute> = {}, output = opType.toLowerCase(), domain = ''): string {
    return this.addNode(opType, inputs, attributes, [output], domain)[0]!;
  }

  nodeMany(opType: string, inputs: readonly string[], attributes: Record<string, Attribute>, outputs: readonly string[], domain = ''): string[] {
    return this.addNode(opType, inputs, attributes, outputs, domain);
  }

  private addNode(opType: string, inputs: readonly string[], attributes: Record<string, Attribute>, outputs: readonly string[], domain: string): string[] {
    for (const input of inputs) {
      if (input !== '' && !this.names.has(input)) throw new Error(`${opType} reads ${input}, which is not defined yet`);
    }
    const outputNames = outputs.map((stem) => this.claim(this.fresh(stem)));
    if (domain !== '') this.domains.add(domain);
    this.nodes.push({
      opType,
      domain,
      name: outputNames[0],
      input: [...inputs],
      output: outputNames,
      attribute: Object.entries(attributes).map(([name, value]) => toAttributeProto(name, value)),
    });
    return outputNames;
  }

  /**
   * The nodes and initializers the outputs depend on. Graphs build every tap of a block
   * (block-recipe.ts) whether or not a caller reads it; what no output needs is left out here.
   */
  private live(): { nodes: onnxProto.onnx.INodeProto[]; initializers: onnxProto.onnx.ITensorProto[]; inputs: onnxProto.onnx.IValueInfoProto[] } {
    const producer = new Map<string, onnxProto.onnx.INodeProto>();
    for (const node of this.nodes) for (const output of node.output ?? []) producer.set(output, node);
    const needed = new Set<onnxProto.onnx.INodeProto>();
    const used = new Set<string>();
    const pending = this.outputs.map((output) => output.name!);
    while (pending.length > 0) {
      const name = pending.pop()!;
      if (used.has(name)) continue;
      used.add(name);
      const node = producer.get(name);
      if (node === undefined || needed.has(node)) continue;
      needed.add(node);
      for (const input of node.input ?? []) if (input !== '') pending.push(input);
    }
    return {
      nodes: this.nodes.filter((node) => needed.has(node)),
      initializers: this.initializers.filter((tensor) => used.has(tensor.name!)),
      inputs: this.inputs.filter((input) => !this.prunable.has(input.name!) || used.has(input.name!)),
    };
  }

  /** Serialize to ONNX model bytes (only what the outputs need): default opset 17, version 1 of any other domain used. */
  toBytes(): Uint8Array {
    const { nodes, initializers, inputs } = this.live();
    const opsets = [{ domain: '', version: 17 }, ...[...this.domains].map((domain) => ({ domain, version: 1 }))];
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'resid-norms',
      opsetImport: opsets,
      graph: {
        name: this.graphName,
        node: nodes,
        initializer: initializers,
        input: inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /** The graph's outputs, in the order they were added. */
  get outputNames(): string[] {
    return this.outputs.map((output) => output.name!);
  }

  /** The inputs toBytes writes (prunable ones only when an output needs them). */
  get inputNames(): string[] {
    return this.live().inputs.map((input) => input.name!);
  }

  /** Nodes the outputs need (what toBytes writes). */
  get nodeCount(): number {
    return this.live().nodes.length;
  }
}
