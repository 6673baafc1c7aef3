export type { TensorInfo, SafetensorsDtype } from './safetensors.js';
export type { WeightIndex } from './weight-index.js';
