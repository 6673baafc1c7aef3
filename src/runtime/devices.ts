/** Where ONNX Runtime runs a graph (`--device`); a module of its own so flags need not load ONNX Runtime. */
export type Device = 'cpu' | 'cuda';
export const DEVICES: readonly Device[] = ['cpu', 'cuda'];
