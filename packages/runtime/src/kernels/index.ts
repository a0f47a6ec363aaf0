// Kernel fixes per backend; filled in by the training-kernels work (issue 2).
const done = new Set<string>();

export function registerKernelFixes(backendName: string): void {
  if (done.has(backendName)) return;
  done.add(backendName);
}
