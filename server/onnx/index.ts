/** ONNX export of loaded models, with causal-trace interventions (see README.md). */
export { DEFAULT_ONNX_MAX_BYTES, exportOnnx, onnxMaxBytes, onnxWeightBytes, OnnxExportError, tooLargeMessage, type OnnxExport, type OnnxExportOptions } from './export';
export { browserTraceInput, modelOnnx, versionOf } from './studio';
