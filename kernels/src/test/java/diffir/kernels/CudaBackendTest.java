package diffir.kernels;

import diffir.engine.Device;

/** The CUDA backend's conformance checks on the real GPU (skipped with a notice where there is none). */
class CudaBackendTest extends BackendConformance {
    @Override
    protected Device gpu() {
        return GpuDevices.cuda();
    }
}
