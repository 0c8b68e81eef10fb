/** @type {import('next').NextConfig} */
const nextConfig = {
  // Native addon with .node binaries: load it from node_modules at runtime, never bundle it.
  serverExternalPackages: ['onnxruntime-node'],
};

export default nextConfig;
