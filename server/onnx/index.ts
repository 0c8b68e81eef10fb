/** ONNX export of loaded models, with causal-trace interventions (see README.md). */
export { DEFAULT_ONNX_MAX_BYTES, exportOnnx, onnxMaxBytes, onnxWeightBytes, OnnxExportError, type OnnxExport, type OnnxExportOptions } from './export';
